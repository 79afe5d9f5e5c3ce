"""Refinement of a keyframed motion on the body model and collider: planned contacts closed,
interpenetration removed, then polish passes on the frames that still miss a margin."""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from interaction_recon.body.model import BodyParams
from interaction_recon.synth.poses import LIMITS, J, clamp_to_limits, on_floor, ramp
from interaction_recon.synth.specs import Motion

_LEGS = [f"{s}_{j}" for s in ("left", "right") for j in ("hip", "knee", "ankle", "foot")]


def _grounded(body, params: BodyParams):
    """Body output with each person/frame shifted so the lowest collision vertex is at y = 0."""
    out = body(params)
    low = out.collision_vertices[..., 1].amin(-1)[..., None, None]  # [2, T, 1, 1]
    up = torch.tensor([0.0, 1.0, 0.0])
    return replace(out, joints=out.joints - low * up, collision_vertices=out.collision_vertices - low * up)


def _interp_matrix(T: int, keys: list[int]) -> Tensor:
    """[T, K] piecewise-linear interpolation from key frames to all frames."""
    W = torch.zeros(T, len(keys))
    for i in range(len(keys) - 1):
        a, b = keys[i], keys[i + 1]
        s = torch.arange(b - a + 1, dtype=torch.float32) / (b - a)
        W[a:b + 1, i], W[a:b + 1, i + 1] = 1 - s, s
    return W


