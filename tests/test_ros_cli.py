"""`interaction-recon replay` publishes a clip as Image + CameraInfo (real subprocess, real
rclpy); `interaction-recon live` hands the params file and --ros-args to the node."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")

from interaction_recon import cli


def tiny_clip(root: Path, T: int = 5, w: int = 40, h: int = 30) -> Path:
    from interaction_recon.synth import dataset

    frames = np.zeros((T, h, w, 3), np.uint8)
    for t in range(T):
        frames[t, :, :, 0] = 40 * t
        frames[t, :, : w // 2, 1] = 200
    K = np.array([[50.0, 0, 20], [0, 50.0, 15], [0, 0, 1]])
    scene = dataset.Scene(name="tiny-0000", meta={"kind": "handshake", "seed": 0, "fps": 30.0, "width": w, "height": h},
                          gt={"K": K, "joints": np.zeros((2, T, 24, 3))}, frames=frames)
    dataset.write_scene(scene, root)
    dataset.write_index(root, [scene])
    return root


def collect(args: list[str], expect: int, timeout: float = 40.0):
    """Run `interaction-recon replay ...` and collect what it publishes."""
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    topic = f"/replay_{os.getpid()}_{int(time.monotonic() * 1000) % 100000}"
    images, infos = [], []
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node("replay_listener", context=ctx)
    node.create_subscription(Image, topic + "/image", images.append, qos_profile_sensor_data)
    node.create_subscription(CameraInfo, topic + "/info", infos.append, qos_profile_sensor_data)
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    cmd = [sys.executable, "-m", "interaction_recon.cli", "replay", *args, "--image-topic", topic + "/image",
           "--camera-info-topic", topic + "/info"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(images) < expect:
            executor.spin_once(timeout_sec=0.05)
            if proc.poll() is not None:
                break
        while proc.poll() is None and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        for _ in range(10):
            executor.spin_once(timeout_sec=0.05)
    finally:
        if proc.poll() is None:
            proc.terminate()
        out = proc.communicate(timeout=10)[0]
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=ctx)
    return proc.returncode, out, images, infos


def test_replay_publishes_a_synthetic_clip_with_its_intrinsics(tmp_path):
    root = tiny_clip(tmp_path / "ds")
    # looping the 3-frame clip, --max-frames ends it after 5 published frames
    code, out, images, infos = collect([str(root), "--rate", "10", "--loop", "--max-frames", "5"], expect=5)
    assert images, out
    assert code == 0 and "published 5 frames" in out, out
    from interaction_recon.ros.image import decode_image, intrinsics

    first = images[0]
    assert (first.width, first.height, first.encoding) == (40, 30, "rgb8")
    assert first.header.frame_id == "camera_optical_frame"
    rgb = decode_image(first)
    assert abs(int(rgb[:, 25, 1].mean()) - 0) < 20 and abs(int(rgb[:, 5, 1].mean()) - 200) < 20  # jpeg
    np.testing.assert_allclose(intrinsics(infos[0]), [[50, 0, 20], [0, 50, 15], [0, 0, 1]])
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in images]
    assert all(b > a for a, b in itertools.pairwise(stamps))
    assert {(i.header.stamp.sec, i.header.stamp.nanosec) for i in infos} >= \
        {(m.header.stamp.sec, m.header.stamp.nanosec) for m in images[1:]}


def test_replay_of_an_image_folder_uses_the_fov_and_ends(tmp_path):
    from PIL import Image as PILImage

    folder = tmp_path / "frames"
    folder.mkdir()
    for t in range(3):
        PILImage.fromarray(np.full((20, 60, 3), 50 * t, np.uint8)).save(folder / f"{t:03d}.png")
    code, out, images, infos = collect([str(folder), "--rate", "20", "--fov", "90", "--encoding", "bgr8"], expect=3)
    assert code == 0, out
    assert "published 3 frames" in out
    assert all(m.encoding == "bgr8" and (m.width, m.height) == (60, 20) for m in images)
    from interaction_recon.ros.image import intrinsics

    np.testing.assert_allclose(intrinsics(infos[-1])[0, 0], 30.0)


def test_replay_of_a_recorded_bag_plays_its_images_with_their_intrinsics(tmp_path):
    """A bag the demo's recorder would write (images + CameraInfo) replays like a camera."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    from interaction_recon.ros import bag
    from interaction_recon.ros.image import decode_image, intrinsics

    store = bag.typestore()
    Image, CameraInfo = store.types["sensor_msgs/msg/Image"], store.types["sensor_msgs/msg/CameraInfo"]
    Header, Time = store.types["std_msgs/msg/Header"], store.types["builtin_interfaces/msg/Time"]
    RoI = store.types["sensor_msgs/msg/RegionOfInterest"]
    with Writer(tmp_path / "bag", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        img = writer.add_connection("/camera/image_raw", Image.__msgtype__, typestore=store)
        info = writer.add_connection("/camera/camera_info", CameraInfo.__msgtype__, typestore=store)
        for t in range(4):
            header = Header(stamp=Time(sec=100, nanosec=t * 100_000_000), frame_id="cam")
            k = np.array([50.0, 0, 20, 0, 50.0, 15, 0, 0, 1])
            writer.write(info, t, store.serialize_cdr(CameraInfo(
                header=header, height=30, width=40, distortion_model="plumb_bob", d=np.zeros(5), k=k,
                r=np.eye(3).ravel(), p=np.zeros(12), binning_x=0, binning_y=0,
                roi=RoI(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)), CameraInfo.__msgtype__))
            data = np.full((30, 40, 3), 60 * t, np.uint8)
            writer.write(img, t, store.serialize_cdr(Image(header=header, height=30, width=40, encoding="rgb8",
                                                           is_bigendian=0, step=120, data=data.ravel()),
                                                     Image.__msgtype__))
    code, out, images, infos = collect([str(tmp_path / "bag"), "--rate", "20"], expect=4)
    assert code == 0 and "published 4 frames" in out, out
    assert [int(decode_image(m)[0, 0, 0]) for m in images] == [60 * t for t in range(4)][-len(images):]
    np.testing.assert_allclose(intrinsics(infos[-1]), [[50, 0, 20], [0, 50, 15], [0, 0, 1]])


def test_the_demo_recording_path_keeps_jpeg_images_that_replay(tmp_path):
    """Replayer with a compressed topic and nominal stamps -> BagRecorder (as the demo wires
    them) -> the bag's JPEG CompressedImages replay as the same frames."""
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import CameraInfo, CompressedImage

    from interaction_recon.ros import bag, replay
    from interaction_recon.ros.image import decode_image

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    node = rclpy.create_node("demo_recording", context=ctx)
    prefix = f"/rec_{os.getpid()}"
    frames = [np.full((30, 40, 3), 60 * t, np.uint8) for t in range(4)]
    source = replay.Source(name="four", K=np.array([[50.0, 0, 20], [0, 50.0, 15], [0, 0, 1]]), fps=20.0, count=4,
                           open=lambda: iter(frames))
    recorder = bag.BagRecorder(node, tmp_path / "bag", {prefix + "/image/compressed": CompressedImage,
                                                         prefix + "/info": CameraInfo})
    executor = SingleThreadedExecutor(context=ctx)
    executor.add_node(node)
    try:
        player = replay.Replayer(node, source, 20.0, prefix + "/image", prefix + "/info",
                                 compressed_topic=prefix + "/image/compressed", clock="nominal")
        deadline = time.monotonic() + 20
        while not player.done.is_set() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        for _ in range(20):
            executor.spin_once(timeout_sec=0.05)
        counts = recorder.close()
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=ctx)
    assert counts[prefix + "/image/compressed"] == 4, counts
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
              for m in bag.read_bag(tmp_path / "bag")[prefix + "/image/compressed"]]
    assert np.diff(stamps).tolist() == [50_000_000] * 3  # the camera's own clock: exactly 1 / rate apart
    code, out, images, infos = collect([str(tmp_path / "bag"), "--rate", "20"], expect=4)
    assert code == 0 and "published 4 frames" in out, out
    assert [int(decode_image(m)[0, 0, 0]) for m in images] == pytest.approx([60 * t for t in range(4)][-len(images):], abs=3)


def test_replay_reports_a_missing_source_without_a_traceback(tmp_path, capsys):
    assert cli.main(["replay", str(tmp_path / "nope.mp4")]) == 2
    err = capsys.readouterr().err
    assert "nope.mp4" in err and "Traceback" not in err


def test_live_passes_the_params_file_and_ros_args_to_the_node(monkeypatch, tmp_path):
    from interaction_recon.ros import node

    seen = {}
    monkeypatch.setattr(node, "main", lambda args, config: seen.update(args=args, config=config) or 0)
    assert cli.main(["live", "--ros-args", "-p", "fitting.stride:=16", "-r", "__node:=x"]) == 0
    assert seen["args"][:3] == ["interaction-recon", "--ros-args", "--params-file"]
    assert seen["args"][3].endswith("config/live.yaml") and seen["args"][4:] == ["-p", "fitting.stride:=16", "-r",
                                                                                  "__node:=x"]
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps({"body": {"device": "cuda"}}))
    assert cli.main(["live", "--params", "my.yaml", "--config", str(cfg)]) == 0
    assert seen["args"] == ["interaction-recon", "--ros-args", "--params-file", "my.yaml"]
    assert seen["config"].body.device == "cuda"
