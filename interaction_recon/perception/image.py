"""Input frames of any common form -> contiguous RGB uint8, downscaled when huge."""
from __future__ import annotations

import cv2
import numpy as np

MIN_SIDE = 8  # smaller images hold no findable person: an empty result


def to_rgb8(image) -> np.ndarray:
    """[H,W], [H,W,1], [H,W,3] or [H,W,4] of uint8, uint16 (see :func:`uint16_to_uint8`), bool,
    int or float (floats in [0,1] or [0,255]) -> [H,W,3] uint8 RGB, C-contiguous. ValueError for
    anything else or empty."""
    if image is None:
        raise ValueError("perception: image is None")
    a = np.asarray(image)
    if a.size == 0 or a.ndim < 2:
        raise ValueError(f"perception: empty image (shape {a.shape}); expected [H, W, 3] RGB")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(f"perception: unsupported image shape {a.shape}; expected [H, W], [H, W, 3] or [H, W, 4]")
    if a.dtype == np.uint8:
        pass
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = uint16_to_uint8(a)
    elif np.issubdtype(a.dtype, np.floating):
        a = np.nan_to_num(a.astype(np.float32))
        top = 1.0 if a.max(initial=0.0) <= 1.0 else 255.0
        a = np.clip(a * (255.0 / top), 0, 255).round().astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer):
        a = np.clip(a, 0, 255).astype(np.uint8)
    else:
        raise ValueError(f"perception: unsupported image dtype {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.shape[2] == 4:
        a = a[:, :, :3]
    return np.ascontiguousarray(a)


def uint16_to_uint8(a: np.ndarray) -> np.ndarray:
    """16-bit intensities [...] -> uint8 [...], scaled by the frame's maximum, so a 10- or 12-bit
    sensor's image fills the range as a full 16-bit one does (the one rule for every 16-bit input,
    arrays and ROS mono16 messages alike)."""
    top = int(a.max(initial=0))
    scaled = a.astype(np.float32) * (255.0 / top) if top > 0 else a.astype(np.float32)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Shrink so that the longer side is at most ``max_side``: (image, factor = new px / input px)."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image, 1.0
    f = max_side / max(h, w)
    return cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA), f
