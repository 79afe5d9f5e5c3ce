"""A learned per-person 3D cue: the keypoint model's root-relative 3D landmarks (BlazePose's
world landmarks) as bone directions in the camera frame.

The landmarks come hip-centred in the image's axes as seen along the crop's viewing ray;
rotating them by the rotation that takes the optical axis onto the ray through the person's
hips puts them in the camera frame. Only directions are used (the landmarks' scale is the
model's average body, their depth a guess): the fit's bone directions are pulled towards
them, weighted by both endpoints' 2D confidence.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d
from torch import Tensor

from interaction_recon.body.model import minimal_rotation
from interaction_recon.body.skeleton import BLAZEPOSE33

_BONE_NAMES = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_ankle", "left_foot_index"), ("right_ankle", "right_foot_index"),
)
BONES = np.array([[BLAZEPOSE33.index(a), BLAZEPOSE33.index(b)] for a, b in _BONE_NAMES])  # [B, 2]
_BONE_INDEX = torch.as_tensor(BONES)
UPRIGHT_BONES = [0, 1, 2, 3]  # drawn upright to the image: the shoulder and hip lines and the two flanks
_HIPS = [BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")]
_TORSO = [BLAZEPOSE33.index(n) for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder")]


def ray_rotation(uv: np.ndarray, K: np.ndarray) -> np.ndarray:
    """[..., 3, 3] rotations taking the optical axis (0, 0, 1) onto the viewing ray of pixels
    uv [..., 2] (the smallest such rotation)."""
    ray = np.stack([(uv[..., 0] - K[0, 2]) / K[0, 0], (uv[..., 1] - K[1, 2]) / K[1, 1], np.ones(uv.shape[:-1])], -1)
    ray /= np.linalg.norm(ray, axis=-1, keepdims=True)
    axis = np.stack([-ray[..., 1], ray[..., 0], np.zeros(uv.shape[:-1])], -1)  # z x ray
    s, c = np.linalg.norm(axis, axis=-1), ray[..., 2]
    k = axis / np.maximum(s, 1e-12)[..., None]
    kx = np.zeros(uv.shape[:-1] + (3, 3))
    kx[..., 0, 1], kx[..., 0, 2], kx[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    kx = kx - np.swapaxes(kx, -1, -2)
    eye = np.broadcast_to(np.eye(3), kx.shape)
    return eye + s[..., None, None] * kx + (1 - c)[..., None, None] * (kx @ kx)


def camera_landmarks(world: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray, K: np.ndarray,
                     min_confidence: float) -> np.ndarray:
    """world [P, T, 33, 3] (image axes, along the crop's ray) -> camera-frame axes, hip-centred,
    [P, T, 33, 3]; NaN where the landmarks or both hips' 2D keypoints are missing."""
    hips_ok = (confidence[..., _HIPS] >= min_confidence).all(-1) & np.isfinite(keypoints[..., _HIPS, :]).all((-1, -2))
    centre = np.nan_to_num(keypoints[..., _HIPS, :].mean(-2))  # [P, T, 2]
    rot = ray_rotation(centre, K)  # [P, T, 3, 3]
    out = np.einsum("ptij,ptkj->ptki", rot, world.astype(np.float64))
    out[~hips_ok] = np.nan
    return out.astype(np.float32)


def level_rotation(up: Tensor) -> Tensor:
    """[3, 3] the smallest rotation taking the camera's up (0, -1, 0) onto the floor's ``up`` [3]
    (unit, camera frame). The keypoint model sees no camera pitch: it draws a standing person
    upright along the image's vertical, as a level camera would see them; turned by this, its
    landmarks stand along the floor's up instead."""
    return minimal_rotation(up.new_tensor([0.0, -1.0, 0.0]), up / up.norm().clamp_min(1e-9))


def level_upright(unit: Tensor, up: Tensor, frame: str = "camera") -> Tensor:
    """Bone targets [..., B, 3] (unit, in ``frame``: :func:`bone_targets`) with the torso's
    (UPRIGHT_BONES) turned by :func:`level_rotation` to stand along the floor's ``up`` [3]: the
    model leans the shins as seen but draws the trunk (and the thighs, which turned too cost the
    dev suite: docs/results.md, session 27) upright to the image. Targets in the "body" frame
    carry no orientation and are returned as they are."""
    if frame == "body":
        return unit
    turned = unit.clone()
    turned[..., UPRIGHT_BONES, :] = unit[..., UPRIGHT_BONES, :] @ level_rotation(up).to(unit).T
    return turned


def body_frame(points: Tensor) -> Tensor:
    """[..., 3, 3] rotations (rows: the body's left, up-the-spine and forward axes) from
    BlazePose-33 points [..., 33, 3]: left from the hip and shoulder lines, up the spine made
    orthogonal to it, forward their cross product."""
    left = points[..., _TORSO[0], :] - points[..., _TORSO[1], :] + points[..., _TORSO[2], :] - points[..., _TORSO[3], :]
    left = left / left.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    up = (points[..., _TORSO[2], :] + points[..., _TORSO[3], :] - points[..., _TORSO[0], :] - points[..., _TORSO[1], :])
    up = up - (up * left).sum(-1, keepdim=True) * left
    up = up / up.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    return torch.stack([left, up, torch.linalg.cross(left, up)], -2)


FRAMES = ("camera", "body", "depth-sign")  # fitting.pose3d_frame


def bone_targets(world_cam: np.ndarray, confidence: np.ndarray, min_confidence: float,
                 depth_gain: float = 1.0, frame: str = "camera", smoothing: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(unit bone directions [P, T, B, 3], weights [P, T, B]) from camera-frame landmarks
    [P, T, 33, 3] and 2D confidence [P, T, 33]: a bone counts where both ends were seen in 2D
    (weight = the smaller confidence) and the landmarks are finite. Each bone's depth
    component is multiplied by ``depth_gain`` first (the landmarks flatten depth).
    ``frame``: "camera" (the directions as seen), "body" (in the landmarks' own
    :func:`body_frame`, so that they leave the body's orientation to the rest of the fit;
    zero weight where the hips and shoulders are not all seen), or "depth-sign" (as seen, but
    :func:`bone_direction_loss` then compares only which way each bone points in depth).
    ``smoothing`` > 0: each bone's direction is averaged over a Gaussian of that many frames
    (sigma), weighted by the frames' weights, and made unit again (the landmarks' depth flickers
    from frame to frame; a window of T = 1, as in the causal filter, is left as it is)."""
    if frame not in FRAMES:
        raise ValueError(f"fitting.pose3d_frame must be one of {FRAMES}, got {frame!r}")
    world_cam = world_cam * np.array([1.0, 1.0, depth_gain], dtype=world_cam.dtype)
    vec = world_cam[..., BONES[:, 1], :] - world_cam[..., BONES[:, 0], :]
    norm = np.linalg.norm(vec, axis=-1)
    conf = np.minimum(confidence[..., BONES[:, 0]], confidence[..., BONES[:, 1]])
    ok = np.isfinite(norm) & (norm > 1e-3) & (conf >= min_confidence)
    unit = np.where(ok[..., None], vec / np.where(ok, norm, 1.0)[..., None], 0.0)
    if frame == "body":
        torso_seen = ((confidence[..., _TORSO] >= min_confidence).all(-1)
                      & np.isfinite(world_cam[..., _TORSO, :]).all((-1, -2)))
        rot = body_frame(torch.as_tensor(np.nan_to_num(world_cam), dtype=torch.float64)).numpy()
        unit = np.einsum("ptij,ptbj->ptbi", rot, unit)
        ok = ok & torso_seen[..., None]
    weight = np.where(ok, conf, 0.0)
    if smoothing > 0:
        unit = smooth_directions(unit, weight, smoothing)
    return unit.astype(np.float32), weight.astype(np.float32)


def smooth_directions(unit: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """unit [P, T, B, 3] directions (0 where weight is 0), weight [P, T, B] -> [P, T, B, 3]: the
    weighted Gaussian average over T (``sigma`` frames), unit again (0 where nothing is near)."""
    total = gaussian_filter1d(weight, sigma, axis=1, mode="nearest")
    mean = gaussian_filter1d(unit * weight[..., None], sigma, axis=1, mode="nearest")
    norm = np.linalg.norm(mean, axis=-1, keepdims=True)
    good = (total[..., None] > 1e-6) & (norm > 1e-6)
    return np.where(good, mean / np.where(good, norm, 1.0), 0.0)


def bone_direction_loss(landmarks: Tensor, target: Tensor, weight: Tensor, frame: str = "camera") -> Tensor:
    """Weighted mean squared distance between unit bone directions: landmarks [P, T, 33, 3]
    (the fit's, camera frame), target [P, T, B, 3] unit in ``frame`` (:func:`bone_targets`),
    weight [P, T, B]. With ``frame`` "depth-sign", instead the product of the two depth
    components where their signs differ (0 where they agree): the landmarks say which way a
    bone points in depth, not how far (they flatten depth), and the keypoints and bone
    lengths set the rest."""
    bones = _BONE_INDEX.to(landmarks.device)
    vec = landmarks[..., bones[:, 1], :] - landmarks[..., bones[:, 0], :]
    unit = vec / vec.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    if frame == "depth-sign":
        return (weight * torch.relu(-unit[..., 2] * target[..., 2])).sum() / weight.sum().clamp_min(1.0)
    if frame == "body":
        unit = torch.einsum("ptij,ptbj->ptbi", body_frame(landmarks), unit)
    return (weight * (unit - target).pow(2).sum(-1)).sum() / weight.sum().clamp_min(1.0)
