"""``interaction-recon replay VIDEO|SYNTH_SCENE``: a camera stand-in for demos and tests.

Publishes sensor_msgs/Image (rgb8 or bgr8) and a matching sensor_msgs/CameraInfo at a chosen
rate, stamped with the node clock. Sources:
  * a synthetic clip folder (``meta.json`` + ``frames/``) or a synth dataset root
    (``index.json``; the first clip, or ``--scene NAME``): intrinsics from its ground truth;
  * a rosbag2 folder (MCAP or SQLite, e.g. ``out/demo/bag``): its sensor_msgs/Image (or
    CompressedImage) messages, intrinsics from its CameraInfo;
  * a video file (OpenCV) or a folder of images (PIL):
    intrinsics from ``--fov`` (horizontal, degrees).
``--max-frames N`` ends the replay after N published frames, looped or not.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interaction_recon.fitting.camera import default_intrinsics
from interaction_recon.ros import image


@dataclass
class Source:
    name: str
    K: np.ndarray | None  # None: from fov at the first frame
    fps: float
    count: int | None
    open: Callable[[], Iterator[np.ndarray]]  # a fresh iterator of RGB uint8 frames


def open_source(path: str | Path, scene: str | None = None, max_frames: int | None = None) -> Source:
    path = Path(path)
    if (path / "index.json").exists() and not (path / "meta.json").exists():
        names = [s["name"] for s in json.loads((path / "index.json").read_text())["scenes"]]
        if not names:
            raise ValueError(f"{path}: the dataset has no clips")
        if scene is not None and scene not in names:
            raise ValueError(f"{path}: no clip {scene!r}; clips: {names}")
        path = path / (scene or names[0])
    if (path / "meta.json").exists():
        from interaction_recon.synth.dataset import load_scene

        clip = load_scene(path)
        n = clip.num_frames if max_frames is None else min(clip.num_frames, max_frames)
        if not (path / "frames").is_dir():
            raise ValueError(f"{path}: this clip was generated without images (synth --no-images)")
        return Source(name=clip.name, K=np.asarray(clip.gt["K"], dtype=np.float64), fps=float(clip.meta["fps"]),
                      count=n, open=lambda: (clip.frame(t) for t in range(n)))
    if not path.exists():
        raise FileNotFoundError(f"replay source not found: {path}")
    if (path / "metadata.yaml").exists():
        return _bag_source(path, max_frames)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:max_frames]
        if not files:
            raise ValueError(f"{path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return Source(name=path.name, K=None, fps=30.0, count=len(files), open=lambda: map(_read_image, files))
    fps, count = _video_info(path)
    count = min(count, max_frames) if count and max_frames else (count or max_frames)
    return Source(name=path.name, K=None, fps=fps, count=count, open=lambda: _read_video(path, max_frames))


def _bag_source(path: Path, max_frames: int | None) -> Source:
    """The images of a rosbag2 folder (the first image topic), with its first CameraInfo's K."""
    from rosbags.rosbag2 import Reader

    from interaction_recon.ros.bag import typestore

    store = typestore()
    kinds = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
    with Reader(path) as reader:
        images = [c for c in reader.connections if c.msgtype in kinds]
        infos = [c for c in reader.connections if c.msgtype == "sensor_msgs/msg/CameraInfo"]
        if not images:
            raise ValueError(f"{path}: the bag has no sensor_msgs/Image or CompressedImage topic")
        K, stamps = None, []
        for conn, _, raw in reader.messages(connections=infos[:1]):
            K = np.asarray(store.deserialize_cdr(raw, conn.msgtype).k, np.float64).reshape(3, 3)
            break
        for conn, _, raw in reader.messages(connections=images[:1]):
            stamp = store.deserialize_cdr(raw, conn.msgtype).header.stamp
            stamps.append(stamp.sec + stamp.nanosec * 1e-9)
    count = len(stamps) if max_frames is None else min(len(stamps), max_frames)
    fps = float(1.0 / np.median(np.diff(stamps))) if len(stamps) > 1 and np.median(np.diff(stamps)) > 0 else 30.0

    def frames():
        with Reader(path) as reader:
            for i, (conn, _, raw) in enumerate(reader.messages(connections=images[:1])):
                if i >= count:
                    return
                msg = store.deserialize_cdr(raw, conn.msgtype)
                decode = image.decode_compressed if conn.msgtype.endswith("CompressedImage") else image.decode_image
                yield decode(msg)

    return Source(name=path.name, K=K if K is not None and K[0, 0] > 0 else None, fps=fps, count=count, open=frames)


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _video_info(path: Path) -> tuple[float, int | None]:
    import cv2  # opencv-python-headless (perception's requirement); imported only for video files

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: OpenCV cannot open this video")
    fps, count = cap.get(cv2.CAP_PROP_FPS) or 30.0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    cap.release()
    return float(fps), count


def _read_video(path: Path, max_frames: int | None):
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    try:
        while max_frames is None or n < max_frames:
            ok, bgr = cap.read()
            if not ok:
                return
            n += 1
            yield np.ascontiguousarray(bgr[:, :, ::-1])
    finally:
        cap.release()


