"""The interaction_recon node on real rclpy: the causal estimate per image on /humans, refined
windows per stride on /humans/refined, exact stamps, bad input, missing camera info, bursts,
backpressure, frame accounting, diagnostics levels, shutdown. Perception, the window stream
and the estimator are small real objects defined here (fixed people, a buffer with a
controllable fit delay) so that the node's own behaviour is what is pinned;
tests/test_ros_e2e.py runs the real ones."""
from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
pytest.importorskip("interaction_recon_msgs.msg")

from interaction_recon.config import Config
from interaction_recon.fitting.result import Contact, Reconstruction
from interaction_recon.perception.types import PeopleFrame
from interaction_recon.ros import markers

W, H = 64, 48
K = np.array([[60.0, 0, 32], [0, 60.0, 24], [0, 0, 1]])


class FixedPerception:
    """Sees ``count`` people (0, 1, 2, or more: extra ones are 'ignored') after ``delay`` s."""

    def __init__(self, count: int = 2, delay: float = 0.0, fail_on_black: bool = False):
        self.count, self.delay, self.fail_on_black, self.calls = count, delay, fail_on_black, 0

    def __call__(self, rgb):
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        if self.fail_on_black and not rgb.any():
            raise RuntimeError("cannot see anything")
        time.sleep(self.delay)
        self.calls += 1
        present = np.arange(2) < self.count
        boxes = np.where(present[:, None], np.array([[5, 5, 30, 45], [34, 5, 60, 45]], float), np.nan)
        return PeopleFrame(index=self.calls - 1, boxes=boxes, keypoints=np.zeros((2, 33, 2)),
                      confidence=np.where(present[:, None], 0.9, 0.0) * np.ones((2, 33)), present=present,
                      track_ids=np.where(present, [7, 9], -1).astype(np.int64), masks=None,
                           ignored=max(0, self.count - 2))


class BufferStream:
    """WindowStream's contract: add() buffers, returns a job every ``stride`` frames once
    ``window`` are in; fit() sleeps ``delay`` and returns a Reconstruction of the window."""

    def __init__(self, window: int = 8, stride: int = 4, delay: float = 0.0):
        self.window, self.stride, self.delay = window, stride, delay
        self.cancelled = threading.Event()
        self.frames: list = []
        self.added = 0
        self.fitted: list = []

    def add(self, people, stamp, K, image=None):
        assert K.shape == (3, 3)
        self.frames = (self.frames + [(self.added, stamp, people, K.copy())])[-self.window:]
        self.added += 1
        if len(self.frames) == self.window and (self.added - self.window) % self.stride == 0:
            return list(self.frames)
        return None

    def fit(self, job):
        if self.cancelled.wait(self.delay):
            raise RuntimeError("abandoned")
        self.fitted.append(job[-1][1])
        result = reconstruction(job)
        result.floor = FLOOR
        return result

    def cancel(self):
        self.cancelled.set()


FLOOR = np.array([0.0, -1.0, 0.0, 1.5])  # the refined windows' floor: 1.5 m below a level camera


class FixedEstimator:
    """The per-frame estimator's contract: update() -> a one-frame Reconstruction of the
    frame's people (no contacts); anchor() counts the refined windows it was given."""

    def __init__(self):
        self.anchors = 0

    def update(self, people, stamp, K):
        result = reconstruction([(people.index, stamp, people, K)])
        result.contacts = []
        return result

    def anchor(self, result):
        self.anchors += 1


def reconstruction(job) -> Reconstruction:
    T = len(job)
    present = np.stack([j[2].present for j in job], 1)  # [2, T]
    joints = np.zeros((2, T, 24, 3), np.float32)
    rng = np.random.default_rng(0)
    template = rng.normal(0, 0.3, (24, 3)).astype(np.float32)
    for p in range(2):
        joints[p] = template + np.array([-0.4 + 0.8 * p, 0.0, 3.0], np.float32)
    joints[~present] = np.nan
    frames = np.array([j[0] for j in job])
    return Reconstruction(
        frames=frames, stamps=np.array([j[1] for j in job]), global_orient=np.tile([np.pi, 0, 0], (2, T, 1)),
        body_pose=np.zeros((2, T, 23, 3)), transl=np.zeros((2, T, 3)), shape=np.full((2, 6), 0.5),
        joints=joints, confidence=present * 0.9, track_ids=job[-1][2].track_ids, K=job[-1][3], fps=30.0,
        body_model="anny",
        contacts=[Contact(int(f), "right hand", "right hand", [0.0, 0.1, 3.0], 0.01, 0.8) for f in frames[-2:]]
        if present[:, -1].all() else [])


