"""The ``interaction_recon`` ROS 2 node: a thin shell around perception + the window stream.

Threads
    executor        Image / CompressedImage / CameraInfo callbacks (decode, check, enqueue:
                    cheap) and the diagnostics timer
    ir-perception   perception(rgb) -> PeopleFrame, stream.add(...) -> WindowJob every stride
    ir-estimate     estimator.update(...) -> the frame's causal estimate -> /humans, TF, bodies
    ir-reconstruction  stream.fit(job) (in a niced child process: ``ros.refine_process``) ->
                    Reconstruction -> /humans/refined, contacts and meshes
Queues are bounded (see pipeline.py); drops are counted by reason and reported on /diagnostics.

Publications (reliable QoS)
    /humans                          interaction_recon_msgs/Humans: the causal estimate, one message
                                     per image (estimate = ESTIMATE_CAUSAL), the image's stamp
    /humans/refined                  the same type per window: one message per newly covered frame
                                     (``ros.publish_frames: new``) or the newest only (ESTIMATE_REFINED)
    /humans/markers                  MarkerArray: skeletons, joints, labels every image; contacts
                                     every window; meshes every ``ros.mesh_every`` windows
    TF body_<id>, body_<id>_<joint>  REP-155 (tf2_ros, else /tf via tf2_msgs), every image
    /humans/bodies/tracked           hri_msgs/IdsList, every image
    /humans/bodies/<id>/...          roi, skeleton2d (hri_msgs), position, velocity (ros/bodies.py)
    /diagnostics                     diagnostic_msgs/DiagnosticArray where it imports

``perception``, ``stream`` and ``estimator`` are constructor arguments (tests inject small real
objects); :func:`build_pipeline` makes the real ones from the config.
"""
from __future__ import annotations

import logging
import threading
import time

import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from interaction_recon.config import Config
from interaction_recon.fitting import floor
from interaction_recon.fitting.camera import default_intrinsics
from interaction_recon.ros import convert, image, markers, params, tf
from interaction_recon.ros.bodies import BodyTopics
from interaction_recon.ros.depth import DepthBuffer, attach_depth, decode_depth
from interaction_recon.ros.pipeline import Frame, Pipeline, Stats, Thresholds, diagnostic_level

log = logging.getLogger(__name__)
NODE_NAME = "interaction_recon"


def build_pipeline(config: Config):
    """The real perception front-end, window stream and per-frame estimator for ``config``
    (imported lazily)."""
    import torch

    from interaction_recon.body import create
    from interaction_recon.fitting.causal import CausalFilter
    from interaction_recon.fitting.stream import WindowStream
    from interaction_recon.perception import Perception

    torch.set_num_threads(config.ros.torch_threads)
    body = create(config.body)
    fitter = None
    if config.ros.refine_process:
        from interaction_recon.fitting.remote import ProcessFitter

        fitter = ProcessFitter(config, config.ros.refine_nice)
    return Perception(config.perception), WindowStream(config, body, fitter=fitter), CausalFilter(body, config.fitting)


