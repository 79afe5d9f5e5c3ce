"""End to end with the real perception and window optimiser: a rendered handshake replayed
into the node; a subscriber gets Humans with both people near ground truth, contacts on the
touching parts, MarkerArrays RViz accepts, and an MCAP bag. Minutes on a CPU: slow-marked."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("rclpy")
pytest.importorskip("interaction_recon_msgs.msg")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    from interaction_recon.config import Config
    from interaction_recon.apps import demo
    from interaction_recon.ros import bag

    out = tmp_path_factory.mktemp("ros_e2e")
    config = Config()
    config.fitting.window, config.fitting.stride = 64, 32  # windows end at frames 63, 95, 127
    summary = demo.run(out, config, frames=152, rate=10.0, timeout=900)
    return out, summary, bag.read_bag(out / "bag")


def test_replay_node_subscriber_two_people_near_ground_truth(replayed):
    out, summary, got = replayed
    assert summary["frames_perceived"] == 152 and summary["drops"] == {}, summary
    # /humans: the causal estimate of every image, at once, with the image's stamp
    causal = got["/humans"]
    assert len(causal) == summary["frames_published"] == 152, summary
    images = [m.header.stamp for m in got["/camera/image_raw/compressed"]]
    assert [(m.header.stamp.sec, m.header.stamp.nanosec) for m in causal] == [(s.sec, s.nanosec) for s in images]
    assert summary["causal"]["frames_with_both"] >= 140 and summary["causal"]["pa_mpjpe_mm"] < 150, summary["causal"]
    # /humans/refined: the first window whole, then 32 new frames per window, oldest first
    humans = got["/humans/refined"]
    assert len(humans) == summary["refined_messages"] == 128, summary
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in humans]
    assert all(b > a for a, b in itertools.pairwise(stamps))
    for m in humans:
        assert len(m.humans) == 2 and len({h.track_id for h in m.humans}) == 2
        for h in m.humans:
            assert len(h.joints) == 24 and len(h.body_pose) == 69 and 0 < h.confidence <= 1
    acc = summary["accuracy"]  # the last window against the clip's ground truth
    assert acc["pa_mpjpe_mm"] < 150 and acc["mpjpe_mm"] < 250, acc
    assert (out / "bodies.png").stat().st_size > 20_000
    assert summary["latency_s"]["p50"] < 1.0  # a replayed clip queues every frame: bounded, not the live target


def test_published_contacts_are_the_reconstructions_and_markers_are_valid(replayed):
    from interaction_recon.fitting.result import Reconstruction
    from interaction_recon.ros import markers

    out, _, got = replayed
    last = Reconstruction.load(out / "results.npz")
    for frame, msg in zip(last.frames[-32:], got["/humans/refined"][-32:]):  # the last window's new frames
        assert {(c.part_a, c.part_b) for c in msg.contacts} == {(c.part_a, c.part_b) for c in last.contacts_at(frame)}
        joints = np.array([[(p.x, p.y, p.z) for p in h.joints] for h in msg.humans])
        np.testing.assert_allclose(joints, last.joints[:, list(last.frames).index(frame)], atol=1e-5)
    assert got["/humans/markers"]
    for array in got["/humans/markers"]:
        assert markers.validate(_to_rclpy(array)) == []
    assert any(m.ns == "mesh" for a in got["/humans/markers"] for m in a.markers)


@pytest.mark.xfail(reason="the window optimiser (issue #5) places the two people ~0.7 m apart in depth on "
                          "this clip, so it reports no contact between them yet", strict=False)
def test_contacts_on_the_touching_parts(replayed):
    _, summary, _ = replayed
    truth = {p.split()[-1] for pair in summary["ground_truth_contacts"] for p in pair.split(" <-> ")}
    reported = {p.split()[-1] for pair in summary["contacts_reported"] for p in pair.split(" <-> ")}
    assert reported & truth, (summary["contacts_reported"], summary["ground_truth_contacts"])


def _to_rclpy(array):
    """A rosbags MarkerArray -> rclpy's, through CDR."""
    from rclpy.serialization import deserialize_message
    from visualization_msgs.msg import MarkerArray

    from interaction_recon.ros import bag

    raw = bag.typestore().serialize_cdr(array, "visualization_msgs/msg/MarkerArray")
    return deserialize_message(bytes(raw), MarkerArray)
