"""Per-vertex part labels: the 24 SMPL parts and Ask-Pose-Unite's coarse parts."""
from __future__ import annotations

import torch
from torch import Tensor

from interaction_recon.body import skeleton

_J = {n: i for i, n in enumerate(skeleton.SMPL_JOINTS)}
_C = {n: i for i, n in enumerate(skeleton.COARSE_PARTS)}


def smpl_parts_from_weights(joint_weights: Tensor) -> Tensor:
    """[V, 24] skinning weight of each vertex per SMPL joint -> [V] part index (argmax)."""
    return joint_weights.argmax(dim=-1)


def coarse_parts(vertices: Tensor, joints: Tensor, smpl_parts: Tensor) -> Tensor:
    """Coarse APU part per vertex from a T-posed rest body in SMPL axes (y up, facing +z).

    vertices [V, 3], joints [24, 3], smpl_parts [V] -> [V] indices into COARSE_PARTS.
    Limb parts split at the joints: vertices within a radius (scaled by body height) of the
    elbow, knee or shoulder joint take that name. Torso vertices split front/back at the
    spine's depth: front of spine1 is "stomach", front of spine2/3 "chest", behind "back";
    the pelvis part is "waist". The head's front half is "face".
    """
    scale = float(vertices[:, 1].max() - vertices[:, 1].min()) / 1.7
    near = lambda joint, radius: (vertices - joints[_J[joint]]).norm(dim=-1) < radius * scale  # noqa: E731
    out = torch.full_like(smpl_parts, -1)

    def put(mask, name):
        out[mask & (out < 0)] = _C[name]

    is_part = lambda *names: torch.isin(smpl_parts, torch.tensor([_J[n] for n in names]))  # noqa: E731
    for side in ("left", "right"):
        put(is_part(f"{side}_wrist", f"{side}_hand"), f"{side} hand")
        arm = is_part(f"{side}_shoulder", f"{side}_elbow")
        put(arm & near(f"{side}_elbow", 0.06), f"{side} elbow")
        put(is_part(f"{side}_shoulder") & near(f"{side}_shoulder", 0.07), f"{side} shoulder")
        put(is_part(f"{side}_shoulder"), f"{side} upper arm")
        put(is_part(f"{side}_elbow"), f"{side} forearm")
        put(is_part(f"{side}_collar"), f"{side} shoulder")
        leg = is_part(f"{side}_hip", f"{side}_knee")
        put(leg & near(f"{side}_knee", 0.07), f"{side} knee")
        put(is_part(f"{side}_hip"), f"{side} thigh")
        put(is_part(f"{side}_knee"), f"{side} leg")
        put(is_part(f"{side}_ankle", f"{side}_foot"), f"{side} foot")
    spine_depth = joints[[_J["spine1"], _J["spine2"], _J["spine3"]], 2].mean()
    front = vertices[:, 2] > spine_depth
    put(is_part("pelvis"), "waist")
    put(is_part("spine1") & front, "stomach")
    put(is_part("spine2", "spine3") & front, "chest")
    put(is_part("spine1", "spine2", "spine3"), "back")
    put(is_part("neck"), "neck")
    put(is_part("head") & (vertices[:, 2] > joints[_J["head"], 2]), "face")
    put(is_part("head"), "head")
    assert (out >= 0).all(), "every SMPL part maps to a coarse part"
    return out