class Harness:
    """One rclpy context: the node under test and a client node, spun on a background thread."""

    def __init__(self, perception, stream, estimator=None, **ros):
        from diagnostic_msgs.msg import DiagnosticArray
        from interaction_recon_msgs.msg import Humans
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, Image
        from visualization_msgs.msg import MarkerArray

        from interaction_recon.ros.node import InteractionReconNode

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        suffix = f"t{os.getpid()}_{id(self)}"
        self.topics = {"image": f"/{suffix}/image", "info": f"/{suffix}/camera_info", "humans": f"/{suffix}/humans",
                       "markers": f"/{suffix}/markers", "diag": f"/{suffix}/diagnostics",
                       "refined": f"/{suffix}/humans/refined"}
        overrides = [Parameter("ros.image_topic", value=self.topics["image"]),
                     Parameter("ros.camera_info_topic", value=self.topics["info"]),
                     Parameter("ros.humans_topic", value=self.topics["humans"]),
                     Parameter("ros.humans_refined_topic", value=self.topics["refined"]),
                     Parameter("ros.markers_topic", value=self.topics["markers"]),
                     Parameter("ros.diagnostics_topic", value=self.topics["diag"]),
                     Parameter("ros.diagnostics_period", value=0.2),
                     Parameter("ros.mesh_every", value=0),
                     Parameter("ros.publish_tf", value=False)]
        overrides += [Parameter(f"ros.{k}", value=v) for k, v in ros.items()]
        self.node = InteractionReconNode(Config(), perception, stream, estimator or FixedEstimator(),
                                         context=self.context,
                                         parameter_overrides=overrides, node_name=f"interaction_recon_{suffix}")
        self.client = rclpy.create_node(f"client_{suffix}", context=self.context)
        qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        self.humans, self.refined, self.markers, self.diag = [], [], [], []
        self.client.create_subscription(Humans, self.topics["humans"], self.humans.append, qos)
        self.client.create_subscription(Humans, self.topics["refined"], self.refined.append,
                                        QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE))
        self.client.create_subscription(MarkerArray, self.topics["markers"], self.markers.append, qos)
        self.client.create_subscription(DiagnosticArray, self.topics["diag"], self.diag.append, qos)
        self.pub_image = self.client.create_publisher(Image, self.topics["image"], qos)
        self.pub_info = self.client.create_publisher(CameraInfo, self.topics["info"], qos)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.client)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()
        wait_for(lambda: self.pub_image.get_subscription_count() and self.pub_info.get_subscription_count(), 5)

    def _spin(self):
        while not self.stop.is_set():
            self.executor.spin_once(timeout_sec=0.05)

    def info(self):
        from interaction_recon.ros.image import camera_info_message

        self.pub_info.publish(camera_info_message(K, W, H))

    def image(self, stamp: float, rgb=None, encoding="rgb8", **fields):
        from interaction_recon.ros.convert import to_time
        from interaction_recon.ros.image import image_message

        rgb = np.full((H, W, 3), 120, np.uint8) if rgb is None else rgb
        msg = image_message(rgb, to_time(stamp), "cam")
        msg.encoding = encoding
        for k, v in fields.items():
            setattr(msg, k, v)
        self.pub_image.publish(msg)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.executor.shutdown()
        self.node.destroy_node()
        self.client.destroy_node()
        rclpy.shutdown(context=self.context)


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


@pytest.fixture
def harness():
    made = []

    def make(perception=None, stream=None, **ros):
        h = Harness(perception or FixedPerception(), stream or BufferStream(), **ros)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def feed(h, stamps, period=0.01, **kw):
    for s in stamps:
        h.image(float(s), **kw)
        time.sleep(period)


