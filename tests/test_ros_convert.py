"""Reconstruction -> Humans / MarkerArray / TF, image decoding, and the parameter declarations
(config/live.yaml, launch/live.launch.py) checked field by field without a running graph."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

pytest.importorskip("rclpy")
pytest.importorskip("interaction_recon_msgs.msg")

from interaction_recon.body.skeleton import SMPL_JOINTS
from interaction_recon.config import Config, field_at
from interaction_recon.fitting.camera import default_intrinsics
from interaction_recon.fitting.result import Contact, Reconstruction
from interaction_recon.ros import convert, image, markers, params, tf

ROOT = Path(__file__).resolve().parents[1]


def make_result(T: int = 6, track_ids=(3, 11), conf=0.8) -> Reconstruction:
    rng = np.random.default_rng(1)
    joints = rng.normal(0, 0.3, (2, T, 24, 3)).astype(np.float32) + np.array([0, 0, 3.0], np.float32)
    return Reconstruction(
        frames=np.arange(100, 100 + T), stamps=50.0 + np.arange(T) / 30.0,
        global_orient=rng.normal(0, 0.5, (2, T, 3)), body_pose=rng.normal(0, 0.2, (2, T, 23, 3)),
        transl=rng.normal(0, 1, (2, T, 3)), shape=rng.uniform(0, 1, (2, 6)), joints=joints,
        confidence=np.full((2, T), conf), track_ids=np.array(track_ids), K=np.eye(3), fps=30.0, body_model="anny",
        contacts=[Contact(100 + T - 1, "right hand", "right hand", [0.1, 0.2, 3.0], 0.004, 0.6),
                  Contact(100 + T - 2, "right hand", "right hand", [0.1, 0.25, 3.0], 0.002, 0.9),
                  Contact(100 + T - 1, "left hand", "right shoulder", [0.0, 0.0, 2.9], 0.01, 0.3),
                  Contact(100, "head", "head", [0.0, 0.0, 2.0], 0.01, 1.0)])


def test_humans_message_field_by_field():
    r = make_result()
    ids = convert.BodyIds()
    r.joint_confidence[1, -1, 20] = 0.1  # a wrist no keypoint saw
    r.joints[0, -1, :, 2] += 1.0  # person 0 a metre further away
    r.position_error[:, -1] = [0.064, 0.203]  # person 0 measured by a depth sensor, person 1 not
    velocities = convert.Velocities()
    convert.humans_message(r, "cam", pos=-2, ids=ids, velocities=velocities)
    msg, sel = convert.humans_message(r, "cam", pos=-1, ids=ids, contact_frames=3, velocities=velocities)
    assert msg.header.frame_id == "cam"
    assert convert.to_seconds(msg.header.stamp) == pytest.approx(r.stamps[-1], abs=1e-9)
    assert convert.to_seconds(msg.window_start) == pytest.approx(r.stamps[0], abs=1e-9)
    assert convert.to_seconds(msg.window_end) == pytest.approx(r.stamps[-1], abs=1e-9)
    assert [h.track_id for h in msg.humans] == [ids(3), ids(11)] and sel.slots == [0, 1]
    assert [h.depth_rank for h in msg.humans] == [1, 0]
    for p, h in enumerate(msg.humans):
        assert h.body_model == "anny" and h.shape_space == h.SHAPE_ANNY_PHENOTYPE
        assert list(h.joint_names) == list(SMPL_JOINTS)
        hips = lambda t: (r.joints[p, t, 1] + r.joints[p, t, 2]) / 2  # noqa: E731
        np.testing.assert_allclose([h.velocity.x, h.velocity.y, h.velocity.z],
                                   (hips(-1) - hips(-2)) / (r.stamps[-1] - r.stamps[-2]), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(h.global_orient, r.global_orient[p, -1])
        np.testing.assert_allclose(h.body_pose, r.body_pose[p, -1].reshape(-1))
        np.testing.assert_allclose(h.shape, r.shape[p])
        np.testing.assert_allclose(h.transl, r.transl[p, -1])
        np.testing.assert_allclose([[q.x, q.y, q.z] for q in h.joints], r.joints[p, -1], atol=1e-6)
        np.testing.assert_allclose(h.joint_confidence, r.joint_confidence[p, -1], rtol=1e-6)
        assert h.confidence == pytest.approx(0.8)
        assert h.position_error == pytest.approx(r.position_error[p, -1])
    # newest 3 frames: the head contact (frame 100) is out; right-hand pair deduplicated to the most confident
    assert [(c.part_a, c.part_b) for c in msg.contacts] == [("right hand", "right hand"), ("left hand", "right shoulder")]
    c = msg.contacts[0]
    assert (c.track_id_a, c.track_id_b) == (ids(3), ids(11))
    assert (c.point.x, c.point.y, c.point.z) == pytest.approx((0.1, 0.25, 3.0))
    assert c.distance == pytest.approx(0.002) and c.confidence == pytest.approx(0.9)
    assert msg.contact_evidence is False  # the result says no evidence was available
    r.contact_evidence[-1] = True
    msg, _ = convert.humans_message(r, "cam", contact_frames=3, contact_min_probability=0.5)
    assert msg.contact_evidence is True
    assert [(c.part_a, c.part_b) for c in msg.contacts] == [("right hand", "right hand")]  # the 0.3 one held back


def test_humans_message_leaves_out_untracked_unsure_and_nan_people_and_their_contacts():
    r = make_result(track_ids=(3, -1))
    msg, _ = convert.humans_message(r, "cam")
    assert len(msg.humans) == 1 and msg.contacts == []
    r = make_result(conf=0.05)
    assert convert.humans_message(r, "cam", min_confidence=0.1)[0].humans == []
    r = make_result()
    r.joints[1, -1, 5] = np.nan
    msg, sel = convert.humans_message(r, "cam")
    assert sel.slots == [0] and len(msg.humans) == 1
    msg, sel = convert.humans_message(r, "cam", pos=0)  # an earlier frame is fine
    assert sel.slots == [0, 1] and convert.to_seconds(msg.header.stamp) == pytest.approx(50.0)


def test_time_conversion_round_trips_and_ids_are_valid_ros_names():
    for s in (0.0, 1.5, 1795317839.123456789):
        t = convert.to_time(s)
        assert 0 <= t.nanosec < 1_000_000_000
        assert convert.to_seconds(t) == pytest.approx(s, abs=1e-6)



def test_body_ids_are_random_letters_stable_per_track_and_never_reused():
    ids = convert.BodyIds()
    assert ids(7) == ids(7) and len(ids(7)) == 5 and ids(7).isalpha() and ids(7).islower()
    drawn = {ids(t) for t in range(300)}
    assert len(drawn) == 300  # never handed out twice
    assert convert.BodyIds()(7) != ids(7) or convert.BodyIds()(7) != ids(7)  # a new node: new ids


def test_frame_markers_are_valid_for_rviz_and_carry_people_and_contacts():
    from visualization_msgs.msg import Marker

    r = make_result()
    msg, sel = convert.humans_message(r, "cam", contact_frames=3)
    array = markers.frame_markers(r, sel, "cam", msg.header.stamp, msg.contacts)
    assert markers.validate(array) == []
    by = {(m.ns, m.id): m for m in array.markers}
    assert set(by) == {("skeleton", 0), ("skeleton", 1), ("joints", 0), ("joints", 1), ("label", 0), ("label", 1),
                       ("contacts", 0)}
    bones = by[("skeleton", 1)]
    assert bones.type == Marker.LINE_LIST and len(bones.points) == 2 * 23
    assert (bones.points[0].x, bones.points[0].y, bones.points[0].z) == pytest.approx(tuple(r.joints[1, -1, 0]))
    assert len(by[("joints", 0)].points) == 24
    assert by[("label", 1)].text.startswith(sel.ids[1]) and by[("label", 1)].type == Marker.TEXT_VIEW_FACING
    dots = by[("contacts", 0)]
    assert len(dots.points) == len(dots.colors) == 2
    assert dots.colors[0].r > dots.colors[1].r  # more confident = redder
    assert all(m.header.frame_id == "cam" for m in array.markers)


def test_absent_people_and_no_contacts_become_delete_markers():
    from visualization_msgs.msg import Marker

    r = make_result(track_ids=(-1, 4))
    msg, sel = convert.humans_message(r, "cam")
    array = markers.frame_markers(r, sel, "cam", msg.header.stamp, msg.contacts)
    deleted = {(m.ns, m.id) for m in array.markers if m.action == Marker.DELETE}
    assert deleted == {("skeleton", 0), ("joints", 0), ("label", 0), ("contacts", 0)}
    assert markers.validate(array) == []


def test_mesh_markers_are_triangle_lists_rviz_accepts(anny_body):
    from visualization_msgs.msg import Marker

    r = make_result()
    _, sel = convert.humans_message(r, "cam")
    import torch

    with torch.no_grad():
        out = anny_body(r.select(slice(5, 6)).params())
    faces = anny_body.collision_faces.numpy()
    array = markers.mesh_markers(out.collision_vertices[:, 0].numpy(), faces, sel, "cam", convert.to_time(1.0))
    assert markers.validate(array) == []
    for m in array.markers:
        assert m.type == Marker.TRIANGLE_LIST and len(m.points) == 3 * len(faces) and len(m.points) % 3 == 0
        assert not m.colors and m.color.a > 0


def test_validate_catches_what_rviz_rejects():
    from geometry_msgs.msg import Point
    from visualization_msgs.msg import Marker, MarkerArray

    bad = Marker(type=Marker.TRIANGLE_LIST, action=Marker.ADD, points=[Point()] * 4)
    bad.pose.orientation.w = 0.5
    bad.color.a = 1.0
    problems = markers.validate(MarkerArray(markers=[bad]))
    assert any("no frame_id" in p for p in problems)
    assert any("TRIANGLE_LIST with 4" in p for p in problems)
    assert any("not normalised" in p for p in problems)


def test_body_frame_follows_rep155_x_forward_z_up_at_the_hip_midpoint():
    joints = np.zeros((24, 3))
    joints[1], joints[2] = [0.1, 1.0, 3.0], [-0.1, 1.0, 3.0]
    # identity orientation: SMPL forward (+z) is body x, SMPL up (+y) is body z, SMPL left (+x) is body y
    t, q = tf.body_pose(np.zeros(3), joints)
    np.testing.assert_allclose(t, [0.0, 1.0, 3.0])
    R = Rotation.from_quat(q).as_matrix()
    np.testing.assert_allclose(R[:, 0], [0, 0, 1], atol=1e-9)
    np.testing.assert_allclose(R[:, 2], [0, 1, 0], atol=1e-9)
    np.testing.assert_allclose(R[:, 1], [1, 0, 0], atol=1e-9)
    # upright in an OpenCV camera (SMPL rotated by pi about x): up is camera -y, facing the camera (-z)
    _, q = tf.body_pose(np.array([np.pi, 0, 0]), joints)
    R = Rotation.from_quat(q).as_matrix()
    np.testing.assert_allclose(R[:, 2], [0, -1, 0], atol=1e-9)
    np.testing.assert_allclose(R[:, 0], [0, 0, -1], atol=1e-9)
    assert np.linalg.norm(q) == pytest.approx(1.0)


def test_body_transforms_are_stamped_named_and_normalised():
    r = make_result()
    msg, sel = convert.humans_message(r, "cam")
    out = tf.body_transforms(r, sel, "cam", msg.header.stamp, "body_")
    bodies = [x for x in out if x.header.frame_id == "cam"]
    assert [x.child_frame_id for x in bodies] == [f"body_{sel.ids[0]}", f"body_{sel.ids[1]}"]
    assert len(out) == 2 * 25
    for p, x in enumerate(bodies):
        assert x.header.stamp == msg.header.stamp
        q = x.transform.rotation
        assert q.x ** 2 + q.y ** 2 + q.z ** 2 + q.w ** 2 == pytest.approx(1.0)
        hip = (r.joints[p, -1, 1] + r.joints[p, -1, 2]) / 2
        t = x.transform.translation
        np.testing.assert_allclose([t.x, t.y, t.z], hip, atol=1e-6)
        # each joint frame, composed with its body frame, lands on the joint
        R = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
        joints = [j for j in out if j.header.frame_id == x.child_frame_id]
        assert [j.child_frame_id for j in joints] == [f"{x.child_frame_id}_{n}" for n in SMPL_JOINTS]
        local = np.array([[j.transform.translation.x, j.transform.translation.y, j.transform.translation.z]
                          for j in joints])
        np.testing.assert_allclose(local @ R.T + [t.x, t.y, t.z], r.joints[p, -1], atol=1e-5)


def test_decode_handles_row_padding_big_endian_and_bad_sizes():
    from sensor_msgs.msg import Image

    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    padded = np.zeros((2, 12), np.uint8)
    padded[:, :9] = rgb.reshape(2, 9)
    msg = Image(height=2, width=3, encoding="rgb8", step=12, data=padded.tobytes())
    np.testing.assert_array_equal(image.decode_image(msg), rgb)
    mono = np.array([[0, 256], [512, 1024]], dtype=">u2")
    msg = Image(height=2, width=2, encoding="16UC1", step=4, is_bigendian=1, data=mono.tobytes())
    np.testing.assert_array_equal(image.decode_image(msg)[..., 0], [[0, 64], [128, 255]])
    for fields, reason in [({"encoding": "yuv422"}, "unsupported_encoding"), ({"height": 0}, "zero_size"),
                           ({"step": 2}, "bad_step"), ({"data": bytes(11)}, "truncated")]:
        msg = Image(height=2, width=3, encoding="rgb8", step=9, data=rgb.tobytes())
        for k, v in fields.items():
            setattr(msg, k, v)
        with pytest.raises(image.Dropped) as err:
            image.decode_image(msg)
        assert err.value.reason == reason


def test_compressed_images_and_camera_info():
    import io

    from PIL import Image as PILImage
    from sensor_msgs.msg import CameraInfo, CompressedImage

    rgb = np.zeros((8, 10, 3), np.uint8)
    rgb[:, :5] = [250, 10, 10]
    buf = io.BytesIO()
    PILImage.fromarray(rgb).save(buf, format="PNG")
    got = image.decode_compressed(CompressedImage(format="png", data=buf.getvalue()))
    np.testing.assert_array_equal(got, rgb)
    for data, reason in [(b"", "zero_size"), (b"not an image", "undecodable")]:
        with pytest.raises(image.Dropped) as err:
            image.decode_compressed(CompressedImage(format="jpeg", data=data))
        assert err.value.reason == reason
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    info = image.camera_info_message(K, 640, 480)
    np.testing.assert_allclose(image.intrinsics(info), K)
    assert image.intrinsics(CameraInfo()) is None
    np.testing.assert_allclose(image.scale_intrinsics(K, (640, 480), (320, 240))[:2], K[:2] / 2)
    np.testing.assert_allclose(default_intrinsics(200, 100, 90.0)[0, 0], 100.0)


def test_live_yaml_sets_every_declared_parameter_with_its_declared_type():
    data = yaml.safe_load((ROOT / "config" / "live.yaml").read_text())
    values = params.flatten(data["interaction_recon"]["ros__parameters"])
    assert set(values) == set(params.BY_NAME)
    config = Config()
    for name, value in values.items():
        p = params.BY_NAME[name]
        assert type(value) is type(params.default(p, config)), name  # rclpy rejects int for a float parameter
        params.check(p, value)
    assert params.load_params_file(ROOT / "config" / "live.yaml", Config()) == [
        n for n in values if field_at(config, n) is None]


def test_parameters_are_declared_with_descriptions_and_ranges_and_reach_the_config():
    import rclpy
    from rclpy.parameter import Parameter

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        node = rclpy.create_node("params_check", context=ctx, parameter_overrides=[
            Parameter("fitting.stride", value=16), Parameter("ros.image_topic", value="/cam/image"),
            Parameter("body.model_path", value="")])
        config = Config()
        params.declare(node, config)
        params.apply(node, config)
        assert config.fitting.stride == 16 and config.ros.image_topic == "/cam/image"
        assert config.body.model_path is None
        desc = node.describe_parameter("fitting.window")
        assert desc.description and desc.integer_range[0].from_value == 8
        assert node.describe_parameter("ros.default_fov_deg").floating_point_range[0].to_value == 170.0
        result = node.set_parameters([Parameter("ros.fit_queue", value=0)])[0]  # out of the declared range
        assert not result.successful
        assert node.get_parameter("ros.fit_queue").value == Config().ros.fit_queue
        node.destroy_node()
    finally:
        rclpy.shutdown(context=ctx)
    with pytest.raises(ValueError, match="not one of"):
        params.set_value(Config(), "body.backend", "mhr")


def test_launch_file_arguments_match_the_node_parameters():
    tree = ast.parse((ROOT / "launch" / "live.launch.py").read_text())
    arguments = next(ast.literal_eval(n.value) for n in ast.walk(tree)
                     if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "ARGUMENTS")
    assert arguments == params.LAUNCH  # every exposed parameter, under the declared argument name
    assert set(arguments.values()) <= set(params.BY_NAME)
    names = {"generate_launch_description", "_node"}
    assert names <= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {"DeclareLaunchArgument", "Node", "LaunchDescription", "OpaqueFunction"} <= calls
    text = (ROOT / "launch" / "live.launch.py").read_text()
    assert 'package="interaction_recon"' in text and 'executable="interaction-recon"' in text
    assert '"live.yaml"' in text
    for p in params.LAUNCH.values():
        assert params.coerce(params.BY_NAME[p], str(params.default(params.BY_NAME[p], Config())).lower()) \
            == params.default(params.BY_NAME[p], Config())


def test_rviz_config_shows_image_markers_and_tf():
    data = yaml.safe_load((ROOT / "config" / "humans.rviz").read_text())
    displays = data["Visualization Manager"]["Displays"]
    classes = {d["Class"] for d in displays}
    assert {"rviz_default_plugins/Image", "rviz_default_plugins/MarkerArray", "rviz_default_plugins/TF"} <= classes
    topics = {d.get("Topic", {}).get("Value") for d in displays}
    assert {"/humans/markers", "/camera/image_raw"} <= topics


def test_setup_installs_launch_and_config_files():
    text = (ROOT / "setup.py").read_text()
    assert 'glob("launch/*.py")' in text and 'glob("config/*")' in text


def test_rclpy_reads_live_yaml_into_the_declared_parameters():
    import rclpy

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        node = rclpy.create_node("interaction_recon", context=ctx,
                                 cli_args=["--ros-args", "--params-file", str(ROOT / "config" / "live.yaml")])
        config = Config()
        config.fitting.window = 7  # the file's value (128) must win over this
        params.declare(node, config)  # raises on a type or range mismatch with the file
        ignored = params.apply(node, config)
        assert config.fitting.window == 128 and config.ros.image_topic == "/camera/image_raw"
        expected = _defaults_without(ignored)
        # the values live differs in: the faster landmark model, without the flip test and the small-people pass
        expected.perception.blazepose_model, expected.perception.flip_test = "full", False
        expected.perception.detector_small_share = 0.0
        assert config.body.model_path is None and config == expected
        node.destroy_node()
    finally:
        rclpy.shutdown(context=ctx)


def _defaults_without(ignored):
    config = Config()
    assert all(params._lookup(config, name) is None for name in ignored)
    return config


def test_parameter_docs_are_generated_from_the_declarations(tmp_path):
    """README.md and docs/ros.md list every declared parameter as params.py writes them (run
    `python -m interaction_recon.ros.params` after changing a declaration)."""
    import shutil

    (tmp_path / "docs").mkdir()
    for f in ("README.md", "docs/ros.md"):
        shutil.copy(ROOT / f, tmp_path / f)
    params.write_docs(tmp_path)
    for f in ("README.md", "docs/ros.md"):
        assert (tmp_path / f).read_text() == (ROOT / f).read_text(), f"{f} is stale"
    assert all(f"`{p.name}`" in (ROOT / "docs" / "ros.md").read_text() for p in params.PARAMS)


def test_floor_marker_lies_on_the_plane_under_the_people():
    from interaction_recon.fitting.floor import up_vector

    plane = np.append(up_vector(12.0, 3.0), 1.4)
    centre = np.array([0.2, 0.3, 3.5])
    array = markers.floor_marker(plane, centre, "cam", convert.to_time(1.0))
    assert markers.validate(array) == []
    m = array.markers[0]
    p = np.array([m.pose.position.x, m.pose.position.y, m.pose.position.z])
    assert p @ plane[:3] + plane[3] == pytest.approx(0.0, abs=1e-9)  # on the floor
    np.testing.assert_allclose(np.cross(p - centre, plane[:3]), 0.0, atol=1e-9)  # straight below the centre
    q = m.pose.orientation
    np.testing.assert_allclose(Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()[:, 2], plane[:3], atol=1e-9)


def test_everyone_else_is_tracked_on_rep155_with_their_boxes():
    """The pair's bodies and everyone else the tracker follows are listed on
    /humans/bodies/tracked; the others get their roi (no 3D topics are published for them)."""
    pytest.importorskip("hri_msgs.msg")
    from interaction_recon.perception.types import PeopleFrame
    from interaction_recon.ros.bodies import BodyTopics

    class Node:
        def __init__(self):
            self.sent = {}

        def create_publisher(self, kind, topic, qos):
            return type("Pub", (), {"publish": lambda _, m, t=topic: self.sent.setdefault(t, []).append(m)})()

        def destroy_publisher(self, pub):
            pass

        def get_logger(self):
            raise AssertionError("hri_msgs imports: nothing to log")

    node, ids = Node(), convert.BodyIds()
    msg, sel = convert.humans_message(make_result(), "camera", pos=-1, min_confidence=0.1, ids=ids)
    people = PeopleFrame.empty(7, (480, 640), np.array([3, 11]))
    people.boxes[:] = [[10, 20, 110, 220], [300, 20, 400, 220]]
    people.other_ids = np.array([5, 8])
    people.other_boxes = np.array([[500, 40, 540, 140], [600, 40, 640, 90]], np.float32)
    topics = BodyTopics(node, None, max_bodies=16)
    topics.publish(msg, {i: p for p, i in sel.ids.items()}, people, msg.header, ids)
    tracked = node.sent["/humans/bodies/tracked"][-1].ids
    assert tracked == [ids(3), ids(11), ids(5), ids(8)]
    roi = node.sent[f"/humans/bodies/{ids(5)}/roi"][-1]
    assert (roi.xmin, roi.ymin, roi.xmax, roi.ymax) == pytest.approx((500 / 640, 40 / 480, 540 / 640, 140 / 480))
    assert f"/humans/bodies/{ids(5)}/position" not in node.sent and f"/humans/bodies/{ids(3)}/position" in node.sent
    topics.publish(msg, {i: p for p, i in sel.ids.items()}, people, msg.header)  # without ids: the pair only
    assert node.sent["/humans/bodies/tracked"][-1].ids == [ids(3), ids(11)]
