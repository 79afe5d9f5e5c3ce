"""An aligned depth image (registered to the colour image) -> each person's distance.

    depth = to_metres(image, "16UC1")                  # [H, W] float32 m, NaN where missing
    d = person_depths(depth, masks, boxes)             # [2] m: median over each eroded mask

Encodings as ROS ``sensor_msgs/Image`` names them: ``16UC1`` millimetres (0 = no return) and
``32FC1`` metres (0, NaN and inf = no return). A person's distance is the median of the
depth pixels inside their mask (or box without masks), the mask eroded by
``perception.depth_erode`` px so that edge pixels, which mix person and background, do not
count; fewer than ``perception.depth_min_pixels`` valid pixels give NaN.
"""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

ENCODINGS = ("16UC1", "32FC1", "mono16")  # mono16 = 16UC1 as some drivers name it


def to_metres(image: np.ndarray, encoding: str) -> np.ndarray:
    """Depth in metres [H, W] float32 (NaN where the sensor gave nothing) from an image of
    ``encoding`` (16UC1 / mono16: uint16 mm; 32FC1: float32 m)."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"a depth image has one channel, got shape {image.shape}")
    if encoding in ("16UC1", "mono16"):
        out = image.astype(np.float32) / 1000.0
        out[image == 0] = np.nan
        return out
    if encoding == "32FC1":
        out = image.astype(np.float32, copy=True)
        out[~np.isfinite(out) | (out <= 0)] = np.nan
        return out
    raise ValueError(f"depth encoding {encoding!r} is not one of {ENCODINGS}")


def person_depths(depth: np.ndarray, masks: np.ndarray | None, boxes: np.ndarray, erode: int = 3,
                  min_pixels: int = 30) -> np.ndarray:
    """Median depth (m) [P] under each person's mask [P, h, w] in [0, 1] (any resolution: it
    is resized to the depth image's) or, without masks, inside the box [P, 4] (x0, y0, x1, y1
    px of the depth image) shrunk to its central half; NaN for a person with no box, no mask
    or fewer than ``min_pixels`` valid depth pixels there."""
    H, W = depth.shape
    out = np.full(len(boxes), np.nan, np.float32)
    kernel = np.ones((2 * erode + 1, 2 * erode + 1), np.uint8) if erode > 0 else None
    for p, box in enumerate(np.asarray(boxes, np.float64)):
        if not np.isfinite(box).all():
            continue
        if masks is not None:
            m = np.asarray(masks[p], np.float32)
            if m.shape != (H, W):
                m = cv2.resize(m, (W, H), interpolation=cv2.INTER_NEAREST)
            region = (m > 0.5).astype(np.uint8)
            if kernel is not None:
                region = cv2.erode(region, kernel)
            values = depth[region.astype(bool)]
        else:
            cx, cy, hw, hh = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, (box[2] - box[0]) / 4, (box[3] - box[1]) / 4
            x0, x1 = int(np.clip(cx - hw, 0, W)), int(np.clip(np.ceil(cx + hw), 0, W))
            y0, y1 = int(np.clip(cy - hh, 0, H)), int(np.clip(np.ceil(cy + hh), 0, H))
            values = depth[y0:y1, x0:x1].ravel()
        values = values[np.isfinite(values)]
        if values.size >= min_pixels:
            out[p] = float(np.median(values))
    return out


def _as_metres(image: np.ndarray) -> np.ndarray:
    """A stored depth frame in metres: unsigned integers are millimetres, floats metres."""
    return to_metres(image, "16UC1" if np.issubdtype(image.dtype, np.integer) else "32FC1")


def read_depth(path, max_frames: int | None = None):
    """Depth frames in metres [H, W] float32 (NaN = none), in order, from a folder of images
    (16-bit PNG / TIFF in mm, 32-bit float TIFF in m, or .npy files) or one .npy / .npz file
    holding a [T, H, W] stack (uint16 mm or float m)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(f for f in path.iterdir() if f.suffix.lower() in (".png", ".tif", ".tiff", ".npy"))
        if not files:
            raise FileNotFoundError(f"no depth images (.png, .tif, .tiff, .npy) in {path}")
        for f in files[:max_frames]:
            image = np.load(f) if f.suffix.lower() == ".npy" else cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise ValueError(f"cannot read the depth image {f}")
            yield _as_metres(image)
        return
    if path.suffix.lower() not in (".npy", ".npz"):
        raise ValueError(f"--depth takes a folder of depth images or a .npy / .npz [T, H, W] stack, got {path}")
    if not path.exists():
        raise FileNotFoundError(f"no depth file {path}")
    data = np.load(path)
    stack = data[data.files[0]] if path.suffix.lower() == ".npz" else data
    if stack.ndim != 3:
        raise ValueError(f"the depth stack {path} must be [T, H, W], got shape {stack.shape}")
    for image in stack[:max_frames]:
        yield _as_metres(image)


def track_depths(track, frames, erode: int = 3, min_pixels: int = 30) -> tuple[np.ndarray, int]:
    """Each person's depth [2, T] (m, NaN where none) over a perceived clip (a ``PeopleTrack``:
    its masks, else boxes) from depth frames in metres (:func:`read_depth`), and the number of
    frames dropped because their size is not the colour image's (registered depth only).
    Frames past the end of ``frames`` get no depth."""
    T = track.num_frames
    out = np.full((2, T), np.nan, np.float32)
    dropped = 0
    for t, depth in zip(range(T), frames):
        if depth.shape != tuple(track.image_size):
            dropped += 1
            log.warning("depth frame %d is %s, the colour image %s: dropped (not registered to it)", t,
                        depth.shape, tuple(track.image_size))
            continue
        masks = None if track.masks is None else track.masks[:, t]
        out[:, t] = person_depths(depth, masks, track.boxes[:, t], erode, min_pixels)
    return out, dropped
