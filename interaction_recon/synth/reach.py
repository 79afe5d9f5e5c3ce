"""Arms of the motion generator: two-bone IK that puts each engaged wrist on its target on the
other person (or on oneself), blended in from the resting arm by an envelope."""
from __future__ import annotations

from dataclasses import replace

import roma
import torch
from torch import Tensor

from interaction_recon.body.model import BodyParams
from interaction_recon.synth.poses import J, clamp_to_limits, on_floor, slerp
from interaction_recon.synth.specs import Spec


def _frame_axes(R: Tensor) -> Tensor:
    """Yaw-only body frame [T, 3, 3] (columns left, up, forward) from pelvis rotations."""
    f = R[..., :, 2].clone()
    f[..., 1] = 0
    f = f / f.norm(dim=-1, keepdim=True)
    up = torch.zeros_like(f)
    up[..., 1] = 1
    return torch.stack([torch.linalg.cross(up, f), up, f], -1)


def _target(out, p: int, spec_target) -> tuple[Tensor, Tensor]:
    """World wrist target [T, 3] and pole direction [T, 3] of person p."""
    who, joints, offset, pole = spec_target
    frames = _frame_axes(out.rotations[:, :, 0])  # [2, T, 3, 3]
    off, pole = torch.tensor(offset), torch.tensor(pole)
    if who == "mid":
        base = 0.5 * (out.joints[p, :, J[joints[0]]] + out.joints[1 - p, :, J[joints[1]]])
        ref = p
    else:
        ref = p if who == "self" else 1 - p
        base = torch.stack([out.joints[ref, :, J[j]] for j in joints]).mean(0)
    return base + frames[ref] @ off, frames[p] @ pole


def _two_bone(out, p: int, side: str, target: Tensor, pole: Tensor) -> tuple[Tensor, Tensor]:
    """Local shoulder and elbow rotations [T, 3, 3] putting the wrist at target [T, 3]."""
    joints = out.joints[p]
    S, E0, W0 = (joints[:, J[f"{side}_{j}"]] for j in ("shoulder", "elbow", "wrist"))
    l1, l2 = (E0 - S).norm(dim=-1, keepdim=True), (W0 - E0).norm(dim=-1, keepdim=True)
    d = target - S
    dist = torch.minimum(d.norm(dim=-1, keepdim=True).clamp_min(0.05), 0.999 * (l1 + l2))
    dn = d / d.norm(dim=-1, keepdim=True)
    b = pole - (pole * dn).sum(-1, keepdim=True) * dn
    b = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    cos_a = ((l1 ** 2 + dist ** 2 - l2 ** 2) / (2 * l1 * dist)).clamp(-1, 1)
    u = cos_a * dn + torch.sqrt(1 - cos_a ** 2) * b  # upper-arm direction
    wrist = S + dist * dn
    f = wrist - (S + l1 * u)
    f = f / f.norm(dim=-1, keepdim=True)
    bend = torch.arccos((u * f).sum(-1).clamp(-1, 1))  # [T]
    w = f - (f * u).sum(-1, keepdim=True) * u
    w = torch.where(bend[:, None] > 1e-3, w, -b)
    w = w / w.norm(dim=-1, keepdim=True)
    sign = 1.0 if side == "left" else -1.0
    x = sign * u  # the upper arm's local +x axis (rest direction is +x left, -x right)
    R_s = torch.stack([x, torch.linalg.cross(w, x), w], -1)
    parent = out.rotations[p, :, J[f"{side}_collar"]]
    local_s = parent.transpose(-1, -2) @ R_s
    local_e = roma.rotvec_to_rotmat(torch.stack([torch.zeros_like(bend), -sign * bend, torch.zeros_like(bend)], -1))
    return local_s, local_e


def place_arms(body, params: BodyParams, spec: Spec, envelope: Tensor, modulation, opening: Tensor) -> BodyParams:
    """Blend each engaged arm from its resting pose to its IK pose with ``envelope`` [2, T];
    the wrist target is pushed 20 cm towards the elbow's pole by ``opening`` [T] (arms open
    wide before closing in, and open again on release, instead of cutting through the other)."""
    rest_pose = params.body_pose.clone()
    for _ in range(2):  # second pass sees the other person's placed arms
        params = on_floor(body, params)
        with torch.no_grad():
            out = body(params)
        pose = rest_pose.clone()
        for p in range(2):
            for side, tgt in spec.targets[p].items():
                target, pole = _target(out, p, tgt)
                target = target + modulation(p) + 0.2 * opening[:, None] * pole / pole.norm(dim=-1, keepdim=True)
                ls, le = _two_bone(out, p, side, target, pole)
                for j, R in ((f"{side}_shoulder", ls), (f"{side}_elbow", le)):
                    R0 = roma.rotvec_to_rotmat(rest_pose[p, :, J[j] - 1])
                    pose[p, :, J[j] - 1] = roma.rotmat_to_rotvec(slerp(R0, R, envelope[p]))
        params = replace(params, body_pose=clamp_to_limits(pose))
    return params
