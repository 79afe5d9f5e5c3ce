"""The window optimiser's terms, each a function returning a scalar (weighted by the caller).

Shapes: P people (2), T frames, K keypoints, J joints, Vc collision vertices.
"""
from __future__ import annotations

import torch
from torch import Tensor

from interaction_recon.body import skeleton
from interaction_recon.body.collision import BodyCollider
from interaction_recon.body.model import BodyOutput

_LIMITS = torch.tensor(skeleton.BODY_POSE_LIMITS)  # [23]
INLIER = 0.05  # box heights: the 2D term costs (r / INLIER)^2 near zero, whatever its robust scale


def reprojection(pred: Tensor, keypoints: Tensor, confidence: Tensor, scale: Tensor, sigma: float = INLIER) -> Tensor:
    """Robust (Geman-McClure) confidence-weighted 2D error.

    pred, keypoints [P, T, K, 2] px; confidence [P, T, K] (0 = ignore); scale [P, T] px (box
    height): residuals r are measured in fractions of it. Each keypoint costs
    (r / INLIER)^2 / (1 + (r / sigma)^2): quadratic near zero whatever ``sigma``, saturating at
    (sigma / INLIER)^2 for residuals well beyond ``sigma`` (the outliers it ignores).
    """
    r2 = ((pred - keypoints) / scale[..., None, None]).pow(2).sum(-1)
    rho = r2 / (r2 + sigma**2)
    return (confidence * rho).sum() / confidence.sum().clamp_min(1.0) * (sigma / INLIER) ** 2


def held_keypoints(pred: Tensor, held: Tensor, confidence: Tensor, scale: Tensor) -> Tensor:
    """Confidence-weighted mean squared 2D distance (in fractions of the box height) of the
    keypoints to where each person's own fit put them: pred, held [P, T, K, 2] px, confidence
    [P, T, K], scale [P, T] px. Quadratic, so the relational terms cannot drag an observed
    joint away from its evidence the way they can against the saturating reprojection term."""
    r2 = ((pred - held) / scale[..., None, None]).pow(2).sum(-1)
    return (confidence * r2).sum() / confidence.sum().clamp_min(1.0)


def penetration(collider: BodyCollider, out: BodyOutput, rest: BodyOutput, power: int = 1) -> Tensor:
    """Sum over vertices of depth inside the other body (``power`` 1, m; 2: squared, m^2),
    mean over frames. The window optimiser uses the depth itself: its gradient does not fade
    as the overlap gets shallow, so contact-range overlaps (a few mm) are pushed out too."""
    depth = collider.penetration(out, rest)
    return (depth if power == 1 else depth.pow(power)).sum(-1).mean()


def contact(out: BodyOutput, pairs: list[tuple[Tensor, Tensor, Tensor, Tensor]], softness: float = 0.01) -> Tensor:
    """Mean squared soft-min distance (m^2) of part pairs judged in contact.

    pairs: (frames [n] long, vertices_a [Na] long, vertices_b [Nb] long, weight [n]) per part
    pair, collision-vertex indices of person 0 and person 1.
    """
    total, count = out.joints.new_zeros(()), out.joints.new_zeros(())
    for frames, va, vb, w in pairs:
        a = out.collision_vertices[0][frames][:, va]
        b = out.collision_vertices[1][frames][:, vb]
        d = -softness * torch.logsumexp(-torch.cdist(a, b).flatten(1) / softness, -1)
        total = total + (w * d.clamp_min(0).pow(2)).sum()
        count = count + w.sum()
    return total / count.clamp_min(1.0)


def smoothness(joints: Tensor, body_pose: Tensor) -> Tensor:
    """Squared 3D joint acceleration (m/frame^2) plus squared local-rotation velocity (rad/frame),
    joints [P, T, J, 3], body_pose [P, T, 23, 3]; zero for T < 3."""
    if joints.shape[1] < 3:
        return joints.new_zeros(())
    accel = joints[:, 2:] - 2 * joints[:, 1:-1] + joints[:, :-2]
    vel = body_pose[:, 1:] - body_pose[:, :-1]
    return accel.pow(2).sum(-1).mean() + 0.01 * vel.pow(2).sum(-1).mean()


def pose_prior(body_pose: Tensor) -> Tensor:
    """Mean squared joint angle (rad^2): a light pull towards the rest pose."""
    return body_pose.pow(2).sum(-1).mean()


def joint_limits(body_pose: Tensor) -> Tensor:
    """Mean squared excess (rad^2) of each joint's angle over skeleton.JOINT_LIMITS."""
    angle = body_pose.norm(dim=-1)
    return (angle - _LIMITS.to(angle)).clamp_min(0).pow(2).sum(-1).mean()


def shape_prior(shape: Tensor, average: Tensor) -> Tensor:
    """Squared distance of each person's shape [P, S] to the model's average."""
    return (shape - average).pow(2).sum(-1).mean()


def to_previous(joints: Tensor, previous: Tensor, mask: Tensor) -> Tensor:
    """Mean squared distance (m^2) of joints [P, T, J, 3] to the previous window's solution
    where mask [T] (the overlap) is set."""
    if not mask.any():
        return joints.new_zeros(())
    return (joints[:, mask] - previous[:, mask]).pow(2).sum(-1).mean()


def depth_prior(depth: Tensor, estimate: Tensor, valid: Tensor) -> Tensor:
    """Squared log-ratio of pelvis depth [P, T] to the body-size estimate, where valid [P, T]."""
    if not valid.any():
        return depth.new_zeros(())
    return (depth.clamp_min(0.1).log() - estimate.clamp_min(0.1).log())[valid].pow(2).mean()


