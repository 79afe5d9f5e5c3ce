"""REP-155 from outside: `interaction-recon live` (real perception and causal estimate) fed by
`interaction-recon replay` of a rendered two-person clip, heard by a plain rclpy subscriber
process that imports only message packages. Two node starts, about a minute."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")
pytest.importorskip("interaction_recon_msgs.msg")
pytest.importorskip("hri_msgs.msg")
pytest.importorskip("tf2_msgs.msg")

BIN = Path(sys.executable).parent
FRAMES = 40

SUBSCRIBER = textwrap.dedent('''
    import json, signal, sys, time
    import rclpy
    from hri_msgs.msg import IdsList, Skeleton2D
    from interaction_recon_msgs.msg import Humans
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from tf2_msgs.msg import TFMessage

    out, seconds = sys.argv[1], float(sys.argv[2])
    rclpy.init()
    node = rclpy.create_node("rep155_listener")
    qos = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
    got = {"humans": [], "tracked": [], "tf": [], "skeleton2d": {}}
    stamp = lambda h: [h.stamp.sec, h.stamp.nanosec]

    def humans(msg):
        got["humans"].append({"stamp": stamp(msg.header), "frame": msg.header.frame_id, "people": [
            {"id": h.track_id, "hips": [(getattr(h.joints[1], a) + getattr(h.joints[2], a)) / 2 for a in "xyz"],
             "joint_confidence": list(map(float, h.joint_confidence))} for h in msg.humans]})

    def tracked(msg):
        got["tracked"].append({"stamp": stamp(msg.header), "ids": list(msg.ids)})
        for body in msg.ids:
            if body not in got["skeleton2d"]:
                got["skeleton2d"][body] = []
                node.create_subscription(Skeleton2D, f"/humans/bodies/{body}/skeleton2d",
                                         lambda m, b=body: got["skeleton2d"][b].append(
                                             [[p.x, p.y, p.c] for p in m.skeleton]), qos)

    def tf(msg):
        for t in msg.transforms:
            if t.child_frame_id.startswith("body_") and t.child_frame_id.count("_") == 1:
                v = t.transform.translation
                got["tf"].append({"stamp": stamp(t.header), "parent": t.header.frame_id,
                                  "child": t.child_frame_id, "xyz": [v.x, v.y, v.z]})

    node.create_subscription(Humans, "/humans", humans, qos)
    node.create_subscription(IdsList, "/humans/bodies/tracked", tracked, qos)
    node.create_subscription(TFMessage, "/tf", tf, QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop:
        rclpy.spin_once(node, timeout_sec=0.05)
    json.dump(got, open(out, "w"))
''')


@pytest.fixture(scope="module")
def clip():
    """The demo's rendered handshake (rendered once into the cache)."""
    from interaction_recon.config import Config
    from interaction_recon.paths import cache_dir
    from interaction_recon.apps import demo

    scene, _ = demo.clip("handshake", 0, 256, FRAMES, Config())
    return cache_dir() / "synth" / "ros-demo" / scene.name


def listen(clip: Path, tmp: Path, run: int) -> dict:
    """One node start: replay FRAMES frames at 10 Hz and return what the listener heard."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out = tmp / f"heard-{run}.json"
    log = open(tmp / f"node-{run}.log", "w")
    node = subprocess.Popen([str(BIN / "interaction-recon"), "live", "--ros-args", "-p", "ros.refine_process:=false",
                             "-p", "fitting.window:=512"], env=env, stdout=log, stderr=subprocess.STDOUT)
    listener = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, str(out), "60"], env=env)
    try:
        camera = subprocess.run([str(BIN / "interaction-recon"), "replay", str(clip), "--rate", "10",
                                 "--max-frames", str(FRAMES), "--wait", "40"], env=env, capture_output=True,
                                text=True, timeout=120)
        assert camera.returncode == 0, camera.stdout + camera.stderr
        time.sleep(3)  # the last estimates
    finally:
        node.send_signal(2)
        node.wait(timeout=20)
        listener.terminate()
        listener.wait(timeout=20)
        log.close()
    if not out.exists():
        pytest.fail(f"the listener wrote nothing; node log: {(tmp / f'node-{run}.log').read_text()[-2000:]}")
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def heard(clip, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rep155")
    return [listen(clip, tmp, run) for run in range(2)]


def test_tracked_ids_match_the_aggregate_message_and_tf_sits_on_the_pelvis(heard):
    got = heard[0]
    assert len(got["humans"]) >= FRAMES - 5, len(got["humans"])
    by_stamp = {tuple(m["stamp"]): m for m in got["humans"]}
    both = [t for t in got["tracked"] if len(t["ids"]) == 2]
    assert len(both) >= FRAMES // 2, got["tracked"]
    for t in got["tracked"]:
        assert sorted(t["ids"]) == sorted(p["id"] for p in by_stamp[tuple(t["stamp"])]["people"])
    assert len({i for t in both for i in t["ids"]}) == 2  # the same two ids throughout
    frames = [tf for tf in got["tf"]]
    assert len(frames) >= len(both)
    for tf in frames:
        m = by_stamp[tuple(tf["stamp"])]
        person = next(p for p in m["people"] if "body_" + p["id"] == tf["child"])
        assert tf["parent"] == m["frame"]
        assert np.linalg.norm(np.subtract(tf["xyz"], person["hips"])) < 0.01  # m


def test_skeleton2d_is_normalised_and_joint_confidence_varies(heard):
    got = heard[0]
    points = np.array([p for pts in got["skeleton2d"].values() for msg in pts for p in msg])
    assert len(points) >= 18 * FRAMES // 2
    assert (points[:, :2] >= 0).all() and (points[:, :2] <= 1).all() and (points[:, 2] >= 0).all()
    assert (points[:, 2] > 0.5).mean() > 0.5  # mostly seen
    spread = [np.ptp(p["joint_confidence"]) for m in got["humans"] for p in m["people"]]
    assert max(spread) > 0.05  # not one number copied to all 24 joints


def test_ids_differ_across_node_starts(heard):
    first, second = ({i for t in h["tracked"] for i in t["ids"]} for h in heard)
    assert first and second and not first & second
