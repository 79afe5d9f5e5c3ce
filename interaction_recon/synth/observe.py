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


def sensor_depth(depth: np.ndarray, rng: np.random.Generator, holes: float = 0.05) -> np.ndarray:
    """What an RGB-D camera makes of a rendered depth map [H, W] (m, inf = nothing): axial
    noise growing with the square of the distance (Nguyen et al. 2012, a structured-light
    sensor: 1.2 mm + 1.9 mm (z - 0.4 m)^2), no return on a ``holes`` share of the pixels
    (scattered and in small blobs) and at depth edges of more than 5 cm (flying pixels are
    dropped by drivers), millimetre steps. -> uint16 [H, W] mm, 0 = no return (16UC1)."""
    import cv2

    z = np.where(np.isfinite(depth), depth, 0.0).astype(np.float64)
    noisy = z + rng.normal(size=z.shape) * (0.0012 + 0.0019 * (z - 0.4) ** 2)
    lost = rng.random(z.shape) < holes / 2
    blobs = cv2.dilate((rng.random(z.shape) < holes / 50).astype(np.uint8), np.ones((5, 5), np.uint8))
    edges = (cv2.dilate(z.astype(np.float32), np.ones((3, 3), np.uint8)) - cv2.erode(z.astype(np.float32),
                                                                                        np.ones((3, 3), np.uint8))) > 0.05
    out = np.rint(noisy * 1000).clip(0, 65535).astype(np.uint16)
    out[lost | blobs.astype(bool) | edges | (z <= 0)] = 0
    return out
