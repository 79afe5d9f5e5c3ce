"""sensor_msgs images and camera info <-> numpy, without cv_bridge.

``decode_image`` returns an RGB uint8 [H, W, 3] array or raises :class:`Dropped` with a short,
fixed reason (the node counts drops per reason, so reasons never contain free text).
"""
from __future__ import annotations

import io

import numpy as np

from interaction_recon.perception.image import uint16_to_uint8

# encoding -> (channels, numpy dtype, channel order to RGB or None for mono)
ENCODINGS = {
    "rgb8": (3, np.uint8, (0, 1, 2)),
    "bgr8": (3, np.uint8, (2, 1, 0)),
    "rgba8": (4, np.uint8, (0, 1, 2)),
    "bgra8": (4, np.uint8, (2, 1, 0)),
    "mono8": (1, np.uint8, None),
    "8uc1": (1, np.uint8, None),
    "mono16": (1, np.uint16, None),
    "16uc1": (1, np.uint16, None),
}


class Dropped(Exception):
    """An input the node cannot use; ``reason`` is one of a fixed set of short names."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def decode_image(msg) -> np.ndarray:
    """sensor_msgs/Image -> RGB uint8 [H, W, 3] (a copy; the message can be reused).

    Supported: rgb8, bgr8, rgba8, bgra8, mono8/8UC1, mono16/16UC1 (scaled by the frame's
    maximum). Raises Dropped("unsupported_encoding" | "zero_size" | "bad_step" | "truncated").
    """
    enc = (msg.encoding or "").lower()
    if enc not in ENCODINGS:
        raise Dropped("unsupported_encoding", msg.encoding)
    channels, dtype, order = ENCODINGS[enc]
    pixels = raw_pixels(msg, channels, dtype)
    if dtype == np.uint16:
        pixels = uint16_to_uint8(pixels)
    if order is None:
        return np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels[..., list(order)])


def raw_pixels(msg, channels: int, dtype) -> np.ndarray:
    """The pixels of a sensor_msgs/Image as they are, [H, W, channels] of ``dtype`` (a copy;
    the row step and byte order honoured). Raises Dropped("zero_size" | "bad_step" | "truncated")."""
    h, w = int(msg.height), int(msg.width)
    if h <= 0 or w <= 0:
        raise Dropped("zero_size", f"{w}x{h}")
    itemsize = np.dtype(dtype).itemsize
    row = w * channels * itemsize
    step = int(msg.step) or row
    if step < row:
        raise Dropped("bad_step", f"step {step} < {row}")
    data = msg.data
    buf = data.tobytes() if hasattr(data, "tobytes") else bytes(data)
    if len(buf) < step * (h - 1) + row:
        raise Dropped("truncated", f"{len(buf)} bytes for {w}x{h} {msg.encoding}")
    rows = np.frombuffer(buf, dtype=np.uint8, count=step * (h - 1) + row)
    rows = np.lib.stride_tricks.as_strided(rows, shape=(h, row), strides=(step, 1))
    pixels = np.ascontiguousarray(rows).view(np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<"))
    return pixels.reshape(h, w, channels).astype(dtype, copy=False)  # native byte order


def decode_compressed(msg) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png) -> RGB uint8 [H, W, 3]; Dropped("zero_size" |
    "undecodable")."""
    data = msg.data
    buf = data.tobytes() if hasattr(data, "tobytes") else bytes(data)
    if not buf:
        raise Dropped("zero_size", "empty CompressedImage")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(buf)) as img:
            rgb = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise Dropped("undecodable", str(err)) from None
    if rgb.size == 0:
        raise Dropped("zero_size", "decoded to an empty image")
    return rgb


def intrinsics(msg) -> np.ndarray | None:
    """CameraInfo -> K [3,3] float64, or None when K is unset or not a pinhole matrix."""
    K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0 or K[2, 2] != 1.0:
        return None
    return K


def scale_intrinsics(K: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """K for an image resized from (w, h) ``from_size`` to ``to_size`` (binned / scaled streams)."""
    if from_size == to_size or min(from_size) <= 0:
        return K
    sx, sy = to_size[0] / from_size[0], to_size[1] / from_size[1]
    return np.diag([sx, sy, 1.0]) @ K


def image_message(rgb: np.ndarray, stamp=None, frame_id: str = "", encoding: str = "rgb8"):
    """RGB uint8 [H, W, 3] -> sensor_msgs/Image (rgb8 or bgr8)."""
    from sensor_msgs.msg import Image

    if encoding == "bgr8":
        rgb = rgb[..., ::-1]
    elif encoding != "rgb8":
        raise ValueError(f"image_message writes rgb8 or bgr8, not {encoding}")
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    msg = Image(height=h, width=w, encoding=encoding, is_bigendian=0, step=3 * w, data=rgb.tobytes())
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    return msg


def compressed_message(rgb: np.ndarray, stamp=None, frame_id: str = "", quality: int = 90):
    """RGB uint8 [H, W, 3] -> sensor_msgs/CompressedImage, JPEG (format as compressed_image_transport
    writes it: "rgb8; jpeg compressed bgr8")."""
    from PIL import Image as PILImage
    from sensor_msgs.msg import CompressedImage

    buf = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, format="JPEG", quality=quality)
    msg = CompressedImage(format="rgb8; jpeg compressed bgr8", data=buf.getvalue())
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    return msg


def camera_info_message(K: np.ndarray, width: int, height: int, stamp=None, frame_id: str = ""):
    """A distortion-free pinhole sensor_msgs/CameraInfo."""
    from sensor_msgs.msg import CameraInfo

    K = np.asarray(K, dtype=np.float64)
    P = np.zeros((3, 4))
    P[:, :3] = K
    msg = CameraInfo(width=int(width), height=int(height), distortion_model="plumb_bob",
                     d=[0.0] * 5, k=K.reshape(-1).tolist(), r=np.eye(3).reshape(-1).tolist(),
                     p=P.reshape(-1).tolist())
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    return msg
