"""Each two-person term and the per-person 3D cue, inside the window optimiser: a fit with
the term on differs from the same fit with its weight at 0 in the way the term promises."""
import math

import numpy as np
import pytest
import torch

from interaction_recon.body.skeleton import BLAZEPOSE33
from interaction_recon.fitting import losses, pose3d
from interaction_recon.fitting.job import WindowJob
from interaction_recon.fitting.window import WindowFitter

from test_fitting import K, facing_camera, job_of, lean_deg, observe_params, pitched_view, small_config

ELBOW_FORWARD = (0.0, math.pi / 2, 0.0)  # axis-angle that bends a hanging right forearm towards the camera
FAST = dict(iterations_rigid=5, iterations_alone=5, iterations=15, floor_sizing=False)


def _fit(body, collider, job, settings=None, **weights):
    cfg = small_config(**{**FAST, **(settings or {})})
    for name, value in weights.items():
        setattr(cfg.weights, name, value)
    return WindowFitter(body, cfg, collider).fit(job)


def _penetration_mm(body, collider, result) -> float:
    with torch.no_grad():
        params = result.params()
        return 1000 * float(collider.penetration(body(params), collider.rest(params)).mean())


def test_penetration_term_pushes_overlapping_bodies_apart(anny_body, anny_collider):
    # face to face, pelvises 14 cm apart: the keypoints are those of two overlapping bodies
    truth = facing_camera(anny_body, 4, x=(-0.07, 0.07), z=(3.0, 3.0), yaw=(math.pi / 2, -math.pi / 2))
    kp, conf = observe_params(anny_body, truth)
    on = _penetration_mm(anny_body, anny_collider, _fit(anny_body, anny_collider, job_of(kp, conf)))
    off = _penetration_mm(anny_body, anny_collider, _fit(anny_body, anny_collider, job_of(kp, conf), penetration=0.0))
    assert on < 0.5 * off


def _hand_gap(body, result) -> float:
    with torch.no_grad():
        lm = body(result.params()).blazepose33
    left, r = BLAZEPOSE33.index("left_wrist"), BLAZEPOSE33.index("right_wrist")
    return float((lm[0, :, left] - lm[1, :, r]).norm(dim=-1).mean())


def test_contact_term_pulls_the_parts_judged_in_contact_together(anny_body, anny_collider):
    truth = facing_camera(anny_body, 4, x=(-0.3, 0.3))
    kp, conf = observe_params(anny_body, truth)
    job = job_of(kp, conf)
    # e.g. from the language source; side by side facing the camera, person 0's left hand is the
    # one next to person 1's right (the other sides would be moved there by the chirality check)
    job.contacts = [(t, "left hand", "right hand", 1.0) for t in range(4)]
    on = _hand_gap(anny_body, _fit(anny_body, anny_collider, job))
    off = _hand_gap(anny_body, _fit(anny_body, anny_collider, job, contact=0.0))
    assert on < off - 0.05


def _foot_gap(body, result) -> float:
    with torch.no_grad():
        joints = body(result.params()).joints
    return float(losses.common_ground(joints, torch.ones(joints.shape[1], dtype=torch.bool)).sqrt())


def test_common_ground_brings_both_people_onto_one_floor(anny_body, anny_collider):
    truth = facing_camera(anny_body, 4)
    transl = truth.transl.clone()
    transl[1, :, 1] -= 0.3  # person 1 floats 30 cm above person 0's floor (camera y points down)
    truth.transl = transl
    kp, conf = observe_params(anny_body, truth)
    on = _foot_gap(anny_body, _fit(anny_body, anny_collider, job_of(kp, conf), ground=10.0))
    off = _foot_gap(anny_body, _fit(anny_body, anny_collider, job_of(kp, conf), ground=0.0))
    assert on < 0.6 * off


def _elbow_depth(body, result) -> float:
    """How far person 0's right wrist is in front of (nearer than) the right elbow, m."""
    with torch.no_grad():
        lm = body(result.params()).blazepose33
    return float((lm[0, :, BLAZEPOSE33.index("right_elbow"), 2] - lm[0, :, BLAZEPOSE33.index("right_wrist"), 2]).mean())


