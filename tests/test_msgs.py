"""interaction_recon_msgs: the .msg definitions, and a Humans round trip through real rclpy.
The upstream tf2_msgs / hri_msgs mirrors (ros_ws/upstream): definitions, import + serialization
in a fresh venv interpreter, and their CDR read back by the rosbags typestore.

The rclpy tests need the packages built into the venv: `.venv/bin/python scripts/build_msgs.py`.
"""
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROS_WS = Path(__file__).resolve().parent.parent / "ros_ws"
MSG_DIR = ROS_WS / "src" / "interaction_recon_msgs" / "msg"
UPSTREAM = ROS_WS / "upstream"

EXPECTED = {
    "Human": [
        ("string", "track_id"),
        ("string", "body_model"),
        ("float64[3]", "global_orient"),
        ("float64[69]", "body_pose"),
        ("string", "shape_space"),
        ("float64[]", "shape"),
        ("float64[3]", "transl"),
        ("string[]", "joint_names"),
        ("geometry_msgs/Point[]", "joints"),
        ("float32[]", "joint_confidence"),
        ("float32", "confidence"),
        ("float32", "position_error"),
        ("geometry_msgs/Vector3", "velocity"),
        ("uint8", "depth_rank"),
    ],
    "Contact": [
        ("string", "part_a"),
        ("string", "part_b"),
        ("string", "track_id_a"),
        ("string", "track_id_b"),
        ("geometry_msgs/Point", "point"),
        ("float32", "distance"),
        ("float32", "confidence"),
    ],
    "Humans": [
        ("uint8", "estimate"),
        ("std_msgs/Header", "header"),
        ("builtin_interfaces/Time", "window_start"),
        ("builtin_interfaces/Time", "window_end"),
        ("Human[]", "humans"),
        ("bool", "contact_evidence"),
        ("Contact[]", "contacts"),
    ],
}


def parse_fields(text):
    """(type, name) of each field line, ignoring comments and blank lines."""
    fields = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line and "=" not in line:  # constants (uint8 NAME=value) are not fields
            m = re.fullmatch(r"(\S+)\s+(\w+)", line)
            assert m, f"unexpected line {line!r}"
            fields.append((m.group(1), m.group(2)))
    return fields


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_msg_definition(name):
    text = (MSG_DIR / f"{name}.msg").read_text()
    assert parse_fields(text) == EXPECTED[name]
    lines = text.splitlines()
    for i, line in enumerate(lines):  # each field has a comment line right above it
        if line.strip() and not line.startswith("#"):
            assert i > 0 and lines[i - 1].startswith("#"), f"{name}.{line}: no comment"


def test_msg_definitions_parse_with_rosidl():
    from rosidl_adapter import parser

    for name, fields in EXPECTED.items():
        spec = parser.parse_message_string("interaction_recon_msgs", name,
                                           (MSG_DIR / f"{name}.msg").read_text())
        assert [f.name for f in spec.fields] == [n for _, n in fields]


def _humans_message(Humans, Human, Contact, Point, Time):
    msg = Humans()
    msg.header.frame_id = "camera"
    msg.header.stamp = Time(sec=12, nanosec=500)
    msg.window_start = Time(sec=11, nanosec=0)
    msg.window_end = Time(sec=13, nanosec=1000)
    msg.contact_evidence = True
    for k, tid in enumerate(["person_a", "person_b"]):
        h = Human()
        h.track_id = tid
        h.body_model = "smpl"
        h.global_orient = [0.1 * (k + 1), 0.2, 0.3]
        h.body_pose = [0.01 * i + k for i in range(69)]
        h.shape = [0.5 * k] * 10
        h.transl = [float(k), 1.0, 3.0]
        h.joints = [Point(x=float(j), y=k + 0.5, z=-float(j)) for j in range(24)]
        h.joint_confidence = [0.5 + 0.01 * j for j in range(24)]
        h.confidence = 0.9 - 0.1 * k
        msg.humans.append(h)
    msg.contacts = [Contact(part_a="right hand", part_b="left shoulder", track_id_a="person_a",
                            track_id_b="person_b", point=Point(x=0.1, y=0.2, z=2.5),
                            distance=0.004, confidence=0.75)]
    return msg


