"""Observation simulator: detector-like 2D keypoints from ground truth, for studies that
bypass the real detector (pixel noise, missed joints, occlusion, left/right flips, identity
swaps where the two people cross)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interaction_recon.body import skeleton


@dataclass
class ObservationConfig:
    """Error model; fractions of the person's box height, probabilities per joint-frame."""

    noise: float = 0.01  # pixel noise std / box height
    occluded_noise: float = 0.04  # std for joints hidden by the other person or out of view
    miss: float = 0.02  # a visible joint is missed (confidence ~0, position wild)
    flip: float = 0.01  # a person's left/right keypoints swap, per frame (runs of 1-5 frames)
    swap: float = 0.5  # identities swap at a crossing (boxes overlapping), per crossing
    crossing_iou: float = 0.3


PRESETS = {
    "clean": ObservationConfig(noise=0.005, occluded_noise=0.005, miss=0.0, flip=0.0, swap=0.0),
    "noisy": ObservationConfig(),
}


@dataclass
class Observations:
    """keypoints [2, T, K, 2] px, confidence [2, T, K] in [0, 1], swapped [T] (identity swapped
    relative to ground truth in that frame), layout: "coco17" | "blazepose33" | "smpl24"."""

    keypoints: np.ndarray
    confidence: np.ndarray
    swapped: np.ndarray
    layout: str


LAYOUT_NAMES = {"coco17": skeleton.COCO17, "blazepose33": skeleton.BLAZEPOSE33, "smpl24": skeleton.SMPL_JOINTS}


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes [..., 4] (x0, y0, x1, y1)."""
    lo, hi = np.maximum(a[..., :2], b[..., :2]), np.minimum(a[..., 2:], b[..., 2:])
    inter = np.clip(hi - lo, 0, None).prod(-1)
    area = lambda x: (x[..., 2:] - x[..., :2]).prod(-1)  # noqa: E731
    return inter / (area(a) + area(b) - inter + 1e-9)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of the runs of True in a 1-D bool array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def simulate(keypoints: np.ndarray, visible: np.ndarray, boxes: np.ndarray, layout: str,
             config: ObservationConfig, rng: np.random.Generator) -> Observations:
    """keypoints [2, T, K, 2] ground truth px, visible [2, T, K] bool, boxes [2, T, 4]."""
    P, T, K, _ = keypoints.shape
    size = (boxes[..., 3] - boxes[..., 1])[..., None, None]  # [2,T,1,1]
    std = np.where(visible[..., None], config.noise, config.occluded_noise) * size
    kp = keypoints + rng.normal(size=keypoints.shape) * std
    conf = np.where(visible, rng.uniform(0.7, 1.0, visible.shape), rng.uniform(0.05, 0.45, visible.shape))
    missed = visible & (rng.random(visible.shape) < config.miss)
    kp[missed] += rng.normal(size=(missed.sum(), 2)) * size.repeat(K, 2)[missed] * 0.3
    conf[missed] = rng.uniform(0.0, 0.15, missed.sum())
    flip = skeleton.flip_permutation(LAYOUT_NAMES[layout])
    flipped = np.zeros((P, T), dtype=bool)
    for p, start in zip(*np.nonzero(rng.random((P, T)) < config.flip)):
        flipped[p, start:start + int(rng.integers(1, 6))] = True
    kp[flipped], conf[flipped] = kp[flipped][:, flip], conf[flipped][:, flip]
    swapped = np.zeros(T, dtype=bool)
    for start, end in _runs(_iou(boxes[0], boxes[1]) > config.crossing_iou):
        if rng.random() < config.swap:
            swapped[(start + end) // 2:] ^= True  # a tracker keeps a swap once made
    kp[:, swapped], conf[:, swapped] = kp[::-1][:, swapped], conf[::-1][:, swapped]
    return Observations(kp.astype(np.float32), conf.astype(np.float32), swapped, layout)