def test_node_publishes_two_people_with_contacts_every_stride(harness):
    from interaction_recon_msgs.msg import Humans

    h = harness()
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    feed(h, 1.0 + np.arange(16) / 30)  # window 8, stride 4 -> windows at frames 8, 12, 16
    assert wait_for(lambda: len(h.refined) >= 16 and len(h.humans) >= 16, 10), h.node.snapshot()
    # /humans: the causal estimate of every image, in order
    assert [m.estimate for m in h.humans] == [Humans.ESTIMATE_CAUSAL] * 16
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in h.humans]
    np.testing.assert_allclose(stamps, 1.0 + np.arange(16) / 30, atol=1e-6)
    assert [x.track_id for x in h.humans[-1].humans] == [h.node.body_ids(7), h.node.body_ids(9)] and not h.humans[-1].contact_evidence
    # /humans/refined, publish_frames "new": the first window whole, then each window's 4 new frames
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in h.refined]
    np.testing.assert_allclose(stamps, 1.0 + np.arange(16) / 30, atol=1e-6)
    assert len(h.refined) == 16
    msg = h.refined[-1]
    assert msg.estimate == Humans.ESTIMATE_REFINED
    assert [x.track_id for x in msg.humans] == [h.node.body_ids(7), h.node.body_ids(9)]
    assert msg.header.frame_id == "cam"
    assert abs(msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9 - (1.0 + 15 / 30)) < 1e-6
    assert abs(msg.window_start.sec + msg.window_start.nanosec * 1e-9 - (1.0 + 8 / 30)) < 1e-6
    assert len(msg.contacts) == 1 and msg.contacts[0].part_a == "right hand"
    assert (msg.contacts[0].track_id_a, msg.contacts[0].track_id_b) == (h.node.body_ids(7), h.node.body_ids(9))
    assert wait_for(lambda: len(h.markers) >= 3, 5)
    for array in h.markers:
        assert markers.validate(array) == []
    assert wait_for(lambda: h.diag, 3)
    values = {kv.key: kv.value for kv in h.diag[-1].status[0].values}
    assert values["intrinsics"] == "camera_info" and "latency_p50_s" in values and "fps_in" in values
    assert wait_for(lambda: h.node.snapshot()["counts"].get("windows_published", 0) >= 3, 3)
    snap = h.node.snapshot()
    assert snap["drops_total"] == 0
    assert snap["latency_s"]["max"] < 5
    assert wait_for(lambda: h.node.pipeline.estimator.anchors >= 2, 3)  # re-anchored on the refined windows