class InteractionReconNode(Node):
    def __init__(self, config: Config | None = None, perception=None, stream=None, estimator=None, *, context=None,
                 parameter_overrides=None, node_name: str = NODE_NAME, start: bool = True):
        super().__init__(node_name, context=context, parameter_overrides=parameter_overrides or [])
        self.config = config or Config()
        params.declare(self, self.config)
        ignored = params.apply(self, self.config)
        if ignored:
            self.get_logger().info(f"parameters not used by this build (their config section is absent): {ignored}")
        if perception is None or stream is None:
            built_perception, built_stream, built_estimator = build_pipeline(self.config)
            perception, stream = perception or built_perception, stream or built_stream
            estimator = estimator or built_estimator
        rc = self.config.ros
        self.stats = Stats(rc.diagnostics_window)
        self.stats.info.update({"intrinsics": "waiting", "tf": "off"})
        self.limits = Thresholds(rc.diagnostics_no_input, rc.diagnostics_min_output_ratio, rc.diagnostics_warn_drop_share)
        self.depths = DepthBuffer(rc.depth_max_offset) if rc.depth_topic else None
        self.pipeline = Pipeline(perception, stream, self._publish_result, rc.intake_queue, rc.fit_queue, self.stats,
                                 estimator, self._publish_estimate, rc.estimate_queue,
                                 depth=self._attach_depth if self.depths is not None else None)
        self.stream = stream
        self._lock = threading.Lock()
        self._camera_info = None  # (K, (w, h))
        self._first_image: float | None = None
        self._default_logged = False
        self._frame_id = rc.frame_id or rc.default_frame_id
        self._windows_published = 0
        self._last_frame: int | None = None  # newest frame already on /humans
        self.body_ids = convert.BodyIds()  # REP-155 ids, one per tracker id, never reused
        self._velocities = {"causal": convert.Velocities(), "refined": convert.Velocities()}
        self.last_result = None  # the newest refined window

        reliability = ReliabilityPolicy.RELIABLE if rc.input_reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT
        sensor = QoSProfile(depth=rc.input_qos_depth, reliability=reliability,
                            durability=qos_profile_sensor_data.durability, history=qos_profile_sensor_data.history)
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        self.create_subscription(Image, rc.image_topic, self._on_image, sensor)
        if rc.compressed_topic:
            self.create_subscription(CompressedImage, rc.compressed_topic, self._on_compressed, sensor)
        self.create_subscription(CameraInfo, rc.camera_info_topic, self._on_camera_info, sensor)
        if rc.depth_topic:
            self.create_subscription(Image, rc.depth_topic, self._on_depth, sensor)

        from interaction_recon_msgs.msg import Humans
        from visualization_msgs.msg import MarkerArray

        self.reliable = QoSProfile(depth=rc.output_qos_depth, reliability=ReliabilityPolicy.RELIABLE)
        # A window's new frames go out at once (the whole first window): keep them all in the history.
        window = self.config.fitting.window
        self.humans_qos = QoSProfile(depth=max(rc.output_qos_depth, window), reliability=ReliabilityPolicy.RELIABLE)
        self.pub_humans = self.create_publisher(Humans, rc.humans_topic, self.reliable)
        self.pub_refined = self.create_publisher(Humans, rc.humans_refined_topic, self.humans_qos)
        self.pub_markers = self.create_publisher(MarkerArray, rc.markers_topic, self.reliable)
        self.tf_out = tf.TfOut(self) if rc.publish_tf else None
        self.stats.info["tf"] = self.tf_out.backend if self.tf_out else "disabled"
        self.bodies = BodyTopics(self, self.reliable, rc.max_bodies) if rc.publish_bodies else None
        self.pub_diag = None
        try:
            from diagnostic_msgs.msg import DiagnosticArray

            self.pub_diag = self.create_publisher(DiagnosticArray, rc.diagnostics_topic, self.reliable)
        except ImportError:
            self.get_logger().info("diagnostic_msgs not importable: /diagnostics is off")
        self.create_timer(rc.diagnostics_period, self._publish_diagnostics)
        if start:
            self.pipeline.start()
        self.get_logger().info(f"listening on {rc.image_topic}" + (f" + {rc.compressed_topic}" if rc.compressed_topic
                                                                     else "") +
                               f" ({rc.input_reliability}), publishing {rc.humans_topic} and {rc.humans_refined_topic}")

    # -- inputs (executor thread) --------------------------------------------------------
    def _on_image(self, msg) -> None:
        self._receive(msg, image.decode_image)

    def _on_compressed(self, msg) -> None:
        self._receive(msg, image.decode_compressed)

    def _receive(self, msg, decode) -> None:
        arrived = time.monotonic()
        self.stats.count("frames_in")
        self.stats.tick("in", arrived)
        try:
            rgb = decode(msg)
        except image.Dropped as dropped:
            self.stats.drop(dropped.reason, dropped.detail)
            return
        stamp = convert.to_seconds(msg.header.stamp)
        stamp_given = stamp != 0.0
        if not stamp_given:  # unstamped driver: use the arrival time
            stamp = self.get_clock().now().nanoseconds * 1e-9
        if not self.config.ros.frame_id and msg.header.frame_id:
            self._frame_id = msg.header.frame_id
        K = self._intrinsics(rgb.shape[1], rgb.shape[0], arrived)
        if K is None:
            self.stats.drop("waiting_for_camera_info")
            return
        header = msg.header.stamp if stamp_given else convert.to_time(stamp)
        self.pipeline.submit(Frame(rgb=rgb, stamp=stamp, K=K, received=arrived, header=header))

    def _on_depth(self, msg) -> None:
        try:
            depth = decode_depth(msg)
        except image.Dropped as dropped:
            self.stats.drop("depth_encoding" if dropped.reason == "depth_encoding" else "depth_invalid", dropped.detail)
            return
        self.stats.count("depth_in")
        self.depths.put(convert.to_seconds(msg.header.stamp), depth)

    def _attach_depth(self, frame, people) -> None:
        """The perceived frame's people get their depth from the depth image of its stamp
        (perception thread); a depth image of another size than the colour image is dropped."""
        pc = self.config.perception
        outcome = attach_depth(people, self.depths.nearest(frame.stamp), frame.rgb.shape[:2], pc.depth_erode,
                               pc.depth_min_pixels)
        if outcome == "wrong_size":
            self.stats.drop("depth_wrong_size", "not the colour image's size")
        else:
            self.stats.count(f"depth_{outcome}")

    def _on_camera_info(self, msg) -> None:
        K = image.intrinsics(msg)
        if K is None:
            self.stats.drop("invalid_camera_info")
            return
        with self._lock:
            late = self._camera_info is None and self._default_logged
            self._camera_info = (K, (int(msg.width), int(msg.height)))
            self.stats.info["intrinsics"] = "camera_info"
        if late:
            self.get_logger().info("CameraInfo arrived: switching from default intrinsics to the camera's")

    def _intrinsics(self, width: int, height: int, arrived: float):
        rc = self.config.ros
        with self._lock:
            info = self._camera_info
            if self._first_image is None:
                self._first_image = arrived
            waited = arrived - self._first_image
        if info is not None:
            K, size = info
            return image.scale_intrinsics(K, size, (width, height))
        if waited < rc.camera_info_timeout:
            return None
        if not self._default_logged:
            self._default_logged = True
            self.stats.info["intrinsics"] = f"default_fov_{rc.default_fov_deg:g}deg"
            self.get_logger().warn(f"no CameraInfo on {rc.camera_info_topic} after {rc.camera_info_timeout:g} s: "
                                   f"using default intrinsics (horizontal FOV {rc.default_fov_deg:g} deg)")
        return default_intrinsics(width, height, rc.default_fov_deg)

    # -- outputs ---------------------------------------------------------------------------
    def _publish_estimate(self, result, info: dict) -> None:
        """The causal estimate of one image (estimate thread): /humans, skeleton markers, TF,
        per-body positions, all stamped with the image's own stamp."""
        rc = self.config.ros
        frame_id = self._frame_id
        msg, sel = convert.humans_message(result, frame_id, pos=0, min_confidence=rc.min_confidence,
                                          ids=self.body_ids, contact_frames=1, refined=False,
                                          stamp=info.get("header"), velocities=self._velocities["causal"])
        self.pub_humans.publish(msg)
        stamp = msg.header.stamp
        self.pub_markers.publish(markers.frame_markers(result, sel, frame_id, stamp, None, rc.marker_lifetime))
        if self.tf_out is not None:
            self.tf_out.send(tf.body_transforms(result, sel, frame_id, stamp, rc.body_frame_prefix))
        if self.bodies is not None:
            self.bodies.publish(msg, {i: p for p, i in sel.ids.items()}, info.get("people"), msg.header, self.body_ids)

    def new_positions(self, result) -> list[int]:
        """Positions along the window that /humans/refined carries: ``new`` = frames after the
        last published one (the whole first window), ``last`` = the newest frame."""
        if self.config.ros.publish_frames == "last" or self._last_frame is None:
            return [result.num_frames - 1] if self.config.ros.publish_frames == "last" else list(range(result.num_frames))
        fresh = np.flatnonzero(result.frames > self._last_frame).tolist()
        return fresh or [result.num_frames - 1]

    def _publish_result(self, result, info: dict) -> None:
        """A refined window (window worker): /humans/refined, its contacts and meshes."""
        rc = self.config.ros
        frame_id = self._frame_id
        stride = self.config.fitting.stride
        contact_frames = rc.contact_frames or (1 if rc.publish_frames == "new" else stride)
        for pos in self.new_positions(result):
            msg, sel = convert.humans_message(result, frame_id, pos=pos, min_confidence=rc.min_confidence,
                                              ids=self.body_ids, contact_frames=contact_frames,
                                              contact_min_probability=rc.contact_min_probability,
                                              stamp=self.pipeline.header(result.stamps[pos]),
                                              velocities=self._velocities["refined"])
            self.pub_refined.publish(msg)
            self.stats.count("refined_published")
        self._last_frame = int(result.frames[-1])
        array = markers.frame_markers(result, sel, frame_id, msg.header.stamp, msg.contacts, rc.marker_lifetime,
                                      people=False)
        if rc.mesh_every and self._windows_published % rc.mesh_every == 0:
            try:
                vertices, faces = self.mesh(result, sel.pos)
                array.markers.extend(markers.mesh_markers(vertices, faces, sel, frame_id, msg.header.stamp,
                                                          rc.marker_lifetime).markers)
            except Exception as err:  # noqa: BLE001 - meshes are a visual extra
                self.stats.drop("mesh_error", type(err).__name__)
        if result.floor is not None:
            centre = np.nanmean(result.joints[sel.slots, sel.pos, 0], axis=0) if sel.slots else -result.floor[:3]
            array.markers.extend(markers.floor_marker(result.floor, centre, frame_id, msg.header.stamp,
                                                      rc.marker_lifetime).markers)
            if self.tf_out is not None and rc.floor_frame:
                origin, q = floor.frame_pose(result.floor)
                self.tf_out.send([tf.transform_stamped(frame_id, rc.floor_frame, msg.header.stamp, origin, q)])
        self.pub_markers.publish(array)
        self._windows_published += 1
        self.last_result = result

    def mesh(self, result, pos: int = -1):
        """(vertices [2, V, 3], faces [F, 3]) of frame ``pos`` at ``ros.mesh_resolution``."""
        import torch

        body = self.stream.body
        pos = pos % result.num_frames
        device = self.config.body.device
        full = self.config.ros.mesh_resolution == "full" or len(body.collision_faces) == 0
        with torch.no_grad():
            out = body(result.select(slice(pos, pos + 1)).params(device), full_mesh=full)
        if full:
            return out.vertices[:, 0].cpu().numpy(), body.faces.cpu().numpy()
        return out.collision_vertices[:, 0].cpu().numpy(), body.collision_faces.cpu().numpy()

    # -- diagnostics ---------------------------------------------------------------------
    def snapshot(self) -> dict:
        snap = self.stats.snapshot()
        snap["queues"] = self.pipeline.queue_sizes()
        snap["queue_limits"] = {"intake": self.pipeline.intake_size, "estimate": self.pipeline.estimate_size,
                                "fit": self.pipeline.fit_size}
        snap["rss_mb"] = rss_mb()
        language = getattr(self.pipeline.stream, "language", None)
        if language is not None:
            snap["language"] = dict(language.counts)
        return snap

    def _publish_diagnostics(self) -> None:
        if self.pub_diag is None:
            return
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

        snap = self.snapshot()
        level, why = diagnostic_level(snap, self.limits)
        lat = snap["latency_s"]
        status = DiagnosticStatus(level=bytes([level]), name=f"{self.get_name()}: pipeline", hardware_id="camera")
        status.message = (f"{why}; last {snap['window_s']:g} s: in {snap['fps_in']:.1f} fps, "
                          f"out {snap['fps_out']:.1f} fps, latency p50 "
                          f"{lat['p50'] if lat['p50'] is not None else '-'} s")
        values = {"fps_in": snap["fps_in"], "fps_perceived": snap["fps_perceived"], "fps_out": snap["fps_out"],
                  "windows_per_s": snap["windows_per_s"], "since_input_s": snap["since_input_s"],
                  "latency_p50_s": lat["p50"], "latency_p95_s": lat["p95"],
                  "latency_refined_last_s": snap["latency_refined_s"]["last"],
                  "fit_mean_s": snap["fit_s"]["mean"], "estimate_mean_s": snap["estimate_s"]["mean"],
                  "perception_mean_s": snap["perception_s"]["mean"], "intrinsics": snap.get("intrinsics"),
                  "tf": snap.get("tf"), "people_last": snap["people_last"], "rss_mb": snap["rss_mb"],
                  **{f"queue_{k}": v for k, v in snap["queues"].items()},
                  **{f"count_{k}": v for k, v in snap["counts"].items()},
                  **{f"drop_{k}": v for k, v in snap["drops"].items()},
                  **{f"recent_drop_{k}": v for k, v in snap["recent_drops"].items()},
                  **{f"drop_detail_{k}": v for k, v in snap["drop_details"].items()},
                  **{f"language_{k}": v for k, v in snap.get("language", {}).items()}}
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        diag = DiagnosticArray(status=[status])
        diag.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(diag)

    def destroy_node(self):
        self.pipeline.stop()
        return super().destroy_node()


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc; 0 elsewhere)."""
    import os

    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, AttributeError):
        return 0.0


def spin(node, context=None, stop: threading.Event | None = None) -> None:
    """Spin ``node`` until ``stop`` is set or the context shuts down (Ctrl-C ends it cleanly)."""
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        while (stop is None or not stop.is_set()) and rclpy.ok(context=context):
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.remove_node(node)
        executor.shutdown()


def main(args: list[str] | None = None, config: Config | None = None) -> int:
    """``interaction-recon live``: the node without ``ros2 launch``."""
    rclpy.init(args=args)
    node = None
    try:
        node = InteractionReconNode(config)
        spin(node)
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
