"""Joint-rotation helpers of the motion generator: slerp, envelopes, joint limits, pose tables,
floor contact, mirroring and world yaw (axis-angle poses [..., 23, 3], SMPL joint order)."""
from __future__ import annotations

from dataclasses import replace

import roma
import torch
from torch import Tensor

from interaction_recon.body import skeleton
from interaction_recon.body.model import BodyParams

J = {n: i for i, n in enumerate(skeleton.SMPL_JOINTS)}
LIMITS = torch.tensor(skeleton.BODY_POSE_LIMITS)  # [23]


def rotx(a: Tensor) -> Tensor:
    """Axis-angle [..., 3] of a rotation by a [...] about x."""
    return torch.stack([a, torch.zeros_like(a), torch.zeros_like(a)], -1)


def slerp(r0: Tensor, r1: Tensor, w: Tensor) -> Tensor:
    """Rotmat slerp [..., 3, 3] with per-element weights w [...]."""
    rel = roma.rotmat_to_rotvec(r0.transpose(-1, -2) @ r1)
    return r0 @ roma.rotvec_to_rotmat(rel * w[..., None])


def smoothstep(x: Tensor) -> Tensor:
    x = x.clamp(0.0, 1.0)
    return x * x * (3 - 2 * x)


def ramp(T: int, up0: float, up1: float, down0: float, down1: float) -> Tensor:
    """[T] envelope: 0 -> 1 (smoothstep) over [up0, up1], 1 -> 0 over [down0, down1]."""
    t = torch.arange(T, dtype=torch.float32)
    up = smoothstep((t - up0) / max(up1 - up0, 1.0))
    return up * (1 - smoothstep((t - down0) / max(down1 - down0, 1.0)))


def clamp_to_limits(body_pose: Tensor) -> Tensor:
    """Shrink each joint's axis-angle [..., 23, 3] to at most its skeleton.JOINT_LIMITS angle."""
    angle = body_pose.norm(dim=-1, keepdim=True)
    scale = (LIMITS[:, None] / angle.clamp_min(1e-9)).clamp(max=1.0)
    return body_pose * scale


def dict_pose(d: dict, T: int) -> Tensor:
    """{joint: rotvec} -> [T, 23, 3]."""
    out = torch.zeros(T, 23, 3)
    for name, v in d.items():
        out[:, J[name] - 1] = torch.tensor(v, dtype=torch.float32)
    return out



def arms_down(T: int) -> Tensor:
    """[T, 23, 3] resting arms: shoulders lowered, elbows slightly bent."""
    return dict_pose({"left_shoulder": (0, 0, -1.3), "right_shoulder": (0, 0, 1.3),
                       "left_elbow": (0, -0.25, 0), "right_elbow": (0, 0.25, 0)}, T)


def compose(a: Tensor, b: Tensor) -> Tensor:
    """Axis-angle of R(a) R(b), both [..., 3]."""
    return roma.rotmat_to_rotvec(roma.rotvec_to_rotmat(a) @ roma.rotvec_to_rotmat(b))



def on_floor(body, params: BodyParams) -> BodyParams:
    """Set transl y so each person's lowest collision vertex is at y = 0 every frame."""
    with torch.no_grad():
        low = body(params).collision_vertices[..., 1].amin(-1)  # [2, T]
    transl = params.transl.clone()
    transl[..., 1] -= low
    return replace(params, transl=transl)


_FLIP = skeleton.flip_permutation(skeleton.SMPL_JOINTS)


def mirror(params: BodyParams) -> BodyParams:
    """Reflect a motion through the x = 0 plane (left <-> right)."""
    sign = torch.tensor([1.0, -1.0, -1.0])
    pose = params.body_pose[:, :, [i - 1 for i in _FLIP[1:]]] * sign
    transl = params.transl * torch.tensor([-1.0, 1.0, 1.0])
    return replace(params, global_orient=params.global_orient * sign, body_pose=pose, transl=transl)


def mirror_part(part: str) -> str:
    return part.replace("left", "@").replace("right", "left").replace("@", "right")



def rotate_world(params: BodyParams, yaw: float) -> BodyParams:
    """Turn the whole scene by ``yaw`` about the vertical axis through the origin."""
    R = roma.rotvec_to_rotmat(torch.tensor([0.0, yaw, 0.0]))
    orient = roma.rotmat_to_rotvec(R @ roma.rotvec_to_rotmat(params.global_orient))
    return replace(params, global_orient=orient, transl=params.transl @ R.T)