def sensor_depth(depth: Tensor, measured: Tensor, sigma: float = 0.1) -> Tensor:
    """Robust (Cauchy, ``sigma`` m) distance of pelvis depth [P, T] to a depth sensor's
    measurement [P, T] (NaN where none), in m^2: quadratic within ``sigma``, log beyond (a
    mask that caught the other person or the background does not drag the body along)."""
    valid = torch.isfinite(measured)
    if not valid.any():
        return depth.new_zeros(())
    return sigma ** 2 * torch.log1p(((depth[valid] - measured[valid]) / sigma).pow(2)).mean()


FOOT_JOINTS = [skeleton.SMPL_JOINTS.index(n) for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
UP_FROM = skeleton.SMPL_JOINTS.index("pelvis"), skeleton.SMPL_JOINTS.index("neck")


def foot_height(joints: Tensor, up: Tensor) -> Tensor:
    """Height (m along ``up`` [3], camera at 0) of each person's lowest foot joint: joints
    [2, T, 24, 3] camera frame -> [2, T]."""
    return (joints[:, :, FOOT_JOINTS] @ up).amin(-1)


def on_floor(joints: Tensor, seen: Tensor, up: Tensor, camera_height: float, above: float) -> Tensor:
    """Standing people's feet on the known floor: squared height (m^2) of each person's lowest
    foot joint above the plane ``up . p = -camera_height``, minus ``above`` (a foot joint's own
    height), averaged over the observed (person, frame) pairs. joints [2, T, 24, 3] camera
    frame; seen [2, T] bool; up [3] unit (fitting/floor.py). This fixes each person's distance
    and size, which one camera cannot."""
    if not seen.any():
        return joints.new_zeros(())
    height = foot_height(joints, up) + camera_height  # [2, T]
    return (height - above)[seen].pow(2).mean()


ANKLE_JOINTS = [skeleton.SMPL_JOINTS.index(n) for n in ("left_ankle", "right_ankle")]
SIDE_FOOT_JOINTS = [[skeleton.SMPL_JOINTS.index(f"{side}_{n}") for n in ("ankle", "foot")]
                    for side in ("left", "right")]


def planted_feet(joints: Tensor, planted: Tensor, up: Tensor, shared: bool, floor: float | None = None) -> Tensor:
    """Planted feet stand on the floor: squared height (m^2) along ``up`` [3] (unit, camera
    frame) of each planted foot off the floor, averaged over the planted feet. joints [2, T, 24, 3]
    camera frame; planted [2, T, 2] bool, (left, right) (fitting/stance.py). ``floor``: the known
    height (m, along up, camera at 0) of a standing foot's lowest joint, to which each planted
    foot's lower joint (ankle or foot) is held; None: the planted ankles are held at their median
    height (no gradient through it), one for both people when ``shared``, each person's own else."""
    if floor is not None:
        lowest = torch.stack([(joints[:, :, idx] @ up).amin(-1) for idx in SIDE_FOOT_JOINTS], -1)  # [2, T, 2]
        return (lowest - floor)[planted].pow(2).mean() if planted.any() else joints.new_zeros(())
    height = joints[:, :, ANKLE_JOINTS] @ up  # [2, T, 2]
    groups = [height[planted]] if shared else [height[p][planted[p]] for p in range(2)]
    off = [h - h.detach().median() for h in groups if len(h) >= 2]
    return torch.cat(off).pow(2).mean() if off else joints.new_zeros(())


def spine_up(joints: Tensor, valid: Tensor) -> Tensor:
    """The pair's up direction [3] (unit, camera frame, no gradient): the mean pelvis-to-neck
    direction over the frames ``valid`` [T] of joints [2, T, 24, 3]."""
    spine = joints[:, valid][:, :, UP_FROM[1]] - joints[:, valid][:, :, UP_FROM[0]]
    up = spine.mean((0, 1)).detach()
    return up / up.norm().clamp_min(1e-6)


def common_ground(joints: Tensor, valid: Tensor) -> Tensor:
    """Both people stand on one floor: squared difference (m^2) of their lowest foot joint's
    height along the shared up direction (mean of both spines over the window).

    joints [2, T, 24, 3] camera frame; valid [T] frames where both are observed. With a camera
    above or below the floor this ties the two people's depths together.
    """
    if not valid.any():
        return joints.new_zeros(())
    height = foot_height(joints, spine_up(joints, valid))  # [2,T] (up points away from the floor)
    return (height[0] - height[1])[valid].pow(2).mean()


def upright(joints: Tensor, seen: Tensor, up: Tensor) -> Tensor:
    """Standing people's trunks along the known floor's up: mean of 1 - cos(angle) between each
    person's pelvis-to-neck direction and ``up`` [3] (unit, camera frame), over the observed
    (person, frame) pairs ``seen`` [2, T] of joints [2, T, 24, 3]. One image barely tells a
    body's lean towards the camera; without this the fit stands upright in the image, leaning
    by the camera's pitch (about theta^2 / 2 for a lean of theta rad)."""
    if not seen.any():
        return joints.new_zeros(())
    spine = joints[:, :, UP_FROM[1]] - joints[:, :, UP_FROM[0]]  # [2, T, 3]
    cos = (spine @ up) / spine.norm(dim=-1).clamp_min(1e-6)
    return (1.0 - cos)[seen].mean()
