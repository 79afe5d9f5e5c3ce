"""Measurements a plausible generated motion keeps small: contact gaps, penetration, foot
skating, joint limits, floor contact."""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from interaction_recon.body import skeleton
from interaction_recon.synth.poses import LIMITS
from interaction_recon.synth.specs import Motion


def plausibility(motion: Motion, body, collider) -> dict:
    """Numbers a plausible motion keeps small (metres, m/s, ratios):

    contact_<i>_max: max distance of planned contact pair i over its frames;
    penetration_max / penetration_mean: depth over penetrating vertices (0 if none);
    foot_skating: mean horizontal speed of foot vertices within 2 cm of the floor;
    joint_limit_ratio: largest joint angle / its limit; floor_min / floor_max: range over
    frames of the lowest collision vertex height.
    """
    params = motion.params
    with torch.no_grad():
        out = body(params)
        depth = collider.penetration(out, collider.rest(params))
        result = {}
        for i, (f0, f1, a, b) in enumerate(motion.contact_plan):
            d = collider.contact_distance(replace(out, collision_vertices=out.collision_vertices[:, f0:f1 + 1]), a, b)
            result[f"contact_{i}_max"] = float(d.max())
        inside = depth[depth > 0]
        result["penetration_max"] = float(depth.max())
        result["penetration_mean"] = float(inside.mean()) if inside.numel() else 0.0
        result["foot_skating"] = _foot_skating(out.collision_vertices, body, motion.fps)
        angle = params.body_pose.norm(dim=-1) / LIMITS
        result["joint_limit_ratio"] = float(angle.max())
        low = out.collision_vertices[..., 1].amin(-1)
        result["floor_min"], result["floor_max"] = float(low.min()), float(low.max())
    return result


def _foot_skating(verts: Tensor, body, fps: float) -> float:
    """Mean horizontal speed (m/s) of foot vertices [2, T, Vf] within 2 cm of the floor."""
    feet = torch.isin(body.collision_coarse_parts, torch.tensor(
        [skeleton.COARSE_PARTS.index(f"{s} foot") for s in ("left", "right")]))
    v = verts[:, :, feet]
    low = v[:, :-1, :, 1] < 0.02
    speed = (v[:, 1:, :, [0, 2]] - v[:, :-1, :, [0, 2]]).norm(dim=-1) * fps
    return float(speed[low].mean()) if low.any() else 0.0