def _forearm_job(body):
    """Person 0 points the right forearm straight at the camera: in 2D the wrist sits on the
    elbow, so the keypoints alone cannot say the forearm points forward; the landmarks can.
    Returns the job (with the landmarks as the keypoint model gives them) and the true depth
    of the elbow behind the wrist (m)."""
    truth = facing_camera(body, 4, yaw=(0.0, 0.0))
    pose = truth.body_pose.clone()
    pose[0, :, 18] = torch.tensor(ELBOW_FORWARD)  # right elbow (SMPL joint 19) bent 90 degrees
    truth.body_pose = pose
    kp, conf = observe_params(body, truth)
    with torch.no_grad():
        lm = body(truth).blazepose33.numpy()
    hips = [BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")]
    world = lm - lm[:, :, hips].mean(2, keepdims=True)
    world = np.einsum("ptji,ptkj->ptki", pose3d.ray_rotation(kp[:, :, hips].mean(2), K), world)  # along the crop's ray
    job = WindowJob(np.arange(4), np.arange(4) / 30.0, kp, conf, "blazepose33", np.array([0, 1]), K,
                    world=world.astype(np.float32))
    elbow, wrist = BLAZEPOSE33.index("right_elbow"), BLAZEPOSE33.index("right_wrist")
    return job, float((lm[0, :, elbow, 2] - lm[0, :, wrist, 2]).mean())


def test_3d_landmarks_decide_what_the_keypoints_cannot(anny_body, anny_collider):
    job, truth_depth = _forearm_job(anny_body)
    assert truth_depth > 0.15
    longer = {"iterations": 30, "iterations_alone": 10}
    on = _elbow_depth(anny_body, _fit(anny_body, anny_collider, job, longer))
    off = _elbow_depth(anny_body, _fit(anny_body, anny_collider, job, longer, pose3d=0.0))
    assert abs(on - truth_depth) < 0.8 * abs(off - truth_depth)


def test_initial_pose_from_the_3d_landmarks(anny_body, anny_collider):
    job, truth_depth = _forearm_job(anny_body)
    rigid_only = {"iterations_alone": 0, "iterations": 0}  # the initial stages alone
    on = _elbow_depth(anny_body, _fit(anny_body, anny_collider, job, {**rigid_only, "iterations_pose3d": 20}))
    off = _elbow_depth(anny_body, _fit(anny_body, anny_collider, job, rigid_only))
    assert abs(on - truth_depth) < 0.5 * abs(off - truth_depth)


def test_the_depth_sign_comparison_holds_which_way_a_bone_points_not_how_far():
    """fitting.pose3d_frame "depth-sign": a fitted bone pointing the landmarks' way in depth
    costs nothing however far it reaches (the landmarks flatten depth); one pointing the other
    way costs the product of the two depth components. The direction comparison ("camera")
    charges a bone that reaches further than the flattened landmark too."""
    end = pose3d.BONES[0, 1]  # one bone is weighed: its start at the origin, its end 0.3 m along x
    target = torch.zeros(1, 1, len(pose3d.BONES), 3)
    target[0, 0, 0, 0], target[0, 0, 0, 2] = 0.8, 0.6  # the landmarks: tilted towards the camera's far side
    weight = torch.zeros(1, 1, len(pose3d.BONES))
    weight[0, 0, 0] = 1.0

    def cost(depth: float, frame: str) -> float:
        landmarks = torch.zeros(1, 1, 33, 3)
        landmarks[0, 0, end] = torch.tensor([0.3, 0.0, depth])
        return float(pose3d.bone_direction_loss(landmarks, target, weight, frame))

    assert cost(0.2, "depth-sign") == 0.0 and cost(0.6, "depth-sign") == 0.0
    assert cost(-0.2, "depth-sign") == pytest.approx(0.6 * 0.2 / np.hypot(0.3, 0.2), rel=1e-4)
    assert cost(0.6, "camera") > cost(0.2, "camera") + 0.05


def test_ray_rotation_takes_the_optical_axis_onto_the_pixel_ray():
    uv = np.array([[100.0, 400.0], [320.0, 240.0]])
    rot = pose3d.ray_rotation(uv, K)
    ray = np.linalg.solve(K, np.c_[uv, np.ones(2)].T).T
    ray /= np.linalg.norm(ray, axis=-1, keepdims=True)
    assert np.allclose(rot @ np.array([0, 0, 1.0]), ray, atol=1e-9)
    assert np.allclose(rot @ np.swapaxes(rot, -1, -2), np.eye(3), atol=1e-9)


def test_a_hand_drawn_on_the_other_person_ends_near_them(anny_body, anny_collider):
    """Person 0 holds the left forearm back, its wrist drawn on person 1, who stands 0.35 m
    behind: with weights.reach the fitted wrist is within fitting.reach_margin of person 1,
    without it the keypoints leave the two farther apart."""
    from interaction_recon.fitting.reach import reach_pairs

    truth = facing_camera(anny_body, 4, x=(-0.2, 0.2), z=(3.0, 3.35), yaw=(0.0, 0.0))
    pose = truth.body_pose.clone()
    pose[0, :, 17] = torch.tensor((0.0, math.pi / 2, 0.0))  # left elbow (SMPL joint 18) bent back
    truth.body_pose = pose
    kp, conf = observe_params(anny_body, truth)
    wrist = BLAZEPOSE33.index("left_wrist")
    assert (reach_pairs(kp, conf, 0.2, 0.1, 0.15)[:, 1:3] == [0, wrist]).all(-1).any()

    def distance(**w) -> float:
        params = _fit(anny_body, anny_collider, job_of(kp, conf), {"iterations": 30}, **w).params()
        with torch.no_grad():
            lm = anny_body(params).blazepose33
        return float((lm[0, :, wrist, None] - lm[1]).norm(dim=-1).amin(-1).mean())

    margin = small_config().reach_margin
    assert distance(reach=20.0) < margin + 0.02 < distance()


def test_a_hand_drawn_on_the_others_shins_is_no_reach_pair(anny_body):
    """A held-out wrist drawn on the other person's shoulder is a reach pair; the same wrist
    drawn on their ankle is not (one of the two stands in front of the other)."""
    from interaction_recon.fitting.reach import reach_pairs

    truth = facing_camera(anny_body, 1, x=(-0.3, 0.3), z=(3.0, 3.6))
    kp, conf = observe_params(anny_body, truth)
    wrist = BLAZEPOSE33.index("right_wrist")

    def pairs_with_wrist_on(target: str) -> np.ndarray:
        moved = kp.copy()
        moved[0, :, wrist] = kp[1, :, BLAZEPOSE33.index(target)] + 2.0  # 2 px off the other's keypoint
        pairs = reach_pairs(moved, conf, 0.2, 0.1, 0.15)
        return pairs[(pairs[:, 1] == 0) & (pairs[:, 2] == wrist)]

    on_shoulder = pairs_with_wrist_on("left_shoulder")
    assert len(on_shoulder) == 1 and on_shoulder[0, 3] == BLAZEPOSE33.index("left_shoulder")
    assert len(pairs_with_wrist_on("left_ankle")) == 0


def test_the_reach_term_bends_the_arm_not_the_spine(anny_body):
    """The reach pull's gradient reaches the reaching arm's shoulder and elbow, and neither the
    spine nor the body's orientation: the trunk is not turned to bring a hand near the other."""
    from interaction_recon.fitting.reach import reach_loss

    params = facing_camera(anny_body, 1, x=(-0.2, 0.2), z=(3.0, 3.4))
    pose = params.body_pose.clone().requires_grad_()
    orient = params.global_orient.clone().requires_grad_()
    params.body_pose, params.global_orient = pose, orient
    out = anny_body(params)
    wrist, hip = BLAZEPOSE33.index("left_wrist"), BLAZEPOSE33.index("right_hip")
    pairs = torch.tensor([[0, 0, wrist, hip]])  # person 0's left wrist drawn on person 1's hip, 0.4 m behind
    reach_loss(out.blazepose33, out.rotations, pairs, margin=0.05).backward()
    grad = pose.grad[0, 0].norm(dim=-1)  # [23] body joints 1..23
    arm = grad[[15, 17]]  # SMPL joints 16 (left shoulder) and 18 (left elbow)
    assert (arm > 1e-3).all()
    # the shoulder keypoint's skin moves a little with the top of the spine: 1 % of the arm's pull; all of it without the collar frame
    assert grad[[2, 5, 8]].max() < 0.05 * arm.max()  # SMPL spine1..3
    assert orient.grad[0, 0].norm() < 0.05 * arm.max()


def test_the_held_keypoints_keep_a_relational_pull_off_the_evidence(anny_body, anny_collider):
    truth = facing_camera(anny_body, 4, x=(-0.3, 0.3))
    kp, conf = observe_params(anny_body, truth)
    job = job_of(kp, conf)
    job.contacts = [(t, "right hand", "left hand", 1.0) for t in range(4)]

    def reprojection(**w):
        result = _fit(anny_body, anny_collider, job, contact=100.0, **w)
        with torch.no_grad():
            pred = anny_body(result.params()).blazepose33
        from interaction_recon.fitting.camera import project

        uv = project(pred, torch.tensor(K, dtype=torch.float32)).numpy()
        return float(np.linalg.norm(uv - kp, axis=-1).mean())

    assert reprojection(evidence=300.0) < 0.75 * reprojection()


def _small_people_over_a_level_camera(anny_body):
    """Two people 0.8x the average height 3 m away, seen by a level camera: (their params,
    joints [2, T, 24, 3], keypoints, confidence, the camera's height over their floor in m)."""
    from interaction_recon.fitting import floor, scale

    truth = facing_camera(anny_body, 10, x=(-0.4, 0.4))
    truth.shape = anny_body.resized(truth.shape, torch.tensor([0.8, 0.8]))
    kp, conf = observe_params(anny_body, truth)
    with torch.no_grad():
        joints = anny_body(truth).joints
    up = torch.as_tensor(floor.up_vector(0.0, 0.0), dtype=joints.dtype)
    return truth, joints, kp, conf, float(-(joints[:, :, losses.FOOT_JOINTS] @ up).amin() + scale.FOOT_ABOVE_FLOOR)


def test_a_known_floor_puts_a_small_person_at_its_true_distance(anny_body, anny_collider):
    """A person 0.8x the average height 3 m away looks like an average one farther away. With
    the camera's height over the floor known (level camera), the floor sizing and then the
    feet-on-floor term bring the fit to the true distance: the term beats sizing alone, and
    both beat an unknown floor."""
    truth, joints, kp, conf, height = _small_people_over_a_level_camera(anny_body)
    depth = lambda r: float(np.abs(r.joints[:, :, 0, 2] - joints[:, :, 0, 2].numpy()).mean())  # noqa: E731  pelvis z error, m
    known = {"floor_sizing": True, "camera_height": height}
    on = depth(_fit(anny_body, anny_collider, job_of(kp, conf), known, floor=10.0))
    sizing_only = depth(_fit(anny_body, anny_collider, job_of(kp, conf), known, floor=0.0))
    unknown = depth(_fit(anny_body, anny_collider, job_of(kp, conf), {"floor_sizing": True}))
    assert on < 0.7 * sizing_only and sizing_only < 0.7 * unknown, (on, sizing_only, unknown)


def test_the_shape_term_keeps_the_size_the_floor_sizing_found_when_centred_on_it(anny_body, anny_collider):
    """fitting.shape_prior_sized: two people 0.8x the average height with the camera's height
    over the floor known. The floor sizing makes them smaller than the average body; centred on
    the sized bodies the shape term keeps that through the two-person stage, centred on the
    model's average it pulls them back towards the average (both weights heavy here)."""
    truth, joints, kp, conf, height = _small_people_over_a_level_camera(anny_body)

    def size_error(sized: bool) -> float:  # the largest relative stature error of the two
        settings = {"floor_sizing": True, "camera_height": height, "shape_prior_sized": sized, "iterations": 40}
        result = _fit(anny_body, anny_collider, job_of(kp, conf), settings, floor=0.0, shape=10.0, shape_sized=10.0)
        return float((anny_body.stature(torch.as_tensor(result.shape)) / anny_body.stature(truth.shape) - 1).abs().max())

    sized, average = size_error(True), size_error(False)
    assert sized < 0.6 * average, (sized, average)


def test_the_pair_stature_sets_the_pairs_overall_size_where_nothing_measures_it(anny_body, anny_collider):
    """fitting.pair_stature: with no camera height, depth image or passers-by, the floor sizing
    gives the pair's geometric-mean person that standing height (here 1.15x the model's average
    body); 0 leaves the pair the average body's size. The two-person stage then moves both fits'
    shapes alike (a few % here), so the two are compared with each other."""
    truth = facing_camera(anny_body, 6, x=(-0.4, 0.4))
    kp, conf = observe_params(anny_body, truth)
    average = float(anny_body.height(anny_body.default_shape(1))[0])

    def pair_height(stature: float) -> float:  # geometric mean of the two fitted heights, share of the average
        result = _fit(anny_body, anny_collider, job_of(kp, conf), {"floor_sizing": True, "pair_stature": stature})
        return float(anny_body.height(torch.as_tensor(result.shape)).log().mean().exp()) / average

    assert abs(pair_height(1.15 * average) / pair_height(0.0) - 1.15) < 0.03


def test_the_sized_bodies_are_held_by_their_own_weight(anny_body, anny_collider):
    """weights.shape_sized: after the floor sizing (camera height known) the shape term pulls
    towards the sized bodies with its own weight, apart from weights.shape's pull towards the
    average body: ten times the default holds their size through the two-person stage closer."""
    truth, joints, kp, conf, height = _small_people_over_a_level_camera(anny_body)

    def size_error(**weights) -> float:  # the largest relative stature error of the two
        settings = {"floor_sizing": True, "camera_height": height, "iterations": 40}
        result = _fit(anny_body, anny_collider, job_of(kp, conf), settings, floor=0.0, **weights)
        return float((anny_body.stature(torch.as_tensor(result.shape)) / anny_body.stature(truth.shape) - 1).abs().max())

    held, loose = size_error(shape_sized=10.0), size_error()
    assert held < loose - 0.02, (held, loose)  # 2 % of stature or more


def test_the_floor_sizing_takes_the_pitchs_up_when_asked(anny_body, anny_collider, monkeypatch):
    """fitting.floor_sizing_up: "pitch" hands the size ratio the floor's up of the pitch the
    upright term uses (here from the assumed camera height); "spine" leaves it to the spines."""
    from interaction_recon.fitting import window

    _, _, kp, conf, _ = _small_people_over_a_level_camera(anny_body)
    asked = []
    ratio = window.scale.ground_ratio
    monkeypatch.setattr(window.scale, "ground_ratio", lambda *a, **k: asked.append(k["up"]) or ratio(*a, **k))
    for source in ("pitch", "spine"):
        _fit(anny_body, anny_collider, job_of(kp, conf), {"floor_sizing": True, "floor_sizing_up": source})
    assert len(asked) == 2 and asked[1] is None
    assert asked[0].shape == (3,) and asked[0][1] < -0.9 and np.linalg.norm(asked[0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="floor_sizing_up"):
        _fit(anny_body, anny_collider, job_of(kp, conf), {"floor_sizing": True, "floor_sizing_up": "spines"})


def test_a_known_floor_gives_the_two_person_stage_its_own_steps(anny_body, anny_collider, monkeypatch):
    """fitting.iterations_known_floor: where the camera's pose over the floor is known (and the
    pair is sized absolutely), the cold window's last stage runs that many steps; without one,
    fitting.iterations."""
    from interaction_recon.fitting import objective

    _, _, kp, conf, height = _small_people_over_a_level_camera(anny_body)
    steps = []
    run = objective.WindowState.run
    monkeypatch.setattr(objective.WindowState, "run", lambda self, n, **k: steps.append(n) or run(self, n, **k))
    for settings in ({"camera_height": height}, {}):
        steps.clear()
        _fit(anny_body, anny_collider, job_of(kp, conf), {"floor_sizing": True, "iterations": 6,
                                                          "iterations_known_floor": 9, **settings})
        assert steps[-1] == (9 if settings else 6), steps


def test_floor_pose_round_trips_through_extrinsics():
    from interaction_recon.fitting import floor

    for pitch, roll in ((0.0, 0.0), (18.0, 0.0), (10.0, -7.0), (-5.0, 12.0)):
        up = floor.up_vector(pitch, roll)
        # a world-to-camera rotation whose image of the world's z axis is `up`
        z = up / np.linalg.norm(up)
        x = np.cross([0.0, 0.0, 1.0], z) if abs(z[2]) < 0.99 else np.array([1.0, 0.0, 0.0])
        x /= np.linalg.norm(x)
        R = np.stack([x, np.cross(z, x), z], 1)  # columns: the world axes in the camera frame
        h, p, r = floor.camera_pose(R, np.array([0.3, -2.0, 1.6]))
        assert (h, p, r) == pytest.approx((1.6, pitch, roll), abs=1e-9)


def test_the_floor_is_found_under_the_fitted_people_and_framed_for_tf(anny_body):
    """Two people standing 1.5 m below a camera pitched 15 deg down: the plane estimated from
    their feet has the true up direction and height; its TF frame sits on it, z up."""
    from scipy.spatial.transform import Rotation

    from interaction_recon.fitting import floor, scale

    truth = facing_camera(anny_body, 10, x=(-0.4, 0.4))
    pitch = np.radians(15.0)
    tilt = torch.as_tensor(Rotation.from_euler("x", pitch).as_matrix(), dtype=torch.float32)  # level -> pitched camera
    with torch.no_grad():
        joints = anny_body(truth).joints @ tilt.T
    up = floor.up_vector(15.0, 0.0)
    height = float(-(joints[:, :, losses.FOOT_JOINTS] @ torch.as_tensor(up, dtype=torch.float32)).amin()) \
        + scale.FOOT_ABOVE_FLOOR
    plane = floor.estimate(joints, torch.ones(10, dtype=torch.bool))
    assert np.degrees(np.arccos(np.clip(plane[:3] @ up, -1, 1))) < 3.0  # deg: the spine is the body's up
    assert abs(plane[3] - height) < 0.05  # m
    origin, q = floor.frame_pose(plane)
    assert abs(origin @ plane[:3] + plane[3]) < 1e-9  # on the plane
    np.testing.assert_allclose(Rotation.from_quat(q).as_matrix()[:, 2], plane[:3], atol=1e-9)
    assert floor.estimate(joints, torch.zeros(10, dtype=torch.bool)) is None


def test_the_upright_term_stands_people_up_in_the_world_not_in_the_image(anny_body, anny_collider):
    """Two upright people seen from a camera pitched 20 deg down lean towards it by the pitch
    in the camera frame, which their keypoints barely show. With the camera's pose known, the
    upright term brings the fitted trunks to the floor's up; without it they stay near the
    image's vertical, as the initialisation put them."""
    from interaction_recon.fitting import floor, scale

    pitch = 20.0
    truth = pitched_view(anny_body, facing_camera(anny_body, 8, x=(-0.4, 0.4)), pitch)
    kp, conf = observe_params(anny_body, truth)
    up = floor.up_vector(pitch, 0.0)
    with torch.no_grad():
        joints = anny_body(truth).joints
    assert lean_deg(joints.numpy(), up) < 3.0  # the truth stands upright
    height = float(-(joints[:, :, losses.FOOT_JOINTS] @ torch.as_tensor(up, dtype=torch.float32)).amin()) \
        + scale.FOOT_ABOVE_FLOOR
    known = {"camera_height": height, "camera_pitch": pitch}
    on = lean_deg(_fit(anny_body, anny_collider, job_of(kp, conf), known).joints, up)
    off = lean_deg(_fit(anny_body, anny_collider, job_of(kp, conf), known, upright=0.0).joints, up)
    assert on < 5.0 and off > on + 5.0, (on, off)
    # the camera's height assumed instead of its pose: the pitch is estimated from the feet
    assumed = lean_deg(_fit(anny_body, anny_collider, job_of(kp, conf), {"assumed_camera_height": height}).joints, up)
    assert assumed < off - 4.0, (assumed, off)


def test_the_pitch_follows_from_an_assumed_camera_height(anny_body):
    """People whose feet are 1.6 m below a camera pitched 12 deg: that height gives back the
    pitch; a height 20 cm off moves it by a few degrees at 3 m, in the right direction."""
    from interaction_recon.fitting import floor, scale

    truth = pitched_view(anny_body, facing_camera(anny_body, 6, x=(-0.4, 0.4)), 12.0)
    with torch.no_grad():
        joints = anny_body(truth).joints
    up = torch.as_tensor(floor.up_vector(12.0, 0.0), dtype=torch.float32)
    height = float(-(joints[:, :, losses.FOOT_JOINTS] @ up).amin()) + scale.FOOT_ABOVE_FLOOR
    seen = torch.ones(2, 6, dtype=torch.bool)
    assert floor.pitch_from_height(joints, seen, height) == pytest.approx(12.0, abs=1.0)
    higher = floor.pitch_from_height(joints, seen, height + 0.2)
    assert 12.5 < higher < 18.0
    assert floor.pitch_from_height(joints, torch.zeros(2, 6, dtype=torch.bool), height) is None


def _walkers(body, T: int, pitch: float, depth_change: float):
    """Two people crossing 4 m sideways while walking ``depth_change`` m away from a camera
    pitched ``pitch`` deg down (from 3.5 m)."""
    truth = facing_camera(body, T)
    s = torch.linspace(0.0, 1.0, T)
    x, z = -2.0 + 4.0 * s, 3.5 + depth_change * s
    truth.transl = torch.stack([torch.stack([x, torch.zeros(T), z], -1), torch.stack([-x, torch.zeros(T), z], -1)])
    return pitched_view(body, truth, pitch)


def test_the_pitch_follows_from_people_of_one_height_at_different_distances(anny_body, anny_collider):
    """Walkers from 3.5 to 7.5 m seen from a camera pitched 25 deg down, about at their hips:
    the one pitch under which they all have one height is found; at one distance it is not
    decided (every pitch fits). In the window fit without a known camera, that pitch stands
    the people up where the assumed 1.5 m camera height's pitch leaves them leaning."""
    from interaction_recon.fitting import floor

    kp, conf = observe_params(anny_body, _walkers(anny_body, 12, 25.0, 4.0))
    assert floor.pitch_from_horizon(kp, conf, K, "blazepose33", 1.5) == pytest.approx(25.0, abs=1.0)
    near, near_conf = observe_params(anny_body, _walkers(anny_body, 12, 25.0, 0.0))
    assert floor.pitch_from_horizon(near, near_conf, K, "blazepose33", 1.5) is None
    assert floor.pitch_from_horizon(kp, conf, K, "blazepose33", 0.0) is None  # switched off

    truth = floor.up_vector(25.0, 0.0)
    settings = {"assumed_camera_height": 1.5}
    horizon = lean_deg(_fit(anny_body, anny_collider, job_of(kp, conf), settings).joints, truth)
    assumed = lean_deg(_fit(anny_body, anny_collider, job_of(kp, conf), {**settings, "horizon_min_ratio": 0.0}).joints,
                       truth)
    assert horizon < 5.0 and assumed > horizon + 3.0, (horizon, assumed)


def _soles_and_noses(pitch: float, height: float, statures, distances, lateral) -> tuple[np.ndarray, np.ndarray]:
    """BlazePose-33 keypoints [1, N, 33, 2] (ankles and nose only; confidence [1, N, 33]) of N
    people standing ``distances`` m ahead (``lateral`` m aside) of a camera ``height`` m up,
    pitched ``pitch`` deg down (intrinsics K)."""
    p = np.radians(pitch)
    kp, conf = np.zeros((1, len(distances), 33, 2)), np.zeros((1, len(distances), 33))
    for i, (stature, d, x) in enumerate(zip(statures, distances, lateral)):
        for name, above_floor in (("left_ankle", 0.0), ("right_ankle", 0.0), ("nose", stature)):
            down = height - above_floor
            y, z = down * np.cos(p) - d * np.sin(p), down * np.sin(p) + d * np.cos(p)
            kp[0, i, BLAZEPOSE33.index(name)] = K[0, 0] * x / z + K[0, 2], K[1, 1] * y / z + K[1, 2]
            conf[0, i, BLAZEPOSE33.index(name)] = 1.0
    return kp, conf


def test_the_horizon_pitch_is_left_undecided_where_the_people_do_not_decide_it():
    """The pitch from people of one height is not taken where it is not decided: with statures
    spread by 20 % (sd) every pitch fits about as well (the minimum is not sharp), and from a
    ceiling camera pitched 65 deg down on people almost beneath it (soles over 60 deg below
    the horizon), where dev clips showed false minima, none is taken either. Switched off
    (sharpness or the sole limit lifted), a pitch comes out of both; with statures spread by
    3 % the pitch is found either way."""
    from interaction_recon.fitting import floor

    rng = np.random.default_rng(0)
    d, x = rng.uniform(3.0, 9.0, 60), rng.uniform(-1.5, 1.5, 60)
    for spread, found in ((0.03, True), (0.2, False)):
        kp, conf = _soles_and_noses(5.0, 1.5, 1.7 * np.exp(rng.normal(0.0, spread, 60)), d, x)
        pitch = floor.pitch_from_horizon(kp, conf, K, "blazepose33", 1.5)
        assert (pitch == pytest.approx(5.0, abs=1.5)) if found else pitch is None, (spread, pitch)
        assert floor.pitch_from_horizon(kp, conf, K, "blazepose33", 1.5, sharpness=1e9) is not None

    rng = np.random.default_rng(0)
    kp, conf = _soles_and_noses(65.0, 3.5, 1.7 * np.exp(rng.normal(0.0, 0.03, 40)), rng.uniform(0.8, 2.2, 40),
                                rng.uniform(-0.5, 0.5, 40))
    assert floor.pitch_from_horizon(kp, conf, K, "blazepose33", 1.5) is None
    lifted = floor.pitch_from_horizon(kp, conf, K, "blazepose33", 1.5, max_sole_deg=90.0, sharpness=1e9)
    assert lifted == pytest.approx(65.0, abs=1.5)


def _crowd_boxes(pitch: float, height: float, sizes, distances, lateral) -> np.ndarray:
    """Boxes [N, 4] px (intrinsics K) of N people ``sizes`` m tall standing ``distances`` m
    ahead (``lateral`` m aside) of a camera ``height`` m up, pitched ``pitch`` deg down."""
    p = np.radians(pitch)
    boxes = np.zeros((len(sizes), 4))
    for i, (size, d, x) in enumerate(zip(sizes, distances, lateral)):
        rows = []
        for above_floor in (size, 0.0):
            down = height - above_floor
            y, z = down * np.cos(p) - d * np.sin(p), down * np.sin(p) + d * np.cos(p)
            rows.append(K[1, 1] * y / z + K[1, 2])
        u = K[0, 0] * x / (height * np.sin(p) + d * np.cos(p)) + K[0, 2]
        half = 0.15 * (rows[1] - rows[0])
        boxes[i] = u - half, rows[0], u + half, rows[1]
    return boxes


def test_the_camera_height_and_pitch_follow_from_everyones_boxes():
    """Six people in view over ten frames (box heights 1.64 m, 3 % spread) 4-20 m before a
    camera 6 m up, pitched 30 deg down: their boxes give the pitch and, in box heights, the
    camera's height. Boxes cut off by the image's bottom edge are left out. Two people in view
    are too few to be an average (fitting.horizon_min_people; 0 switches it off). Six people
    standing still, statures spread by 20 %: the pitch does not hold over draws of the people
    (fitting.horizon_max_sd), though one comes out without the draws."""
    from interaction_recon.fitting import floor

    rng = np.random.default_rng(1)
    d, x = rng.uniform(4.0, 20.0, 60), rng.uniform(-2.0, 2.0, 60)
    ids = np.arange(6)
    frames = lambda b, k=6: [(ids[:k], f) for f in b.reshape(-1, k, 4)]  # noqa: E731  six people a frame
    boxes = _crowd_boxes(30.0, 6.0, 1.64 * np.exp(np.tile(rng.normal(0.0, 0.03, 6), 10)), d, x)
    found = floor.camera_from_boxes(frames(boxes), K, (480, 640), 1.64, 3, 1.5, 6.0)
    assert found is not None
    assert found[0] == pytest.approx(6.0, rel=0.05) and found[1] == pytest.approx(30.0, abs=1.0), found
    cut = boxes.copy()
    cut[::4, 3] = 480.0  # their feet below the image: the box ends at its edge
    cut[::4, 1] = 400.0
    kept = floor.camera_from_boxes(frames(cut), K, (480, 640), 1.64, 3, 1.5, 6.0)
    uncut = np.ones(60, bool)
    uncut[::4] = False
    left = [(i[u], f[u]) for (i, f), u in zip(frames(boxes), uncut.reshape(-1, 6))]
    assert kept is not None and kept == floor.camera_from_boxes(left, K, (480, 640), 1.64, 3, 1.5, 6.0)
    assert kept[1] == pytest.approx(30.0, abs=2.0), kept
    assert floor.camera_from_boxes(frames(boxes, 2), K, (480, 640), 1.64, 3, 1.5, 6.0) is None
    # with the pitch known (fitting.pair_camera: from the shins), two people's boxes give the height
    assert floor.height_from_boxes(frames(boxes, 2), K, (480, 640), 30.0, 1.64) == pytest.approx(6.0, rel=0.05)
    assert floor.height_from_boxes(frames(boxes, 2)[:2], K, (480, 640), 30.0, 1.64) is None  # 4 boxes: too few
    assert floor.camera_from_boxes(frames(boxes), K, (480, 640), 1.64, 0, 1.5, 6.0) is None
    still = np.tile(rng.uniform(4.0, 20.0, 6), 10)
    spread = _crowd_boxes(30.0, 6.0, 1.64 * np.exp(np.tile(rng.normal(0.0, 0.2, 6), 10)), still, x)
    assert floor.camera_from_boxes(frames(spread), K, (480, 640), 1.64, 3, 1.5, 6.0) is None
    assert floor.camera_from_boxes(frames(spread), K, (480, 640), 1.64, 3, 1.5, 6.0, resamples=0) is not None


def test_a_crowds_boxes_put_a_small_pair_at_its_true_distance(anny_body, anny_collider):
    """The pair is 0.8x the average height, 3 m from a level camera, with six average people
    4-12 m away in view (their boxes only). Those boxes give the camera's height over the floor,
    which sizes the pair and sets the floor under their feet as a known camera pose does: the
    pelvis depth error is well under the one the fit makes without them (horizon_min_people 0)."""
    truth, joints, kp, conf, height = _small_people_over_a_level_camera(anny_body)
    T = kp.shape[1]
    rng = np.random.default_rng(2)
    crowd = _crowd_boxes(0.0, height, np.full(6, 1.64), rng.uniform(4.0, 12.0, 6), rng.uniform(-2.0, 2.0, 6))
    job = job_of(kp, conf)
    job.image_size = (480, 640)
    job.everyone = [(np.arange(10, 16), crowd)] * T
    depth = lambda r: float(np.abs(r.joints[:, :, 0, 2] - joints[:, :, 0, 2].numpy()).mean())  # noqa: E731  pelvis z error, m
    boxes = _fit(anny_body, anny_collider, job, {"floor_sizing": True})
    without = _fit(anny_body, anny_collider, job, {"floor_sizing": True, "horizon_min_people": 0})
    assert boxes.floor[3] == pytest.approx(height, rel=0.05), (boxes.floor, height)
    assert depth(boxes) < 0.5 * depth(without), (depth(boxes), depth(without))


def test_planted_feet_put_a_stride_in_depth_on_the_floor(anny_body, anny_collider):
    """Person 0 stands in a stride along the line of sight (left leg forward, right leg back,
    both feet flat on the floor) before a camera pitched 20 deg down. In the image the stride
    barely shows: the fit from the keypoints leaves the feet at different heights. The keypoints
    stand still, so both ankles are planted, and the planted-feet term puts them on one floor,
    the known one or, without the camera's pose, one they share."""
    from interaction_recon.fitting import floor, scale, stance

    pitch, T = 20.0, 8
    standing = facing_camera(anny_body, T, x=(-0.4, 0.4), yaw=(0.0, 0.0))
    pose = standing.body_pose.clone()
    pose[0, :, 0, 0], pose[0, :, 1, 0] = -0.45, 0.45  # left hip forward, right hip back (SMPL joints 1, 2)
    pose[0, :, 6, 0], pose[0, :, 7, 0] = 0.45, -0.45  # the ankles (SMPL joints 7, 8) keep both feet flat
    standing.body_pose = pose
    truth = pitched_view(anny_body, standing, pitch)
    kp, conf = observe_params(anny_body, truth)
    up = torch.as_tensor(floor.up_vector(pitch, 0.0), dtype=torch.float32)

    def ankle_gap(joints) -> float:  # m, person 0's two ankles along the floor's up
        h = torch.as_tensor(joints)[0][:, losses.ANKLE_JOINTS] @ up
        return float((h[:, 0] - h[:, 1]).abs().mean())

    with torch.no_grad():
        assert ankle_gap(anny_body(truth).joints) < 0.01  # both feet on the floor
    heights = np.full((2, T), float(kp[..., 1].max() - kp[..., 1].min()))
    assert stance.planted(kp, conf, heights, "blazepose33", 30.0, 0.2, 0.05, 0.3)[:, 3:5].all()
    with torch.no_grad():
        height = float(-(anny_body(truth).joints[:, :, losses.FOOT_JOINTS] @ up).amin()) + scale.FOOT_ABOVE_FLOOR
    # the floor known (its planted feet held on it) or not (held at one height, the pitch estimated). Without the
    # camera's pose the fit alone leaves the feet nearer one floor, by an amount that differs between machines'
    # float arithmetic (on session 29's AMD EPYC 11.4 mm, on with the term 8.8, the truth 3.5): a smaller margin
    for settings, share in (({"camera_height": height, "camera_pitch": pitch}, 0.6), ({}, 0.9)):
        on = ankle_gap(_fit(anny_body, anny_collider, job_of(kp, conf), settings, planted=50.0).joints)
        off = ankle_gap(_fit(anny_body, anny_collider, job_of(kp, conf), settings, planted=0.0).joints)
        assert on < share * off, (settings, on, off)


def test_a_moving_ankle_is_not_planted():
    from interaction_recon.fitting import stance

    T = 12
    kp = np.zeros((2, T, 33, 2))
    kp[:, :, :, 1] = 300.0
    kp[0, :, BLAZEPOSE33.index("left_ankle"), 0] = np.arange(T) * 10.0  # 10 px a frame: a swinging foot
    conf = np.full((2, T, 33), 0.9)
    conf[1, 6, BLAZEPOSE33.index("right_ankle")] = 0.1  # one unsure frame: not planted around it
    feet = stance.planted(kp, conf, np.full((2, T), 200.0), "blazepose33", 30.0, 0.2, 0.05, 0.3)
    assert not feet[0, :, 0].any() and feet[0, 3:-3, 1].all()
    assert feet[1, 3:-3, 0].all() and not feet[1, 3:10, 1].any() and not feet[:, :3].any()


@pytest.mark.parametrize("smoothing", [4.0, 0.0])
def test_smoothed_landmark_bones_do_not_follow_a_flickering_depth(smoothing):
    """fitting.pose3d_smoothing: a forearm whose landmark depth flips sign every other frame
    (as BlazePose's does on a far, half-hidden arm) gives targets that hold one steady
    direction; without the smoothing they flip with it."""
    T = 20
    world = np.zeros((1, T, 33, 3), np.float32)
    elbow, wrist = BLAZEPOSE33.index("right_elbow"), BLAZEPOSE33.index("right_wrist")
    world[0, :, wrist] = [0.25, 0.0, 0.0]
    world[0, :, wrist, 2] = np.where(np.arange(T) % 2 == 0, 0.15, -0.05)  # mean depth 0.05 m towards far
    world[0, :, elbow] = 0.0
    unit, weight = pose3d.bone_targets(world, np.ones((1, T, 33), np.float32), 0.2, smoothing=smoothing)
    forearm = [b for b, (a, e) in enumerate(pose3d.BONES) if (a, e) == (elbow, wrist)][0]
    depth = unit[0, 2:-2, forearm, 2]  # away from the clip's ends
    assert weight[0, :, forearm].min() > 0 and np.allclose(np.linalg.norm(unit[0, :, forearm], axis=-1), 1, atol=1e-5)
    flipping = np.ptp(depth) > 0.5
    assert flipping == (smoothing == 0), depth


def _as_the_keypoint_model_gives(body, params, kp, pitch_deg: float = 0.0) -> np.ndarray:
    """World landmarks [2, T, 33, 3] of posed people, hip-centred along each crop's ray (the
    keypoint model's frame), turned by ``pitch_deg`` about the camera's x axis first: 0 gives
    them as seen; minus the camera's pitch, as a level camera would have seen them (upright)."""
    from scipy.spatial.transform import Rotation

    with torch.no_grad():
        lm = body(params).blazepose33.numpy().astype(np.float64)
    hips = [BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")]
    lm = (lm - lm[:, :, hips].mean(2, keepdims=True)) @ Rotation.from_euler("x", np.radians(pitch_deg)).as_matrix().T
    return np.einsum("ptji,ptkj->ptki", pose3d.ray_rotation(kp[:, :, hips].mean(2), K), lm).astype(np.float32)


def test_the_pitch_follows_from_the_landmarks_shins(anny_body):
    """Standing people seen from a camera pitched 15 deg down: their shins in the landmarks
    lean by the pitch more than seen from a level camera (the body model's neutral stance has
    the knees 5 deg ahead of the ankles), and give it back; shins seen too rarely, or lying
    flat as a seated person's, give none."""
    from interaction_recon.fitting import floor

    def shins_pitch(pitch: float) -> tuple[float | None, np.ndarray, np.ndarray]:
        truth = pitched_view(anny_body, facing_camera(anny_body, 8, x=(-0.4, 0.4)), pitch)
        kp, conf = observe_params(anny_body, truth)
        landmarks = pose3d.camera_landmarks(_as_the_keypoint_model_gives(anny_body, truth, kp), kp, conf, K, 0.2)
        return floor.pitch_from_shins(landmarks, conf), landmarks, conf

    level, _, _ = shins_pitch(0.0)
    pitched, landmarks, conf = shins_pitch(15.0)
    assert abs(level) < 6.0 and pitched - level == pytest.approx(15.0, abs=1.0)
    assert floor.pitch_from_shins(landmarks[:, :2], conf[:, :2]) is None  # 8 shins
    seated = landmarks.copy()
    for side in ("left", "right"):
        knee, ankle = BLAZEPOSE33.index(f"{side}_knee"), BLAZEPOSE33.index(f"{side}_ankle")
        seated[..., ankle, :] = seated[..., knee, :] + np.array([0.0, 0.1, -0.4], np.float32)
    assert floor.pitch_from_shins(seated, conf) is None


def test_the_shins_pitch_stands_people_up_where_a_wrong_assumed_height_leans_them(anny_body, anny_collider):
    """Without the camera's pose, a camera height assumed 0.8 m too high (1.7 m for 0.9) gives a
    pitch far too steep and the upright term leans the people by it; the shins' pitch (on by
    fitting.shin_pitch alone, shin_pitch_share 1; 5 deg steep, as the body model's neutral shins lean) stands
    them up."""
    from interaction_recon.fitting import floor

    pitch = 20.0
    truth = pitched_view(anny_body, facing_camera(anny_body, 8, x=(-0.4, 0.4)), pitch)
    kp, conf = observe_params(anny_body, truth)
    world = _as_the_keypoint_model_gives(anny_body, truth, kp)
    job = WindowJob(np.arange(8), np.arange(8) / 30.0, kp, conf, "blazepose33", np.array([0, 1]), K, world=world)
    with torch.no_grad():
        up = floor.up_vector(pitch, 0.0)
        height = float(-(anny_body(truth).joints[:, :, losses.FOOT_JOINTS] @ torch.as_tensor(up, dtype=torch.float32)).amin())
    settings = {"assumed_camera_height": height + 0.8, "horizon_min_ratio": 0.0}
    on = lean_deg(_fit(anny_body, anny_collider, job, {**settings, "shin_pitch": True, "shin_pitch_share": 1.0},
                       upright=10.0).joints, up)
    off = lean_deg(_fit(anny_body, anny_collider, job, {**settings, "shin_pitch": False}, upright=10.0).joints, up)
    assert on < 8.0 and off > on + 6.0, (on, off)
    # fitting.shin_pitch_share 0.5: the two pitches mixed half and half lean them between the two
    half = lean_deg(_fit(anny_body, anny_collider, job, {**settings, "shin_pitch": True, "shin_pitch_share": 0.5},
                         upright=10.0).joints, up)
    assert on + 2.0 < half < off - 2.0, (on, half, off)
    with pytest.raises(ValueError, match="shin_pitch_share"):
        _fit(anny_body, anny_collider, job, {**settings, "shin_pitch": True, "shin_pitch_share": 1.5})


def test_the_landmarks_torso_is_turned_to_stand_along_the_floors_up(anny_body, anny_collider):
    """A keypoint model that sees no camera pitch draws the people upright to the image. With
    the camera's pose known (pitched 20 deg down) and the upright term off, the landmarks'
    torso turned to the floor's up (fitting.pose3d_level) stands the fitted trunks up
    in the world; left as given, it leans them towards the image's vertical."""
    from interaction_recon.fitting import floor, scale

    pitch = 20.0
    truth = pitched_view(anny_body, facing_camera(anny_body, 8, x=(-0.4, 0.4)), pitch)
    kp, conf = observe_params(anny_body, truth)
    world = _as_the_keypoint_model_gives(anny_body, truth, kp, -pitch)
    job = WindowJob(np.arange(8), np.arange(8) / 30.0, kp, conf, "blazepose33", np.array([0, 1]), K, world=world)
    up = floor.up_vector(pitch, 0.0)
    with torch.no_grad():
        height = float(-(anny_body(truth).joints[:, :, losses.FOOT_JOINTS] @ torch.as_tensor(up, dtype=torch.float32))
                       .amin()) + scale.FOOT_ABOVE_FLOOR
    known = {"camera_height": height, "camera_pitch": pitch}
    on = lean_deg(_fit(anny_body, anny_collider, job, {**known, "pose3d_level": True}, upright=0.0, pose3d=10.0).joints, up)
    off = lean_deg(_fit(anny_body, anny_collider, job, {**known, "pose3d_level": False}, upright=0.0, pose3d=10.0).joints,
                   up)
    assert on < off - 4.0, (on, off)
