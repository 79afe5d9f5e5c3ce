"""Training examples of the contact map from the synthetic world's clips.

Each clip's ground truth (``synth/groundtruth.py``) gives both people's BlazePose-33 points
in the camera frame and in pixels, their visibility, and the part pairs whose surfaces are
within 2 cm in each frame (vertex-level contact, mapped to coarse parts). An example is one
frame seen as the perception pipeline would see it: detector-like 2D keypoints
(``synth/observe.py``'s error model, left/right flips included) and 3D points with the
errors of a fit (each person off by a slowly drifting offset, larger in depth, plus noise
per point). Augmentations: the mirror image (sides
exchanged) and, for a share of the frames, person 1 moved 0.25-1.2 m away (sideways or in depth)
so that people who overlap in the image without touching are seen (labels all 0).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interaction_recon.body.skeleton import BLAZEPOSE33, COARSE_PARTS, flip_permutation, mirror_part
from interaction_recon.contact.features import NUM_PARTS, frame_features
from interaction_recon.synth import observe

_FLIP_POINTS = flip_permutation(BLAZEPOSE33)
FLIP_PARTS = np.array([COARSE_PARTS.index(mirror_part(n)) for n in COARSE_PARTS])


@dataclass
class Augment:
    joint_noise: float = 0.04  # m per 3D point coordinate
    offset_noise: tuple[float, float, float] = (0.05, 0.05, 0.3)  # m std of each person's 3D offset (x, y, depth)
    shift_share: float = 0.25  # frames with person 1 moved away (no contact)
    shift: tuple[float, float] = (0.25, 1.2)  # metres
    min_confidence: float = 0.2


def labels(scene) -> np.ndarray:
    """[T, 25, 25] bool: person 0's part a touches person 1's part b (within 2 cm)."""
    y = np.zeros((scene.num_frames, NUM_PARTS, NUM_PARTS), bool)
    for t, a, b in scene.gt["contact_parts"]:
        y[int(t), COARSE_PARTS.index(a), COARSE_PARTS.index(b)] = True
    return y


def perceived(scene) -> tuple[np.ndarray, np.ndarray]:
    """The real perception pipeline's keypoints [2, T, 33, 2] and confidence [2, T, 33] on a
    clip rendered with images (cached beside it), put in the ground truth's person order
    frame by frame (the order with the smaller confidence-weighted distance to the true points)."""
    from interaction_recon.eval.bench import _perceived

    track = _perceived(scene)
    kp, conf = track.keypoints, track.confidence
    truth = scene.gt["blazepose33_2d"]
    err = lambda order: (conf[list(order)] * np.linalg.norm(np.nan_to_num(kp[list(order)]) - truth, axis=-1)).sum((0, 2))  # noqa: E731
    swap = err((1, 0)) < err((0, 1))  # [T]
    kp, conf = kp.copy(), conf.copy()
    kp[:, swap], conf[:, swap] = kp[::-1][:, swap], conf[::-1][:, swap]
    return kp, conf


def with_fit_errors(points: np.ndarray, rng: np.random.Generator, aug: Augment) -> np.ndarray:
    """points [2, T, N, 3] m (camera frame) as a fit would place them: each person off by a
    slowly drifting offset (std ``aug.offset_noise`` per axis, larger in depth) plus noise
    per point (``aug.joint_noise``)."""
    T = points.shape[1]
    drift = np.cumsum(rng.normal(size=(2, T, 1, 3)) * 0.1, 1)
    drift = drift / np.maximum(np.abs(drift).max(1, keepdims=True), 1e-9) * np.array(aug.offset_noise)
    return points + drift + aug.joint_noise * rng.normal(size=points.shape)


def examples(scene, rng: np.random.Generator, aug: Augment, mirror: bool,
             observed: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One noisy look at every frame of ``scene``: features [T, F], labels [T, 25, 25] and
    availability [T] (frames where both people could be placed). ``observed``: the real
    detector's (keypoints, confidence) of the clip (:func:`perceived`) instead of simulated
    ones; person 1 is then never moved."""
    gt = scene.gt
    K = np.asarray(gt["K"], np.float64)
    pts = gt["blazepose33"].astype(np.float64).copy()  # [2, T, 33, 3] camera frame
    y = labels(scene)
    T = pts.shape[1]
    shifted = rng.random(T) < (aug.shift_share if observed is None else 0.0)
    if shifted.any():
        direction = rng.normal(size=(T, 3)) * np.array([1.0, 0.1, 1.0])
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        step = direction * rng.uniform(*aug.shift, size=(T, 1))
        step[:, 2] = np.abs(step[:, 2]) * np.sign(rng.random(T) - 0.3)  # more often away from the camera
        pts[1, shifted] += step[shifted, None]
        y[shifted] = False
    uv = pts[..., :2] / np.maximum(pts[..., 2:], 0.1) * np.diag(K)[:2] + K[:2, 2]
    visible = gt["visible_blazepose33"].astype(bool)
    lo, hi = uv.min(2), uv.max(2)
    boxes = np.concatenate([lo, hi], -1)
    cfg = observe.ObservationConfig(swap=0.0)
    obs = observe.simulate(uv.astype(np.float32), visible, boxes, "blazepose33", cfg, rng)
    points = with_fit_errors(pts, rng, aug)
    kp, conf = obs.keypoints.astype(np.float64), obs.confidence.astype(np.float64)
    if observed is not None:
        kp, conf = np.nan_to_num(observed[0].astype(np.float64)), observed[1].astype(np.float64)
    if mirror:  # x -> -x in the camera, u -> 2 cx - u: the sides exchange
        points = points[:, :, _FLIP_POINTS] * np.array([-1.0, 1.0, 1.0])
        kp, conf = kp[:, :, _FLIP_POINTS], conf[:, :, _FLIP_POINTS]
        kp[..., 0] = 2 * K[0, 2] - kp[..., 0]
        y = y[:, FLIP_PARTS][:, :, FLIP_PARTS]
    x, available = frame_features(kp, conf, points, aug.min_confidence)
    return x, y, available
