"""The optional aligned depth image (``ros.depth_topic``): decoded to metres, kept by stamp,
and turned into each person's distance for the frame whose colour image has that stamp.

Drivers publish colour and depth as separate messages with the same stamp (an RGB-D camera's
``aligned_depth_to_color`` topic), in either order; the perception thread looks the depth up
when it takes the colour frame, so a depth image arriving a few milliseconds later still pairs.
"""
from __future__ import annotations

import bisect
import threading

import numpy as np

from interaction_recon.perception.depth import person_depths, to_metres
from interaction_recon.ros.image import Dropped, raw_pixels

ENCODINGS = {"16uc1": ("16UC1", np.uint16), "mono16": ("16UC1", np.uint16), "32fc1": ("32FC1", np.float32)}


def decode_depth(msg) -> np.ndarray:
    """sensor_msgs/Image (16UC1 / mono16 mm, 32FC1 m) -> depth [H, W] float32 m, NaN where
    the sensor gave nothing. Raises Dropped("depth_encoding" | "zero_size" | "bad_step" | "truncated")."""
    enc = (msg.encoding or "").lower()
    if enc not in ENCODINGS:
        raise Dropped("depth_encoding", msg.encoding)
    name, dtype = ENCODINGS[enc]
    return to_metres(raw_pixels(msg, 1, dtype)[..., 0], name)


class DepthBuffer:
    """The last ``size`` depth images (m) by stamp (s); thread-safe."""

    def __init__(self, max_offset: float, size: int = 32):
        self.max_offset, self.size = max_offset, size
        self._stamps: list[float] = []
        self._images: list[np.ndarray] = []
        self._lock = threading.Lock()

    def put(self, stamp: float, depth: np.ndarray) -> None:
        with self._lock:
            i = bisect.bisect(self._stamps, stamp)
            self._stamps.insert(i, stamp)
            self._images.insert(i, depth)
            del self._stamps[:-self.size], self._images[:-self.size]

    def nearest(self, stamp: float) -> np.ndarray | None:
        """The depth image whose stamp is nearest ``stamp``, if within ``max_offset`` s."""
        with self._lock:
            if not self._stamps:
                return None
            i = int(np.argmin(np.abs(np.asarray(self._stamps) - stamp)))
            return self._images[i] if abs(self._stamps[i] - stamp) <= self.max_offset else None


def attach_depth(people, depth: np.ndarray | None, image_shape: tuple[int, int], erode: int, min_pixels: int) -> str:
    """Set ``people.depth`` [2] (m, NaN where none) from the frame's depth image; returns what
    happened: "used", "missing" (no depth image for this stamp) or "wrong_size" (not the colour
    image's size, so not registered to it: not used)."""
    if depth is None:
        return "missing"
    if depth.shape != tuple(image_shape):
        return "wrong_size"
    people.depth = person_depths(depth, people.masks, people.boxes, erode, min_pixels)
    return "used"