def spin_in_background(executor):
    """Spin ``executor`` on a daemon thread; returns a function that stops it (waits up to 5 s)."""
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.05)

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()

    def halt():
        stop.set()
        spinner.join(5)

    return halt


class Replayer:
    """Publishes ``source`` on ``node`` with a timer at ``rate`` Hz; ``done`` is set at the end."""

    def __init__(self, node, source: Source, rate: float, image_topic: str = "/camera/image_raw",
                 camera_info_topic: str = "/camera/camera_info", frame_id: str = "camera_optical_frame",
                 encoding: str = "rgb8", fov_deg: float = 60.0, loop: bool = False, on_frame=None,
                 max_frames: int | None = None, compressed_topic: str | None = None, clock: str = "wall"):
        """compressed_topic: also publish each frame as JPEG sensor_msgs/CompressedImage there
        (same stamp), e.g. ``<image_topic>/compressed`` as image_transport names it. clock:
        "wall" stamps each frame when it is published (a driver stamping on arrival), "nominal"
        the first frame's time plus n / rate (a camera's own clock: regular even when this
        process is late)."""
        if clock not in ("wall", "nominal"):
            raise ValueError(f"clock must be wall or nominal, got {clock!r}")
        self.clock, self.rate, self._t0 = clock, rate, None
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.node, self.source, self.loop, self.max_frames = node, source, loop, max_frames
        self.frame_id, self.encoding, self.fov_deg = frame_id, encoding, fov_deg
        self.pub_image = node.create_publisher(Image, image_topic, qos)
        self.pub_info = node.create_publisher(CameraInfo, camera_info_topic, qos)
        self.pub_compressed = node.create_publisher(CompressedImage, compressed_topic, qos) if compressed_topic else None
        self.frames = source.open()
        self._pending = None  # a frame read ahead by prime()
        self.published = 0
        self.done = threading.Event()
        self.on_frame = on_frame
        self.timer = node.create_timer(1.0 / rate, self._tick)

    def _next(self):
        try:
            return next(self.frames)
        except StopIteration:
            if not self.loop:
                return None
            self.frames = self.source.open()
            return next(self.frames, None)

    def prime(self) -> None:
        """Publish the first frame's CameraInfo ahead of the replay: a node that has not heard
        one yet drops images (callbacks may run out of publishing order)."""
        self._pending = self._next()
        if self._pending is not None:
            self.pub_info.publish(self._camera_info(self._pending, self.node.get_clock().now().to_msg()))

    def _camera_info(self, rgb: np.ndarray, stamp):
        h, w = rgb.shape[:2]
        K = self.source.K if self.source.K is not None else default_intrinsics(w, h, self.fov_deg)
        return image.camera_info_message(K, w, h, stamp, self.frame_id)

    def _tick(self) -> None:
        if self.done.is_set():
            return
        if self.max_frames is not None and self.published >= self.max_frames:
            rgb = None
        else:
            rgb = self._pending if self._pending is not None else self._next()
        self._pending = None
        if rgb is None:
            self.done.set()
            self.timer.cancel()
            return
        now = self.node.get_clock().now()
        if self.clock == "nominal":
            self._t0 = now.nanoseconds if self._t0 is None else self._t0
            now = type(now)(nanoseconds=self._t0 + round(self.published * 1e9 / self.rate), clock_type=now.clock_type)
        stamp = now.to_msg()
        self.pub_info.publish(self._camera_info(rgb, stamp))
        self.pub_image.publish(image.image_message(rgb, stamp, self.frame_id, self.encoding))
        if self.pub_compressed is not None:
            self.pub_compressed.publish(image.compressed_message(rgb, stamp, self.frame_id))
        self.published += 1
        if self.on_frame is not None:
            self.on_frame(self.published, stamp)


def main(source: str, rate: float, image_topic: str, camera_info_topic: str, frame_id: str, encoding: str = "rgb8",
         fov_deg: float = 60.0, loop: bool = False, scene: str | None = None, max_frames: int | None = None,
         ros_args: list[str] | None = None, wait: float = 5.0) -> int:
    import rclpy
    from rclpy.executors import ExternalShutdownException

    src = open_source(source, scene, max_frames)
    rclpy.init(args=["interaction-recon-replay", "--ros-args", *ros_args] if ros_args else None)
    node = rclpy.create_node("interaction_recon_replay")
    player = None
    try:
        player = Replayer(node, src, rate, image_topic, camera_info_topic, frame_id, encoding, fov_deg, loop,
                          max_frames=max_frames)
        if wait > 0:  # start when someone listens (the node may still be starting), at most `wait` s
            player.timer.cancel()
            deadline = time.monotonic() + wait
            while rclpy.ok() and player.pub_image.get_subscription_count() == 0 and time.monotonic() < deadline:
                rclpy.spin_once(node, timeout_sec=0.05)
            time.sleep(0.2)  # discovery of the camera-info subscription
            player.timer.reset()
        node.get_logger().info(f"replaying {src.name} ({src.count or '?'} frames) at {rate:g} Hz on {image_topic}")
        while rclpy.ok() and not player.done.is_set():
            rclpy.spin_once(node, timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if player is not None:
            print(f"published {player.published} frames", flush=True)
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