def test_output_stamps_are_the_image_stamps_exactly(harness):
    """A float round trip of a 2026 stamp loses up to ~240 ns: the messages must carry the
    image's own (sec, nanosec) on both topics."""
    from interaction_recon.ros.convert import to_seconds

    h = harness()
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    sent = [(1_796_000_000 + i // 3, 123_456_789 + 333_333_331 * (i % 3)) for i in range(12)]
    from builtin_interfaces.msg import Time

    for sec, nanosec in sent:
        msg = __import__("interaction_recon.ros.image", fromlist=["image_message"]).image_message(
            np.full((H, W, 3), 120, np.uint8), Time(sec=sec, nanosec=nanosec), "cam")
        h.pub_image.publish(msg)
        time.sleep(0.01)
    assert wait_for(lambda: len(h.humans) == 12 and len(h.refined) >= 8, 10), h.node.snapshot()
    assert [(m.header.stamp.sec, m.header.stamp.nanosec) for m in h.humans] == sent
    got = {(m.header.stamp.sec, m.header.stamp.nanosec) for m in h.refined}
    assert got <= set(sent) and len(got) == len(h.refined)
    rounded = [to_seconds(Time(sec=s, nanosec=n)) for s, n in sent]  # what a float would give back
    from interaction_recon.ros.convert import to_time

    assert any((to_time(r).sec, to_time(r).nanosec) != s for r, s in zip(rounded, sent))  # the trap is real


def test_a_flood_leaves_every_frame_published_or_counted(harness):
    stream = BufferStream(window=8, stride=4, delay=0.2)
    h = harness(FixedPerception(delay=0.005), stream, intake_queue=4, estimate_queue=2)
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    t0 = time.monotonic()
    for i in range(300):  # 3 s at 100 Hz
        h.image(10.0 + i / 100)
        time.sleep(max(0.0, t0 + (i + 1) / 100 - time.monotonic()))
    assert wait_for(h.node.pipeline.idle, 10)
    snap = h.node.snapshot()
    # lost on the way (the middleware's queues): estimated from the stamps
    assert snap["counts"]["frames_in"] + snap["drops"].get("transport", 0) == 300, snap
    # every frame that entered: published, or dropped for a named reason
    assert snap["counts"]["frames_in"] == snap["counts"].get("frames_published", 0) + snap["frame_drops_total"], snap
    assert wait_for(lambda: len(h.humans) == snap["counts"]["frames_published"], 3)


def test_frames_lost_before_the_node_are_counted_from_the_stamps(harness):
    h = harness()
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    stamps = 1.0 + np.r_[np.arange(10), np.arange(15, 20)] / 10  # 10 Hz, frames 10-14 never sent
    feed(h, stamps, period=0.02)
    assert wait_for(lambda: len(h.humans) == 15, 5)
    assert h.node.snapshot()["drops"]["transport"] == 5


def test_stamps_of_a_bursty_publisher_count_no_transport_loss(harness):
    """Stamps taken when a busy publisher got round to it (pairs 1 ms apart, 0.2 s between
    pairs) are no camera clock: no frame is counted lost on the way."""
    h = harness()
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    stamps = 1.0 + np.repeat(np.arange(8) * 0.2, 2) + np.tile([0.0, 0.001], 8)
    feed(h, stamps, period=0.02)
    assert wait_for(lambda: len(h.humans) == 16, 5)
    assert h.node.snapshot()["drops"].get("transport", 0) == 0


def test_diagnostics_go_error_without_input_and_back_to_ok(harness):
    h = harness(diagnostics_no_input=0.6, diagnostics_window=1.0)
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    level = lambda: h.diag[-1].status[0].level if h.diag else None  # noqa: E731
    assert wait_for(lambda: level() == b"\x02", 3), [d.status[0].message for d in h.diag[-3:]]
    assert "no image" in h.diag[-1].status[0].message
    stop = threading.Event()

    def camera():
        t = 1.0
        while not stop.is_set():
            h.image(t)
            t += 0.05
            time.sleep(0.05)

    thread = threading.Thread(target=camera, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: level() == b"\x00", 5), [d.status[0].message for d in h.diag[-3:]]
    finally:
        stop.set()
        thread.join(2)
    assert wait_for(lambda: level() == b"\x02", 3)  # and ERROR again when the camera stops


def test_shutdown_during_a_window_fit_takes_under_two_seconds(harness):
    stream = BufferStream(window=8, stride=4, delay=60.0)
    h = harness(stream=stream)
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    feed(h, 1.0 + np.arange(8) / 30)
    assert wait_for(lambda: h.node.pipeline.busy["fit"], 5)
    t0 = time.monotonic()
    h.node.pipeline.stop()
    assert time.monotonic() - t0 < 2.0
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith("ir-"))
    assert h.node.snapshot()["drops"].get("reconstruction_error", 0) == 0  # abandoned, not an error


def test_bad_images_are_dropped_by_reason_and_output_resumes(harness):
    h = harness()
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    for stamp, fields in [(1.00, {"encoding": "yuv422"}), (1.01, {"encoding": "32FC1"}),
                          (1.02, {"height": 0, "width": 0, "step": 0, "data": b""}),
                          (1.03, {"data": bytes(100)}),  # truncated
                          (1.04, {"step": 10})]:  # step shorter than a row
        h.image(stamp, **fields)
        time.sleep(0.02)
    feed(h, [2.0, 2.0, 1.5, 2.1])  # duplicate, older
    from sensor_msgs.msg import CameraInfo

    h.pub_info.publish(CameraInfo())  # all-zero K
    drops = lambda: h.node.snapshot()["drops"]
    want = {"unsupported_encoding": 2, "zero_size": 1, "truncated": 1, "bad_step": 1, "duplicate_stamp": 1,
            "out_of_order_stamp": 1, "invalid_camera_info": 1}
    assert wait_for(lambda: all(drops().get(k, 0) >= v for k, v in want.items()), 5), drops()
    assert h.node.snapshot()["drop_details"]["unsupported_encoding"] == "32FC1"
    assert wait_for(lambda: len(h.humans) == 2, 3)  # 2.0 and 2.1: estimated at once
    assert not h.refined
    feed(h, 3.0 + np.arange(12) / 30)  # the node still works
    assert wait_for(lambda: len(h.humans) >= 2, 10), h.node.snapshot()
    assert [x.track_id for x in h.humans[-1].humans] == [h.node.body_ids(7), h.node.body_ids(9)]


def test_each_supported_encoding_reaches_perception_as_rgb(harness):
    seen = []

    class Recording(FixedPerception):
        def __call__(self, rgb):
            seen.append(rgb.copy())
            return super().__call__(rgb)

    h = harness(Recording())
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    from interaction_recon.ros.convert import to_time
    from interaction_recon.ros.image import image_message

    msgs = [image_message(rgb, encoding="rgb8"), image_message(rgb, encoding="bgr8")]
    rgba = np.concatenate([rgb, np.full((H, W, 1), 255, np.uint8)], 2)
    from sensor_msgs.msg import Image

    msgs.append(Image(height=H, width=W, encoding="rgba8", step=4 * W, data=rgba.tobytes()))
    msgs.append(Image(height=H, width=W, encoding="bgra8", step=4 * W, data=rgba[..., [2, 1, 0, 3]].tobytes()))
    msgs.append(Image(height=H, width=W, encoding="mono8", step=W, data=rgb[..., 0].tobytes()))
    msgs.append(Image(height=H, width=W, encoding="mono16", step=2 * W,
                      data=(rgb[..., 0].astype(np.uint16) * 100).tobytes()))
    for i, m in enumerate(msgs):
        m.header.stamp = to_time(5 + i)
        h.pub_image.publish(m)
        time.sleep(0.02)
    assert wait_for(lambda: len(seen) == len(msgs), 5), h.node.snapshot()
    for got in seen[:4]:
        np.testing.assert_array_equal(got, rgb)
    assert (seen[4] == 200).all() and (seen[5] == 255).all()


def test_missing_camera_info_uses_default_fov_after_timeout_then_switches(harness):
    stream = BufferStream()
    h = harness(stream=stream, camera_info_timeout=0.4, default_fov_deg=90.0)
    feed(h, 1.0 + np.arange(3) / 30)
    assert wait_for(lambda: h.node.snapshot()["drops"].get("waiting_for_camera_info", 0) >= 3, 3)
    time.sleep(0.45)
    feed(h, 2.0 + np.arange(8) / 30)
    assert wait_for(lambda: len(h.humans) >= 1, 5), h.node.snapshot()
    assert h.node.snapshot()["intrinsics"] == "default_fov_90deg"
    np.testing.assert_allclose(stream.frames[-1][3][0, 0], W / 2)  # f = (w/2) / tan(45 deg)
    h.info()  # late CameraInfo
    assert wait_for(lambda: h.node.snapshot()["intrinsics"] == "camera_info", 3)
    feed(h, 3.0 + np.arange(4) / 30)
    assert wait_for(lambda: stream.added >= 12, 5)
    np.testing.assert_allclose(stream.frames[-1][3], K)


def test_burst_at_100hz_stays_bounded_skips_windows_and_resumes(harness):
    stream = BufferStream(window=8, stride=2, delay=0.4)
    h = harness(FixedPerception(delay=0.02), stream, intake_queue=4)
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    peak: dict = {}
    rss0 = h.node.snapshot()["rss_mb"]
    t0 = time.monotonic()
    for i in range(200):  # 2 s at 100 Hz
        h.image(10.0 + i / 100)
        q = h.node.pipeline.queue_sizes()
        peak = {k: max(peak.get(k, 0), q[k]) for k in q}
        time.sleep(max(0.0, t0 + (i + 1) / 100 - time.monotonic()))
    assert peak["intake"] <= 4 and peak["fit"] <= h.node.config.ros.fit_queue
    assert wait_for(h.node.pipeline.idle, 10)
    snap = h.node.snapshot()
    assert snap["drops"].get("perception_behind", 0) > 50  # perception takes 20 ms, frames come every 10
    assert snap["drops"].get("reconstruction_behind", 0) > 0  # a window every 2 frames, 0.4 s per fit
    assert snap["counts"]["windows_published"] >= 3
    assert snap["rss_mb"] - rss0 < 50
    n = len(h.humans)
    feed(h, 20.0 + np.arange(8) / 30, period=0.03)  # normal rate again
    assert wait_for(lambda: len(h.humans) > n, 10)
    assert len(h.humans[-1].humans) == 2


@pytest.mark.parametrize("count", [0, 1, 5])
def test_nobody_one_or_five_people_in_view(harness, count):
    h = harness(FixedPerception(count=count))
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    feed(h, 1.0 + np.arange(8) / 30)
    assert wait_for(lambda: len(h.refined) == 8 and len(h.humans) == 8, 5), h.node.snapshot()
    assert len(h.humans[-1].humans) == min(count, 2)
    msg = h.refined[-1]
    assert len(msg.humans) == min(count, 2)
    assert len(msg.contacts) == (1 if count >= 2 else 0)
    assert h.node.snapshot()["people_last"] == min(count, 2)
    assert wait_for(lambda: h.markers, 3)
    assert markers.validate(h.markers[-1]) == []


def test_perception_errors_are_counted_and_do_not_stop_the_node(harness):
    h = harness(FixedPerception(fail_on_black=True))
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    feed(h, 1.0 + np.arange(3) / 30, rgb=np.zeros((H, W, 3), np.uint8))
    assert wait_for(lambda: h.node.snapshot()["drops"].get("perception_error", 0) == 3, 5)
    feed(h, 2.0 + np.arange(8) / 30)
    assert wait_for(lambda: h.humans, 5)


def test_rep155_body_position_topics_carry_the_hip_midpoint(harness):
    from geometry_msgs.msg import PointStamped
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    h = harness()
    ids = [h.node.body_ids(7), h.node.body_ids(9)]  # drawn now, used by the node from its first message
    got = {bid: [] for bid in ids}
    for bid, box in got.items():
        h.client.create_subscription(PointStamped, f"/humans/bodies/{bid}/position", box.append,
                                     QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    feed(h, 1.0 + np.arange(8) / 30)
    assert wait_for(lambda: h.humans, 5)
    # the publishers appear with the first result; a second window reaches the now-matched subscribers
    time.sleep(0.5)
    feed(h, 2.0 + np.arange(4) / 30)
    assert wait_for(lambda: all(got.values()), 5), list(h.node.bodies.pubs)
    last = h.node.last_result
    for p, bid in enumerate(ids):
        msg = got[bid][-1]
        hip = (last.joints[p, -1, 1] + last.joints[p, -1, 2]) / 2
        np.testing.assert_allclose([msg.point.x, msg.point.y, msg.point.z], hip, atol=1e-5)
        assert msg.header.frame_id == "cam"


def test_refined_windows_publish_their_floor_as_a_marker_and_a_tf_frame(harness):
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from tf2_msgs.msg import TFMessage

    h = harness(publish_tf=True)
    frames = []
    h.client.create_subscription(TFMessage, "/tf", lambda m: frames.extend(
        t for t in m.transforms if t.child_frame_id == "humans_floor"), QoSProfile(depth=100,
                                                                                   reliability=ReliabilityPolicy.RELIABLE))
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    feed(h, 1.0 + np.arange(8) / 30)
    floors = lambda: [m for a in h.markers for m in a.markers if m.ns == "floor"]  # noqa: E731
    assert wait_for(lambda: floors() and frames, 5), (len(h.markers), len(frames))
    t = frames[-1].transform.translation
    assert (t.x, t.y, t.z) == pytest.approx((0.0, 1.5, 0.0)) and frames[-1].header.frame_id == "cam"
    assert floors()[-1].pose.position.y == pytest.approx(1.5)


def test_publish_frames_last_sends_one_message_per_window_with_the_strides_contacts(harness):
    h = harness(publish_frames="last")
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    feed(h, 1.0 + np.arange(16) / 30)
    assert wait_for(lambda: h.node.snapshot()["counts"].get("windows_published", 0) >= 3, 10)
    time.sleep(0.2)
    assert len(h.refined) == 3
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in h.refined]
    np.testing.assert_allclose(stamps, 1.0 + np.array([7, 11, 15]) / 30, atol=1e-6)
    assert len(h.refined[-1].contacts) == 1  # the two contact frames of the window, one part pair


def test_bag_recorder_writes_an_mcap_that_reads_back(harness, tmp_path):
    from diagnostic_msgs.msg import DiagnosticArray
    from interaction_recon_msgs.msg import Humans
    from visualization_msgs.msg import MarkerArray

    from interaction_recon.ros import bag

    h = harness()
    recorder = bag.BagRecorder(h.client, tmp_path / "bag", {h.topics["refined"]: Humans,
                                                            h.topics["markers"]: MarkerArray,
                                                            h.topics["diag"]: DiagnosticArray})
    h.info()
    assert wait_for(lambda: h.node._camera_info is not None, 3)
    feed(h, 1.0 + np.arange(8) / 30)
    assert wait_for(lambda: recorder.counts[h.topics["refined"]] >= 8 and recorder.counts[h.topics["diag"]]
                    and recorder.counts[h.topics["markers"]], 10)  # markers follow /humans: wait for them too
    counts = recorder.close()
    assert list((tmp_path / "bag").glob("*.mcap"))
    got = bag.read_bag(tmp_path / "bag")
    assert len(got[h.topics["refined"]]) == counts[h.topics["refined"]]
    last = got[h.topics["refined"]][-1]
    assert [x.track_id for x in last.humans] == [h.node.body_ids(7), h.node.body_ids(9)] and len(last.humans[0].joints) == 24
    assert last.contacts[0].part_a == "right hand"
    assert any(a.markers and a.markers[0].ns == "skeleton" for a in got[h.topics["markers"]])


class DepthRecorder(FixedEstimator):
    """FixedEstimator that keeps each frame's people depth (None when the frame had none)."""

    def __init__(self):
        super().__init__()
        self.depths = {}

    def update(self, people, stamp, K):
        self.depths[round(stamp, 3)] = getattr(people, "depth", None)
        return super().update(people, stamp, K)


def test_depth_images_give_each_person_a_distance_and_a_wrong_size_is_dropped_and_counted(harness):
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from interaction_recon.ros.convert import to_time

    topic = f"/t{os.getpid()}_{time.monotonic_ns()}/depth"
    recorder = DepthRecorder()
    h = Harness(FixedPerception(), BufferStream(), recorder, depth_topic=topic)
    try:
        pub = h.client.create_publisher(Image, topic, QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
        assert wait_for(lambda: pub.get_subscription_count() > 0, 5)
        h.info()
        assert wait_for(lambda: h.node._camera_info is not None, 3)
        left_right = np.where(np.arange(W) < W // 2, 2.0, 3.5) * np.ones((H, 1))  # person 0 left, person 1 right
        frames = [(1.0, "16UC1", np.rint(left_right * 1000).astype(np.uint16)),
                  (1.1, "32FC1", left_right.astype(np.float32)),
                  (1.2, "16UC1", np.full((H // 2, W // 2), 2000, np.uint16))]  # not the colour image's size
        for n, (stamp, encoding, depth) in enumerate(frames, 1):
            msg = Image(height=depth.shape[0], width=depth.shape[1], encoding=encoding, step=depth.strides[0],
                        data=depth.tobytes())
            msg.header.stamp = to_time(stamp)
            pub.publish(msg)
            assert wait_for(lambda: h.node.stats.counts["depth_in"] >= n, 3)
            h.image(stamp)
        assert wait_for(lambda: len(recorder.depths) == 3, 5), recorder.depths
        np.testing.assert_allclose(recorder.depths[1.0], [2.0, 3.5], atol=1e-3)
        np.testing.assert_allclose(recorder.depths[1.1], recorder.depths[1.0], atol=1e-3)
        assert recorder.depths[1.2] is None  # dropped, the frame itself still estimated
        assert h.node.snapshot()["drops"]["depth_wrong_size"] == 1
        h.image(1.3)  # no depth image with this stamp
        assert wait_for(lambda: len(recorder.depths) == 4, 3) and recorder.depths[1.3] is None
        assert h.node.stats.counts["depth_missing"] == 1 and h.node.stats.counts["depth_used"] == 2
    finally:
        h.close()
