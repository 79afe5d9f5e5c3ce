"""Walking of the motion generator: root paths between keyframed positions, a procedural gait
whose phase follows the distance walked, and roots re-solved so the stance foot stays planted."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from torch import Tensor

from interaction_recon.body import skeleton
from interaction_recon.body.model import BodyParams
from interaction_recon.synth.poses import J, rotx, smoothstep
from interaction_recon.synth.specs import FPS

STRIDE = 0.69  # m per step of a 1.7 m person at full swing (hip +-0.4 rad), as the gait measures


def root_paths(spec, tl, meet, first, yaw, rng) -> tuple[Tensor, list[list[int]]]:
    """[2, T, 2] desired xz per frame, and each person's anchor frames for the foot solve."""
    T = tl["T"]
    keys = [[(0, first[p]), (tl["walk0"], first[p]), (tl["walk1"], meet[p])] for p in range(2)]
    fwd = np.stack([np.sin(yaw), np.cos(yaw)], -1)
    if spec.during == "walk":
        dist = rng.uniform(1.2, 2.0)
        for p in range(2):
            keys[p] += [(tl["contact"] + 4, meet[p]), (tl["release"] - 4, meet[p] + dist * fwd[p])]
    if spec.retreat:
        p, d = spec.retreat
        last = keys[p][-1][1]
        keys[p] += [(tl["release"] + 4, last), (tl["released"] + 20, last - d * fwd[p])]
    t = torch.arange(T, dtype=torch.float32)
    out = torch.zeros(2, T, 2)
    for p in range(2):
        frames = [k[0] for k in keys[p]]
        pos = torch.tensor(np.stack([k[1] for k in keys[p]]), dtype=torch.float32)
        out[p] = pos[-1]
        for i in range(len(frames) - 1, 0, -1):
            w = smoothstep((t - frames[i - 1]) / max(frames[i] - frames[i - 1], 1))[:, None]
            seg = pos[i - 1] + (pos[i] - pos[i - 1]) * w
            out[p, t <= frames[i]] = seg[t <= frames[i]]
    anchors = [[k[0] for k in keys[p]] if (p in spec.walkers or spec.during == "walk" or
               (spec.retreat and spec.retreat[0] == p)) else [0] for p in range(2)]
    return out, anchors


def gait(path: Tensor, yaw: float, height: float) -> Tensor:
    """Procedural walk [T, 23, 3]: hip/knee swing, flat feet, counter-swinging arms.
    path [T, 2] xz; the phase advances with the distance walked along the facing."""
    fwd = torch.tensor([math.sin(yaw), math.cos(yaw)])
    step = torch.cat([torch.zeros(1), ((path[1:] - path[:-1]) @ fwd)])
    amp = (step.abs() * FPS / 0.8).clamp(max=1.0)
    amp = torch.nn.functional.avg_pool1d(amp[None, None], 9, 1, 4, count_include_pad=False)[0, 0]
    # a step covers STRIDE * height / 1.7 m at full swing and proportionally less at a smaller
    # one (slower walking: shorter and more frequent steps), so the planted feet carry the body
    # along the path instead of lagging or leading it
    phase = math.pi * (step / amp.clamp(min=0.25)).cumsum(0) / (STRIDE * height / 1.7)
    s, c = torch.sin(phase), torch.cos(phase)
    pose = torch.zeros(len(path), 23, 3)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        hip = -0.4 * amp * sign * s
        knee = 0.9 * amp * (sign * c).clamp(min=0) ** 1.5 + 0.05 * amp
        pose[:, J[f"{side}_hip"] - 1] = rotx(hip)
        pose[:, J[f"{side}_knee"] - 1] = rotx(knee)
        toe_off = 0.35 * amp * (-sign * s).clamp(min=0) ** 2  # the rear foot rolls onto its toes
        pose[:, J[f"{side}_ankle"] - 1] = rotx(-(hip + knee) + toe_off)
        pose[:, J[f"{side}_shoulder"] - 1] = rotx(0.35 * amp * sign * s)  # composed with arms down later
    return pose


def foot_locked_roots(body, params: BodyParams, desired: Tensor, anchors) -> Tensor:
    """[2, T, 2] xz roots that keep the lower foot planted, bent to meet ``desired`` at anchors."""
    foot = [torch.isin(body.collision_coarse_parts, torch.tensor([skeleton.COARSE_PARTS.index(f"{s} foot")]))
            for s in ("left", "right")]
    probe = replace(params, transl=torch.zeros_like(params.transl))
    with torch.no_grad():
        v = body(probe).collision_vertices  # [2, T, Vc, 3]
    feet = torch.stack([v[:, :, m] for m in foot], 2)  # [2, T, 2, Vf, 3]
    stance = feet[..., 1].amin(-1).argmin(-1)  # [2, T]
    centre = feet[..., [0, 2]].mean(-2)  # [2, T, 2, 2]
    idx = stance[..., None, None].expand(-1, -1, 1, 2)
    now = centre.gather(2, idx)[:, :, 0]
    before = centre[:, :-1].gather(2, idx[:, 1:])[:, :, 0]
    step = torch.cat([torch.zeros(2, 1, 2), -(now[:, 1:] - before)], 1)
    roots = step.cumsum(1)
    t = torch.arange(params.batch[1], dtype=torch.float32)
    for p in range(2):
        frames = sorted(set(anchors[p]))
        resid = desired[p, frames] - roots[p, frames]
        corr = resid[0].expand(len(t), 2).clone()
        for i in range(1, len(frames)):
            w = smoothstep((t - frames[i - 1]) / max(frames[i] - frames[i - 1], 1))[:, None]
            seg = resid[i - 1] + (resid[i] - resid[i - 1]) * w
            corr[t > frames[i - 1]] = seg[t > frames[i - 1]]
        roots[p] += corr
    return roots

