"""Planted feet: which feet stand still on the floor, from the 2D keypoints alone.

A foot whose ankle keypoint moves less than ``fitting.planted_motion`` person heights over
``fitting.planted_span`` seconds (centred on the frame, every frame of it confidently seen) is
taken to stand on the floor; ``weights.planted`` then holds the planted ankles at one height
above the floor (:func:`interaction_recon.fitting.losses.planted_feet`). One image cannot tell
a foot lifted towards the camera from one set down further away; the floor can.
"""
from __future__ import annotations

import numpy as np

from interaction_recon.body.skeleton import layout_names

ANKLES = ("left_ankle", "right_ankle")


def planted(keypoints: np.ndarray, confidence: np.ndarray, heights: np.ndarray, layout: str, fps: float,
            span: float, motion: float, min_confidence: float) -> np.ndarray:
    """[2, T, 2] bool: each person's (left, right) ankle planted in each frame.

    keypoints [2, T, K, 2] px in ``layout``; confidence [2, T, K]; heights [2, T] px (the
    person's image height, the unit of ``motion``); span s; motion in person heights."""
    names = layout_names(layout)
    idx = [names.index(n) for n in ANKLES]
    ankle = np.asarray(keypoints, np.float64)[:, :, idx]  # [2, T, 2, 2]
    ok = (np.asarray(confidence)[:, :, idx] >= min_confidence) & np.isfinite(ankle).all(-1)  # [2, T, 2]
    T = ankle.shape[1]
    half = max(1, int(round(span * fps / 2)))
    out = np.zeros(ok.shape, dtype=bool)
    if T < 2 * half + 1:
        return out
    # over the frames t - half .. t + half: every ankle seen, and its largest distance from
    # the span's first position within ``motion`` person heights
    windows = np.lib.stride_tricks.sliding_window_view(ankle, 2 * half + 1, axis=1)  # [2, T', 2, 2, w]
    seen = np.lib.stride_tricks.sliding_window_view(ok, 2 * half + 1, axis=1).all(-1)  # [2, T', 2]
    spread = np.linalg.norm(windows - windows[..., :1], axis=-2).max(-1)  # [2, T', 2] px
    still = np.nan_to_num(spread, nan=np.inf) <= motion * np.asarray(heights, np.float64)[:, half:T - half, None]
    out[:, half:T - half] = seen & still
    return out