def refine(motion: Motion, body, collider, steps: int = 60, stride: int = 4, polish: int = 40) -> Motion:
    """Close planned contacts (< 2 cm) and remove penetration (< 1 cm) by Adam on upper-body
    pose corrections at every ``stride``-th frame (every 2nd from 12 frames before to 12 after
    each contact; linearly interpolated between) and one x/z shift per person and contact eased in and out over
    20 frames, plus one per stretch where the two touch outside the contacts (a foot clipping
    the other's while walking up; eased over 10 frames). Legs stay as keyframed, so feet slide
    only while a shift eases in or out. The contact and penetration
    hinges (with margins inside the pass thresholds: 1.3 cm, 2.5 mm) are evaluated on every
    frame that touches or plans contact, so the interpolation cannot reintroduce violations;
    the contact weight ramps in over the first third of the steps (penetration first).
    Regularisers: second differences and size of the key corrections, joint limits.

    Then up to eight polish passes of ``polish`` steps each, on pose alone, at every 2nd frame
    around the frames that still break a margin (contact gap > 1.6 cm, depth > 7 mm), so a
    few bad frames get the optimiser's full attention; a pass that does not lower the worst
    violation is dropped and the next one takes steps half as large."""
    T = motion.params.batch[1]
    if steps <= 0:
        return motion
    edges = [f for f0, f1, _, _ in motion.contact_plan for f in range((f0 - 12) // 2 * 2, f1 + 14, 2)]
    keys = sorted(set(range(0, T, stride)) | {T - 1} | {f for f in edges if 0 <= f < T})
    with torch.no_grad():
        touching = collider.penetration(body(motion.params), collider.rest(motion.params)).amax(-1).amax(0) > 0
    touching = torch.nn.functional.max_pool1d(touching[None, None].float(), 17, 1, 8)[0, 0] > 0
    spans = [(f0, f1, 20) for f0, f1, _, _ in motion.contact_plan]
    planned = torch.zeros(T, dtype=torch.bool)
    for f0, f1, _ in spans:
        planned[max(f0 - 20, 0):f1 + 21] = True
    stray = (touching & ~planned).int()  # touching outside the contacts (a foot clipping a foot)
    bounds = torch.diff(torch.cat([torch.zeros(1, dtype=torch.int), stray, torch.zeros(1, dtype=torch.int)])).nonzero()[:, 0]
    spans += [(int(a), int(b) - 1, 10) for a, b in zip(bounds[::2], bounds[1::2])]
    bumps = torch.stack([ramp(T, f0 - e, f0, f1, f1 + e) for f0, f1, e in spans], 1)  # [T, C]
    need = touching | (bumps > 0).any(1)  # frames that touch, plan contact or get shifted
    motion = _refine_pass(motion, body, collider, keys, need, bumps, steps)
    worst, bad = _violations(motion, body, collider)
    lr = 0.005
    for _ in range(8 if polish > 0 else 0):
        if not bad.any():
            break
        frames = torch.nn.functional.max_pool1d(bad[None, None].float(), 9, 1, 4)[0, 0] > 0
        polished = _refine_pass(motion, body, collider, sorted(set(range(0, T, 2)) | {T - 1}), frames, None, polish,
                                lr=lr, ramp=False)
        score, still = _violations(polished, body, collider)
        if score >= worst:  # kept only where it helps; else try again with smaller steps
            lr /= 2
            continue
        motion, worst, bad = polished, score, still
    return motion


def _violations(motion: Motion, body, collider, gap: float = 0.016, depth: float = 0.007) -> tuple[float, Tensor]:
    """The worst violation (max over frames of contact gap / 2 cm and depth / 1 cm) and the
    [T] bool frames where a planned contact is open by more than ``gap`` or a vertex is
    deeper than ``depth`` in the other person."""
    with torch.no_grad():
        out = body(motion.params)
        pen = collider.penetration(out, collider.rest(motion.params)).amax(-1).amax(0)
        bad, worst = pen > depth, float(pen.max()) / 0.01
        for f0, f1, a, b in motion.contact_plan:
            d = collider.contact_distance(out, a, b)[f0:f1 + 1]
            bad[f0:f1 + 1] |= d > gap
            worst = max(worst, float(d.max()) / 0.02)
    return worst, bad


def _refine_pass(motion: Motion, body, collider, keys: list[int], need: Tensor, bumps: Tensor | None,
                 steps: int, lr: float = 0.01, ramp: bool = True) -> Motion:
    """One Adam run of :func:`refine` on the keys that move the ``need`` [T] frames (and the
    per-contact x/z shifts eased by ``bumps`` [T, C], unless None)."""
    params = motion.params
    T = params.batch[1]
    if not need.any():
        return motion
    W = _interp_matrix(T, keys)
    rest = collider.rest(params)
    used = (W[need] > 0).any(0).nonzero()[:, 0]  # keys optimised
    frames = (W[:, used] > 0).any(1).nonzero()[:, 0].tolist()  # every frame those keys move
    if bumps is None:
        bumps = torch.zeros(T, 0)
    dpose = torch.zeros(2, len(used), 23, 3, requires_grad=True)
    dxz = torch.zeros(2, bumps.shape[1], 2, requires_grad=True)
    opt = torch.optim.Adam([dpose, dxz], lr=lr)
    upper = torch.ones(23, 1)
    upper[[J[n] - 1 for n in _LEGS]] = 0
    # The first three quarters of the steps alternate between the even and the odd loss frames (every
    # frame is seen every 2 steps, at half the cost); the last quarter sees all of them at once.
    subsets = []
    for fs in ([f for f in frames if f % 2 == 0] or frames, [f for f in frames if f % 2] or frames, frames):
        plan = [(torch.tensor([f0 <= f <= f1 for f in fs]), collider.part_mask(a), collider.part_mask(b))
                for f0, f1, a, b in motion.contact_plan]
        base = params.map(lambda t: t[:, fs] if t.dim() > 2 else t)
        subsets.append((fs, W[fs][:, used], plan, base))
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - 0.8 * i / steps)
    for i in range(steps):
        fs, Wf, plan, base = subsets[i % 2 if 4 * i < 3 * steps else 2]
        pose = base.body_pose + torch.einsum("fk,pkjd->pfjd", Wf, dpose) * upper
        move = torch.einsum("tc,pcd->ptd", bumps[fs], dxz)
        shift = torch.cat([move[..., :1], torch.zeros(2, len(fs), 1), move[..., 1:]], -1)
        out = _grounded(body, replace(base, body_pose=pose, transl=base.transl + shift))
        loss = _refine_loss(out, rest, collider, plan, pose, min(1.0, 3.0 * (i + 1) / steps) if ramp else 1.0)
        loss = loss + 1.0 * dpose.square().sum() + 10.0 * dxz.square().sum()
        loss = loss + 20.0 * (dpose[:, 2:] - 2 * dpose[:, 1:-1] + dpose[:, :-2]).square().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    with torch.no_grad():
        pose = clamp_to_limits(params.body_pose + torch.einsum("tk,pkjd->ptjd", W[:, used], dpose) * upper)
        move = torch.einsum("tc,pcd->ptd", bumps, dxz)
        transl = params.transl + torch.stack([move[..., 0], torch.zeros_like(move[..., 0]), move[..., 1]], -1)
    return replace(motion, params=on_floor(body, replace(params, body_pose=pose, transl=transl)))


def _refine_loss(out, rest, collider, plan, pose: Tensor, contact_weight: float = 1.0) -> Tensor:
    """Contact hinge (1.3 cm on the exact minimum distance, plus a soft minimum over part a's
    vertices that spreads the gradient), penetration hinge (2.5 mm), joint-limit hinge."""
    loss = pose.new_zeros(())
    for mask, part_a, part_b in plan:  # frames in the contact's window, vertex masks of both parts
        if mask.any():
            va = out.collision_vertices[0][mask][:, part_a]
            vb = out.collision_vertices[1][mask][:, part_b]
            near = torch.cdist(va, vb).amin(-1)  # [F, Na]: each vertex of a to the nearest of b
            d = near.amin(-1)  # exact minimum, as in collider.contact_distance
            ds = -0.001 * torch.logsumexp(-near / 0.001, dim=-1)  # soft minimum over a's vertices
            c = (d - 0.013).clamp_min(0).square().sum() + 0.3 * (ds - 0.008).clamp_min(0).square().sum()
            c = c + 1e-2 * (d - 0.013).clamp_min(0).sum()
            loss = loss + contact_weight * 1e4 * c
    depth = collider.penetration(out, rest)
    excess = (depth - 0.0025).clamp_min(0)
    loss = loss + 1e5 * excess.square().sum() + 30.0 * excess.sum()
    over = (pose.norm(dim=-1) - 0.98 * LIMITS).clamp_min(0)
    return loss + 1e3 * over.square().sum()
