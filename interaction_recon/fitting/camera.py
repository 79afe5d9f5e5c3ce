"""Pinhole camera helpers for fitting (OpenCV frame: x right, y down, z forward)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # no torch import here: the ROS adapter and the CLI use the numpy helpers
    from torch import Tensor


def default_intrinsics(width: int, height: int, fov_deg: float = 60.0) -> np.ndarray:
    """[3, 3] float64 intrinsics of a centred pinhole camera with this horizontal FOV."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    f = 0.5 * width / math.tan(math.radians(fov_deg) / 2)
    return np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])


def check_intrinsics(K) -> np.ndarray:
    """``K`` as a [3, 3] float64 array; ``ValueError`` if it is not a usable pinhole matrix."""
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3) or not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f"intrinsics must be a finite 3x3 matrix with positive focal lengths, got {K.tolist()}")
    return K


def project(points: Tensor, K: Tensor, min_depth: float = 0.05) -> Tensor:
    """Camera-frame points [..., 3] -> pixels [..., 2] (depth clamped at ``min_depth``)."""
    z = points[..., 2:3].clamp_min(min_depth)
    uv = points[..., :2] / z
    return uv * K.diagonal()[:2] + K[:2, 2]


def back_project(uv: np.ndarray, depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pixels [..., 2] at depths [...] -> camera-frame points [..., 3]."""
    x = (uv[..., 0] - K[0, 2]) / K[0, 0]
    y = (uv[..., 1] - K[1, 2]) / K[1, 1]
    return np.stack([x * depth, y * depth, depth], -1)
