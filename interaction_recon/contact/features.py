"""What the contact estimator sees of one frame: both people's body parts, in the image and
placed in 3D.

Each coarse part (``body.skeleton.COARSE_PARTS``) has an anchor point, a fixed mix of
BlazePose-33 landmarks (:data:`ANCHORS`; chest, stomach and back share the torso's, the
image cannot tell them apart, the network learns which is likely from the rest). Per frame
and part pair (person 0's part a, person 1's part b) the features (:func:`frame_features`)
are the 2D anchor distance in units of the pair's mean torso height, how it compares with
the pair's neighbours and changes over the frames around, the anchors' 2D confidence, and
how far apart the two people's hip centres are in the current fit (each person fitted alone,
sized on a common floor, before any term relates the two; the fit's limbs were measured
too far off in depth to say more: see the contact issue's note). Nothing here is learned;
it is the same for the synthetic training clips (the fit's errors simulated) and for the pipeline.
"""
from __future__ import annotations

import numpy as np

from interaction_recon.body.skeleton import BLAZEPOSE33, COARSE_PARTS

_B = {n: i for i, n in enumerate(BLAZEPOSE33)}
NUM_PARTS = len(COARSE_PARTS)
MAX_2D = 3.0  # torso heights: larger 2D distances are clipped
MAX_APART = 3.0  # metres: larger distances between the two people's hip centres are clipped
_HIPS = [_B["left_hip"], _B["right_hip"]]


def _mix(side: str | None, part: str) -> dict[str, float]:
    s = f"{side}_" if side else ""
    return {
        "hand": {f"{s}wrist": 0.4, f"{s}index": 0.3, f"{s}pinky": 0.3},
        "forearm": {f"{s}elbow": 0.5, f"{s}wrist": 0.5},
        "upper arm": {f"{s}shoulder": 0.5, f"{s}elbow": 0.5},
        "elbow": {f"{s}elbow": 1.0},
        "shoulder": {f"{s}shoulder": 1.0},
        "thigh": {f"{s}hip": 0.5, f"{s}knee": 0.5},
        "knee": {f"{s}knee": 1.0},
        "leg": {f"{s}knee": 0.5, f"{s}ankle": 0.5},
        "foot": {f"{s}ankle": 0.3, f"{s}heel": 0.3, f"{s}foot_index": 0.4},
        "chest": {"left_shoulder": 0.35, "right_shoulder": 0.35, "left_hip": 0.15, "right_hip": 0.15},
        "stomach": {"left_shoulder": 0.2, "right_shoulder": 0.2, "left_hip": 0.3, "right_hip": 0.3},
        "back": {"left_shoulder": 0.3, "right_shoulder": 0.3, "left_hip": 0.2, "right_hip": 0.2},
        "waist": {"left_hip": 0.5, "right_hip": 0.5},
        "neck": {"left_shoulder": 0.4, "right_shoulder": 0.4, "nose": 0.2},
        "head": {"left_ear": 0.5, "right_ear": 0.5},
        "face": {"nose": 0.5, "left_eye_inner": 0.25, "right_eye_inner": 0.25},
    }[part]


def _anchor_matrix() -> np.ndarray:
    m = np.zeros((NUM_PARTS, len(BLAZEPOSE33)), np.float32)
    for i, name in enumerate(COARSE_PARTS):
        side, _, part = name.partition(" ") if name.split(" ")[0] in ("left", "right") else (None, "", name)
        for landmark, w in _mix(side, part).items():
            m[i, _B[landmark]] = w
    return m


ANCHORS = _anchor_matrix()  # [25, 33] rows sum to 1
FRAME_CHANNELS = 7
# channel order under exchanging the two people (row and column channels, the confidences swap)
_SWAP_FRAME = [0, 2, 1, 3, 5, 4, 6]
CONTEXT = (-8, -4, 4, 8)  # frames whose pair distances join a frame's features (the motion around it)
NUM_CHANNELS = FRAME_CHANNELS + len(CONTEXT)
SWAP_CHANNELS = _SWAP_FRAME + list(range(FRAME_CHANNELS, NUM_CHANNELS))