def test_humans_round_trip_through_rclpy():
    from interaction_recon_msgs.msg import Contact, Human, Humans  # built by scripts/bootstrap.sh

    import numpy as np
    import rclpy
    from builtin_interfaces.msg import Time
    from geometry_msgs.msg import Point
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    assert os.environ.get("ROS_DOMAIN_ID")  # set per test run by conftest.py
    sent = _humans_message(Humans, Human, Contact, Point, Time)
    received = []
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("interaction_recon_msgs_test", context=context)
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        topic = f"/interaction_recon_msgs_test_{os.getpid()}"
        node.create_subscription(Humans, topic, received.append, qos)
        pub = node.create_publisher(Humans, topic, qos)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        deadline = time.monotonic() + 6.0
        while not received and time.monotonic() < deadline:
            pub.publish(sent)
            executor.spin_once(timeout_sec=0.1)
        executor.shutdown()
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)

    assert received, "no Humans message received within 6 s"
    got = received[0]
    assert isinstance(got, Humans) and got is not sent
    assert got.header.frame_id == "camera"
    assert (got.header.stamp.sec, got.header.stamp.nanosec) == (12, 500)
    assert (got.window_start.sec, got.window_end.sec, got.window_end.nanosec) == (11, 13, 1000)
    assert got.contact_evidence is True
    assert [h.track_id for h in got.humans] == ["person_a", "person_b"]
    for k, h in enumerate(got.humans):
        assert h.body_model == "smpl"
        np.testing.assert_allclose(h.global_orient, [0.1 * (k + 1), 0.2, 0.3])
        assert len(h.body_pose) == 69
        np.testing.assert_allclose(h.body_pose, [0.01 * i + k for i in range(69)])
        np.testing.assert_allclose(h.shape, [0.5 * k] * 10)
        np.testing.assert_allclose(h.transl, [float(k), 1.0, 3.0])
        assert len(h.joints) == 24 and len(h.joint_confidence) == 24
        assert [(p.x, p.y, p.z) for p in h.joints] == [(float(j), k + 0.5, -float(j)) for j in range(24)]
        np.testing.assert_allclose(h.joint_confidence, [0.5 + 0.01 * j for j in range(24)], rtol=1e-6)
        assert h.confidence == pytest.approx(0.9 - 0.1 * k, rel=1e-6)
    assert len(got.contacts) == 1
    c = got.contacts[0]
    assert (c.part_a, c.part_b, c.track_id_a, c.track_id_b) == (
        "right hand", "left shoulder", "person_a", "person_b")
    assert (c.point.x, c.point.y, c.point.z) == (0.1, 0.2, 2.5)
    assert c.distance == pytest.approx(0.004, rel=1e-6)
    assert c.confidence == pytest.approx(0.75)


# Upstream definitions (ros2/geometry2 tf2_msgs, ros4hri/hri_msgs ROS 2): types, names and
# order must match them for the messages to be the same on the wire.
UPSTREAM_EXPECTED = {
    "tf2_msgs/TFMessage": [("geometry_msgs/TransformStamped[]", "transforms")],
    "hri_msgs/IdsList": [("std_msgs/Header", "header"), ("string[]", "ids")],
    "hri_msgs/NormalizedPointOfInterest2D": [("float32", "x"), ("float32", "y"), ("float32", "c")],
    "hri_msgs/NormalizedRegionOfInterest2D": [
        ("std_msgs/Header", "header"), ("float32", "xmin"), ("float32", "ymin"),
        ("float32", "xmax"), ("float32", "ymax"), ("float32", "c")],
    "hri_msgs/Skeleton2D": [("std_msgs/Header", "header"),
                            ("NormalizedPointOfInterest2D[18]", "skeleton")],
}
SKELETON_CONSTANTS = [
    "NOSE", "NECK", "RIGHT_SHOULDER", "RIGHT_ELBOW", "RIGHT_WRIST", "LEFT_SHOULDER",
    "LEFT_ELBOW", "LEFT_WRIST", "RIGHT_HIP", "RIGHT_KNEE", "RIGHT_ANKLE", "LEFT_HIP",
    "LEFT_KNEE", "LEFT_ANKLE", "LEFT_EYE", "RIGHT_EYE", "LEFT_EAR", "RIGHT_EAR"]


def test_upstream_msg_definitions():
    from rosidl_adapter import parser

    for pkg in ("tf2_msgs", "hri_msgs"):
        found = sorted(f"{pkg}/{f.stem}" for f in (UPSTREAM / pkg / "msg").glob("*.msg"))
        assert found == sorted(k for k in UPSTREAM_EXPECTED if k.startswith(pkg + "/"))
        assert (UPSTREAM / pkg / "package.xml").is_file()
    for key, fields in UPSTREAM_EXPECTED.items():
        pkg, name = key.split("/")
        text = (UPSTREAM / pkg / "msg" / f"{name}.msg").read_text()
        assert parse_fields(text) == fields
        spec = parser.parse_message_string(pkg, name, text)
        assert [f.name for f in spec.fields] == [n for _, n in fields]
        if name == "Skeleton2D":
            assert [(c.type, c.name, c.value) for c in spec.constants] == [
                ("uint8", n, i) for i, n in enumerate(SKELETON_CONSTANTS)]
        else:
            assert spec.constants == []
    assert (UPSTREAM / "COLCON_IGNORE").exists()  # colcon users take the system packages


