"""interaction_recon_msgs: the .msg definitions, and a Humans round trip through real rclpy.

The rclpy test needs the package built into the venv: `.venv/bin/python scripts/build_msgs.py`.
"""
import os
import re
import time
from pathlib import Path

import pytest

MSG_DIR = Path(__file__).resolve().parent.parent / "ros_ws" / "src" / "interaction_recon_msgs" / "msg"

EXPECTED = {
    "Human": [
        ("string", "track_id"),
        ("string", "body_model"),
        ("float64[3]", "global_orient"),
        ("float64[69]", "body_pose"),
        ("float64[]", "shape"),
        ("float64[3]", "transl"),
        ("geometry_msgs/Point[]", "joints"),
        ("float32[]", "joint_confidence"),
        ("float32", "confidence"),
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