def torso_height(keypoints: np.ndarray, confidence: np.ndarray, min_confidence: float) -> np.ndarray:
    """[P, T] px distance from mid-shoulders to mid-hips (NaN where any of them is unseen)."""
    idx = [_B["left_shoulder"], _B["right_shoulder"], _B["left_hip"], _B["right_hip"]]
    ok = (confidence[..., idx] >= min_confidence).all(-1)
    k = keypoints[..., idx, :]
    h = np.linalg.norm(0.5 * (k[..., 0, :] + k[..., 1, :]) - 0.5 * (k[..., 2, :] + k[..., 3, :]), axis=-1)
    return np.where(ok, h, np.nan)


def observed(keypoints: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """keypoints [2, T, 33, 2] float64 with 0 where missing (NaN) and confidence [2, T, 33] with
    0 there and where it is NaN."""
    placed = np.isfinite(keypoints).all(-1)
    kp = np.where(placed[..., None], keypoints, 0.0).astype(np.float64)
    return kp, np.where(placed & np.isfinite(confidence), confidence, 0.0)


def anchor_distances(points: np.ndarray) -> np.ndarray:
    """[T, 25, 25]: the distance of each part anchor of person 0 to each of person 1, from
    points [2, T, 33, D] (NaN where an anchor's landmark is NaN)."""
    anchors = np.einsum("ak,ptkd->ptad", ANCHORS, points)  # [2, T, 25, D]
    return np.linalg.norm(anchors[0][:, :, None] - anchors[1][:, None], axis=-1)


def _relative(d: np.ndarray) -> list[np.ndarray]:
    """[T, 25, 25] distances -> how far each is above the smallest of its row, of its column
    and of the frame (the pair's rank among its neighbours)."""
    return [d - d.min(2, keepdims=True), d - d.min(1, keepdims=True), d - d.min((1, 2), keepdims=True)]


def frame_features(keypoints: np.ndarray, confidence: np.ndarray, points3d: np.ndarray,
                   min_confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Pair features [T, 25, 25, NUM_CHANNELS] float32 and availability [T] bool (a torso seen
    and both people placed; features are 0 elsewhere).

    Channels per pair (person 0's part a, person 1's part b): the 2D anchor distance (torso
    heights), also relative to the smallest of its row, its column and the frame; the two
    anchors' confidences; the 3D distance of the two people's hip centres (m, from the fit); and the
    pair's 2D distance change to the frames of CONTEXT.
    keypoints [2, T, 33, 2] px, confidence [2, T, 33], points3d [2, T, 33, 3] camera frame m.
    """
    kp, conf = observed(keypoints, confidence)
    aconf = np.einsum("ak,ptk->pta", ANCHORS, conf)  # [2, T, 25]
    torso = torso_height(kp, conf, min_confidence)  # [2, T]
    scale = np.where(np.isfinite(torso).all(0), torso.mean(0), np.fmax(torso[0], torso[1]))  # [T]: either if one
    d2 = anchor_distances(kp) / np.where(np.isfinite(scale), scale, 1.0)[:, None, None]
    roots = points3d[:, :, _HIPS].mean(-2)  # [2, T, 3] hip centres
    apart = np.linalg.norm(roots[0] - roots[1], axis=-1)  # [T] m
    available = np.isfinite(scale) & np.isfinite(apart)
    d2 = np.clip(np.nan_to_num(d2, nan=MAX_2D), 0, MAX_2D)
    T = kp.shape[1]
    apart = np.clip(np.nan_to_num(apart, nan=MAX_APART), 0, MAX_APART)
    grid = lambda v: np.broadcast_to(v, (T, NUM_PARTS, NUM_PARTS))  # noqa: E731
    feats = np.stack([d2, *_relative(d2), grid(aconf[0][:, :, None]), grid(aconf[1][:, None]),
                      grid(apart[:, None, None])], -1)
    feats[~available] = 0.0
    return _with_context(feats, available).astype(np.float32), available


def _with_context(feats: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Append, per offset of CONTEXT, how much the pair's 2D distance differs in that frame
    (the nearest available frame at or after it inside the window)."""
    T = len(feats)
    idx = np.flatnonzero(available)
    extra = []
    for k in CONTEXT:
        if len(idx) == 0:
            extra.append(np.zeros(feats.shape[:3]))
            continue
        want = np.clip(np.arange(T) + k, 0, T - 1)
        src = idx[np.clip(np.searchsorted(idx, want), 0, len(idx) - 1)]
        extra.append(feats[src, ..., 0] - feats[..., 0])
    out = np.concatenate([feats, np.stack(extra, -1)], -1)
    out[~available] = 0.0
    return out