UPSTREAM_ROUND_TRIP = textwrap.dedent("""
    from builtin_interfaces.msg import Time
    from geometry_msgs.msg import TransformStamped
    from hri_msgs.msg import IdsList, NormalizedPointOfInterest2D, NormalizedRegionOfInterest2D, Skeleton2D
    from rclpy.serialization import deserialize_message, serialize_message
    from tf2_msgs.msg import TFMessage

    def rt(msg):
        data = serialize_message(msg)
        assert isinstance(data, bytes) and data
        out = deserialize_message(data, type(msg))
        assert type(out) is type(msg) and out is not msg
        return out

    t = TransformStamped(child_frame_id="person_a/pelvis")
    t.header.frame_id = "camera"
    t.header.stamp = Time(sec=3, nanosec=7)
    t.transform.translation.x = 1.5
    t.transform.rotation.w = 1.0
    tf = rt(TFMessage(transforms=[t, TransformStamped(child_frame_id="b")]))
    assert [x.child_frame_id for x in tf.transforms] == ["person_a/pelvis", "b"]
    assert tf.transforms[0].header.frame_id == "camera"
    assert (tf.transforms[0].header.stamp.sec, tf.transforms[0].header.stamp.nanosec) == (3, 7)
    assert tf.transforms[0].transform.translation.x == 1.5

    ids = IdsList(ids=["body_a", "body_b"])
    ids.header.stamp = Time(sec=5)
    got = rt(ids)
    assert got.ids == ["body_a", "body_b"] and got.header.stamp.sec == 5
    assert rt(IdsList()).ids == []

    roi = rt(NormalizedRegionOfInterest2D(xmin=0.25, ymin=0.5, xmax=0.75, ymax=1.0, c=0.5))
    assert (roi.xmin, roi.ymin, roi.xmax, roi.ymax, roi.c) == (0.25, 0.5, 0.75, 1.0, 0.5)

    expected = {NAMES!r}
    assert [getattr(Skeleton2D, n) for n in expected] == list(range(18))
    sk = Skeleton2D()
    assert len(sk.skeleton) == 18
    assert all(isinstance(p, NormalizedPointOfInterest2D) for p in sk.skeleton)
    sk.header.frame_id = "camera"
    sk.skeleton[Skeleton2D.LEFT_WRIST] = NormalizedPointOfInterest2D(x=0.125, y=0.875, c=0.5)
    sk.skeleton[Skeleton2D.RIGHT_EAR].x = 0.75
    got = rt(sk)
    assert len(got.skeleton) == 18 and got.header.frame_id == "camera"
    p = got.skeleton[7]
    assert (p.x, p.y, p.c) == (0.125, 0.875, 0.5)
    assert got.skeleton[17].x == 0.75 and got.skeleton[0].c == 0.0
    print("ok")
""").replace("{NAMES!r}", repr(SKELETON_CONSTANTS))


def test_upstream_msgs_import_and_round_trip_in_fresh_interpreter():
    # As a user runs it: .venv/bin/python, library path set up by the ROS wheels' bootstrapper.
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_LIBRARY_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE", "AMENT_PREFIX_PATH")}
    proc = subprocess.run([sys.executable, "-c", UPSTREAM_ROUND_TRIP], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("ok")
    # Only the messages go into the venv, not tf2_ros (TfOut then publishes TFMessage on /tf).
    import importlib.util

    spec = importlib.util.find_spec("tf2_ros")
    assert spec is None or not str(spec.origin).startswith(sys.prefix)


def test_typestore_reads_rclpy_cdr_of_upstream_msgs():
    from builtin_interfaces.msg import Time
    from geometry_msgs.msg import TransformStamped
    from hri_msgs.msg import IdsList, Skeleton2D
    from rclpy.serialization import serialize_message
    from tf2_msgs.msg import TFMessage

    from interaction_recon.ros import bag

    store = bag.typestore()
    ids = IdsList(ids=["face_1", "face_22"])
    ids.header.frame_id = "camera"
    ids.header.stamp = Time(sec=9, nanosec=11)
    got = store.deserialize_cdr(serialize_message(ids), "hri_msgs/msg/IdsList")
    assert got.ids == ["face_1", "face_22"] and got.header.frame_id == "camera"
    assert (got.header.stamp.sec, got.header.stamp.nanosec) == (9, 11)

    t = TransformStamped(child_frame_id="person_b/head")
    t.header.frame_id = "camera"
    t.transform.translation.z = 2.5
    t.transform.rotation.w = 1.0
    got = store.deserialize_cdr(serialize_message(TFMessage(transforms=[t])),
                                "tf2_msgs/msg/TFMessage")
    assert [x.child_frame_id for x in got.transforms] == ["person_b/head"]
    assert got.transforms[0].header.frame_id == "camera"
    assert got.transforms[0].transform.translation.z == 2.5

    sk = Skeleton2D()
    sk.skeleton[Skeleton2D.NECK].y = 0.5
    got = store.deserialize_cdr(serialize_message(sk), "hri_msgs/msg/Skeleton2D")
    assert len(got.skeleton) == 18 and got.skeleton[1].y == 0.5
    # and back: what rosbags writes (e.g. in a recorded bag) rclpy reads
    from rclpy.serialization import deserialize_message
    raw = store.serialize_cdr(store.deserialize_cdr(serialize_message(ids), "hri_msgs/msg/IdsList"),
                              "hri_msgs/msg/IdsList")
    assert deserialize_message(bytes(raw), IdsList).ids == ["face_1", "face_22"]
