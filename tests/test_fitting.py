"""The window optimiser: each loss alone on toy configurations, initialisation, warm start,
missing people, the result type and the sliding-window stream."""
import math

import numpy as np
import pytest
import roma
import torch

from interaction_recon.body.model import BodyParams
from interaction_recon.body.skeleton import BLAZEPOSE33
from interaction_recon.config import Config, FittingConfig
from interaction_recon.fitting import contacts, losses, scale
from interaction_recon.fitting.camera import default_intrinsics, project
from interaction_recon.fitting.init import initial_params
from interaction_recon.fitting.result import Contact, Reconstruction
from interaction_recon.fitting.stream import (
    WindowStream,
    published,
    reconstruct_track,
    seam_jump,
    stitch,
    stitched_seams,
)
from interaction_recon.fitting.job import WindowJob
from interaction_recon.fitting.visibility import usable_confidence
from interaction_recon.fitting.window import WindowFitter

K = default_intrinsics(640, 480, 60.0)


def facing_camera(body, T, x=(-0.35, 0.35), z=(3.0, 3.0), yaw=(0.3, -0.3)):
    """Two people [2, T] standing in the camera frame, facing the camera (turned by ``yaw``)."""
    params = body.neutral_params(2, T)
    flip = roma.rotvec_to_rotmat(torch.tensor([math.pi, 0.0, 0.0]))
    turn = roma.rotvec_to_rotmat(torch.tensor([[0.0, y, 0.0] for y in yaw]))
    params.global_orient = roma.rotmat_to_rotvec(flip @ turn)[:, None].expand(2, T, 3).contiguous()
    params.transl = torch.tensor([[xi, 0.0, zi] for xi, zi in zip(x, z)])[:, None].expand(2, T, 3).contiguous()
    pose = params.body_pose.clone()
    pose[:, :, 15, 2], pose[:, :, 16, 2] = -1.1, 1.1  # arms down
    params.body_pose = pose
    return params


def pitched_view(body, truth, pitch_deg: float):
    """``truth`` [2, T] as a camera pitched ``pitch_deg`` down sees it (the people upright in
    the world): every joint p -> R p, R the level-to-pitched camera rotation."""
    from scipy.spatial.transform import Rotation

    tilt = torch.as_tensor(Rotation.from_euler("x", np.radians(pitch_deg)).as_matrix(), dtype=torch.float32)
    out = truth.map(lambda t: t.clone())
    out.global_orient = roma.rotmat_to_rotvec(tilt @ roma.rotvec_to_rotmat(truth.global_orient))
    with torch.no_grad():
        root = body.rest(truth.shape).joints[:, 0, 0][:, None]  # [2, 1, 3] the rest pelvis, the rotation's centre
    out.transl = (root + truth.transl) @ tilt.T - root
    return out


def lean_deg(joints: np.ndarray, up: np.ndarray) -> float:
    """Mean angle (deg) between the pelvis-to-neck directions of joints [2, T, 24, 3] and ``up`` [3]."""
    a, b = losses.UP_FROM
    spine = joints[:, :, b] - joints[:, :, a]
    cos = spine @ up / np.linalg.norm(spine, axis=-1)
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))).mean())


def observe_params(body, params):
    """Exact BlazePose-33 keypoints [2, T, 33, 2] and full confidence of posed people."""
    with torch.no_grad():
        kp = project(body(params).blazepose33, torch.tensor(K, dtype=torch.float32)).numpy()
    return kp, np.full(kp.shape[:3], 0.95, np.float32)


def job_of(kp, conf, frames=None, ids=(0, 1)):
    T = kp.shape[1]
    frames = np.arange(T) if frames is None else frames
    return WindowJob(frames, frames / 30.0, kp, conf, "blazepose33", np.array(ids), K)


def small_config(**kw) -> FittingConfig:
    """A fast window config; ``iterations`` also sets the known floor's steps unless those are given."""
    cfg = FittingConfig(window=16, stride=4, iterations_rigid=10, iterations=25, iterations_warm=10, refit_frames=8)
    kw.setdefault("iterations_known_floor", kw.get("iterations", cfg.iterations))
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


# ----------------------------------------------------------------------------- losses alone
def test_reprojection_is_confidence_weighted_and_robust():
    kp = torch.zeros(2, 1, 3, 2)
    scale = torch.full((2, 1), 100.0)
    pred = kp.clone()
    pred[0, 0, 0] = torch.tensor([5.0, 0.0])  # 5 % of the body: about half of sigma's loss
    conf = torch.ones(2, 1, 3)
    small = losses.reprojection(pred, kp, conf, scale)
    conf_off = conf.clone()
    conf_off[0, 0, 0] = 0.0
    assert losses.reprojection(pred, kp, conf_off, scale) == 0.0
    pred[0, 0, 0] = torch.tensor([500.0, 0.0])  # a wild outlier costs at most 1 per keypoint
    wild = losses.reprojection(pred, kp, conf, scale)
    assert small == pytest.approx(0.5 / 6, rel=1e-5)
    assert small < wild <= 1.0 / 6 + 1e-6


def test_a_wider_reprojection_sigma_keeps_the_inlier_cost_and_still_pulls_far_keypoints():
    kp, scale, conf = torch.zeros(1, 1, 1, 2), torch.full((1, 1), 100.0), torch.ones(1, 1, 1)

    def cost_and_pull(residual_px, sigma):
        pred = torch.tensor([[[[residual_px, 0.0]]]], requires_grad=True)
        cost = losses.reprojection(pred, kp, conf, scale, sigma)
        cost.backward()
        return cost.item(), pred.grad[..., 0].item()

    near = [cost_and_pull(0.5, s)[0] for s in (0.05, 0.2)]
    assert near[1] == pytest.approx(near[0], rel=0.01)  # quadratic near zero whatever sigma
    far = [cost_and_pull(40.0, s)[1] for s in (0.05, 0.2)]  # 40 % of the body away
    assert far[1] > 20 * far[0]  # the 5 % scale has all but let go of it; 20 % still pulls


def _steps(variable, loss_fn, n=30, lr=0.01):
    opt = torch.optim.Adam([variable], lr=lr)
    for _ in range(n):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()


def test_penetration_loss_separates_overlapping_bodies(anny_body, anny_collider):
    params = facing_camera(anny_body, 1, x=(-0.1, 0.1), yaw=(0.0, 0.0))
    rest = anny_collider.rest(params)
    shift = torch.zeros(2, 1, 3, requires_grad=True)

    def posed():
        return anny_body(BodyParams(params.global_orient, params.body_pose, params.transl + shift, params.shape))

    with torch.no_grad():
        before = float(anny_collider.penetration(posed(), rest).max())
    _steps(shift, lambda: losses.penetration(anny_collider, posed(), rest))
    with torch.no_grad():
        after = float(anny_collider.penetration(posed(), rest).max())
    assert before > 0.05
    assert after < 0.5 * before
    assert float(shift[1, 0, 0] - shift[0, 0, 0]) > 0.02  # pushed apart sideways


def test_contact_loss_pulls_the_touching_parts_together(anny_body, anny_collider):
    params = facing_camera(anny_body, 2, x=(-0.5, 0.5), yaw=(0.0, 0.0))
    shift = torch.zeros(2, 1, 3, requires_grad=True)

    def posed():
        return anny_body(BodyParams(params.global_orient, params.body_pose, params.transl + shift, params.shape))

    with torch.no_grad():
        out = posed()
    parts = anny_body.collision_coarse_parts
    pairs = contacts.estimate(out, parts, torch.ones(2, dtype=torch.bool), torch.ones(2), threshold=0.05,
                              external=[(0, "left hand", "right hand", 1.0), (1, "left hand", "right hand", 1.0)])
    assert len(pairs) == 1 and pairs[0][0].tolist() == [0, 1]
    def gap():
        with torch.no_grad():
            return float(anny_collider.contact_distance(posed(), "left hand", "right hand")[0])

    before = gap()
    _steps(shift, lambda: losses.contact(posed(), pairs), n=40, lr=0.01)
    assert 0.1 < before < 1.0
    assert gap() < 0.5 * before


def test_keypoint_shift_moves_the_limb_ends_along_their_bones(anny_body):
    """fitting.keypoint_shift: the fit's wrists (and elbows, knees, ankles) move along the bone
    from their parent by the given share, towards where the keypoint model puts them; the other
    keypoints stay, and all-zero shares leave the model's keypoints as they are."""
    from types import SimpleNamespace

    from interaction_recon.fitting.init import model_keypoints

    with torch.no_grad():
        points = anny_body(facing_camera(anny_body, 2), collision=False).blazepose33
    out = SimpleNamespace(blazepose33=points)
    assert torch.equal(model_keypoints(out, "blazepose33"), points)
    moved = model_keypoints(out, "blazepose33", [0.0, 0.1, 0.0, 0.0])
    wrist, elbow = BLAZEPOSE33.index("left_wrist"), BLAZEPOSE33.index("left_elbow")
    forearm = points[..., wrist, :] - points[..., elbow, :]
    assert torch.allclose(moved[..., wrist, :], points[..., wrist, :] + 0.1 * forearm)
    others = [i for i, n in enumerate(BLAZEPOSE33) if not n.endswith("_wrist")]
    assert torch.equal(moved[..., others, :], points[..., others, :])


def test_smoothness_removes_jitter():
    t = torch.linspace(0, 1, 20)
    clean = torch.stack([t, 0.5 * t, torch.zeros_like(t)], -1)[None, :, None].expand(2, 20, 3, 3)  # steady walk
    noisy = (clean + 0.01 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))).clone()
    x = noisy.clone().requires_grad_()
    pose = torch.zeros(2, 20, 23, 3)
    _steps(x, lambda: losses.smoothness(x, pose) + 1e-3 * (x - noisy).pow(2).sum(-1).mean(), n=150, lr=0.002)
    err = lambda a: float((a - clean).norm(dim=-1).mean())
    assert err(x.detach()) < 0.7 * err(noisy)
    accel = lambda a: float((a[:, 2:] - 2 * a[:, 1:-1] + a[:, :-2]).norm(dim=-1).mean())
    assert accel(x.detach()) < 0.2 * accel(noisy)


def test_joint_limits_only_penalise_excess():
    pose = torch.zeros(1, 1, 23, 3)
    assert losses.joint_limits(pose) == 0
    pose[0, 0, 3, 0] = 2.0  # left knee (limit 2.6): fine
    assert losses.joint_limits(pose) == 0
    pose[0, 0, 2, 0] = 1.6  # spine1 (limit 0.6): 1 rad too far
    assert float(losses.joint_limits(pose)) == pytest.approx(1.0)


def test_common_ground_levels_the_two_people(anny_body):
    params = facing_camera(anny_body, 1)
    lift = torch.zeros(2, 1, 3)
    lift[1, 0, 1] = -0.2  # person 1 floats 20 cm (camera y points down)
    shift = torch.zeros(2, 1, 3, requires_grad=True)

    def joints():
        p = BodyParams(params.global_orient, params.body_pose, params.transl + lift + shift, params.shape)
        return anny_body(p).joints

    before = float(losses.common_ground(joints(), torch.ones(1, dtype=torch.bool)))
    _steps(shift, lambda: losses.common_ground(joints(), torch.ones(1, dtype=torch.bool)), n=30, lr=0.01)
    assert before == pytest.approx(0.04, rel=0.05)
    assert float(losses.common_ground(joints(), torch.ones(1, dtype=torch.bool))) < 0.1 * before


# ----------------------------------------------------------------------------- initialisation
def test_resized_shape_reaches_the_asked_stature(anny_body):
    shape = anny_body.default_shape(3)
    ratio = torch.tensor([0.7, 1.0, 1.2])  # 0.7: below the adult height range, age takes over
    reached = anny_body.stature(anny_body.resized(shape, ratio)) / anny_body.stature(shape)
    assert torch.allclose(reached, ratio, rtol=0.01)


def test_floor_sizing_measures_and_undoes_a_size_mistake(anny_body):
    params = facing_camera(anny_body, 10, z=(3.0, 3.4))
    params.transl[:, :, 1] += 0.6  # camera 0.6 m above the pelvis (y points down): feet well below it
    with torch.no_grad():
        joints = anny_body(params, collision=False).joints
    assert scale.ground_ratio(joints, torch.ones(10, dtype=torch.bool)) == pytest.approx(1.0, abs=0.01)
    # Person 1 seen 20 % too big and too far: the same picture, feet below the floor.
    wrong, _ = scale.rescale_about_camera(anny_body, params, np.array([1.0, 1.2]))
    with torch.no_grad():
        kp_true, kp_wrong = (project(anny_body(p).blazepose33, torch.tensor(K, dtype=torch.float32)) for p in (params, wrong))
        wrong_joints = anny_body(wrong, collision=False).joints
    height_px = float(kp_true[1, 0, :, 1].max() - kp_true[1, 0, :, 1].min())
    assert float((kp_true - kp_wrong).norm(dim=-1).max()) < 0.03 * height_px  # ~invisible in 2D
    ratio = scale.ground_ratio(wrong_joints, torch.ones(10, dtype=torch.bool))
    assert ratio == pytest.approx(1 / 1.2, rel=0.02)
    # Doubting the up direction by 5 deg leaves only part of the difference; no doubt leaves all of it.
    doubted = scale.ground_ratio(wrong_joints, torch.ones(10, dtype=torch.bool), tolerance_deg=5.0)
    assert ratio < doubted < 1.0 - 0.02
    assert scale.ground_ratio(wrong_joints, torch.ones(10, dtype=torch.bool), tolerance_deg=0.0) == ratio
    fixed, _ = scale.rescale_about_camera(anny_body, wrong, np.array([1.0, ratio]))
    assert torch.allclose(fixed.transl[1], params.transl[1], rtol=0.02, atol=0.01)  # back within 2 %
    # With the camera's height above the floor known, each person is sized absolutely.
    valid = torch.ones(10, dtype=torch.bool)
    camera_height = float(-scale.foot_heights(joints, valid).mean()) + scale.FOOT_ABOVE_FLOOR
    both_wrong, _ = scale.rescale_about_camera(anny_body, params, np.array([0.85, 1.2]))
    with torch.no_grad():
        both_wrong_joints = anny_body(both_wrong, collision=False).joints
    assert scale.height_factors(both_wrong_joints, valid, camera_height) == pytest.approx([1 / 0.85, 1 / 1.2], rel=0.02)
    assert scale.height_factors(both_wrong_joints, valid, camera_height, limit=1.1) == pytest.approx([1.1, 1 / 1.1], rel=0.02)
    # A camera at floor level cannot tell sizes apart.
    level = joints.clone()
    level[..., 1] -= float(joints[..., 1].amax())
    assert scale.ground_ratio(level, torch.ones(10, dtype=torch.bool)) is None


def test_floor_sizing_compares_the_feet_along_the_floors_up_when_given(anny_body):
    """fitting.floor_sizing_up: a camera pitched 12 deg down sees two people of one size on one
    floor, 3 and 4 m away, fitted upright in the camera frame (as the 3D landmarks leave them):
    the farther one's feet lie higher in the camera's y. Along their camera-vertical spines they
    look of different sizes; along the floor's up (the pitch) they are one size."""
    from interaction_recon.fitting import floor

    params = facing_camera(anny_body, 10, z=(3.0, 4.0))
    params.transl[:, :, 1] += 0.6
    params.transl[1, :, 1] -= math.tan(math.radians(12.0)) * 1.0  # the floor rises 1 m farther away
    with torch.no_grad():
        joints = anny_body(params, collision=False).joints
    valid = torch.ones(10, dtype=torch.bool)
    assert scale.ground_ratio(joints, valid, up=floor.up_vector(12.0, 0.0)) == pytest.approx(1.0, abs=0.01)
    assert abs(scale.ground_ratio(joints, valid) - 1.0) > 0.05


def test_initial_params_recover_depth_and_heading(anny_body):
    truth = facing_camera(anny_body, 3, x=(-0.5, 0.6), z=(2.5, 4.0), yaw=(0.5, -2.6))
    kp, conf = observe_params(anny_body, truth)
    init, _ = initial_params(anny_body, kp, conf, "blazepose33", K)
    with torch.no_grad():
        pelvis = anny_body(init).joints[:, :, 0].numpy()
        true_pelvis = anny_body(truth).joints[:, :, 0].numpy()
    assert np.abs(pelvis[..., 2] - true_pelvis[..., 2]).max() < 0.15 * true_pelvis[..., 2].max()
    facing = roma.rotvec_to_rotmat(init.global_orient)[..., :, 2].numpy()  # body forward in the camera frame
    assert facing[0, :, 2].max() < 0  # person 0 faces the camera (-z)
    assert facing[1, :, 2].min() > 0  # person 1 turned away (+z)


def test_one_wrong_keypoint_does_not_pull_a_person_near(anny_body):
    """A knee found on the other person's leg (80 px off) lengthens the thigh and the shin; the
    initial depth (the shortest segment depth a disjoint segment confirms) stays within 10 % of
    the truth, where the shortest alone puts the person far too near."""
    from interaction_recon.body.skeleton import BLAZEPOSE33

    truth = facing_camera(anny_body, 3, z=(4.0, 4.0))
    kp, conf = observe_params(anny_body, truth)
    kp[0, :, BLAZEPOSE33.index("right_knee"), 0] += 80.0
    with torch.no_grad():
        true_z = anny_body(truth).joints[0, :, 0, 2].numpy()
    depth = {tol: initial_params(anny_body, kp, conf, "blazepose33", K, tolerance=tol)[1][0] for tol in (0.15, np.inf)}
    assert np.abs(depth[0.15] / true_z - 1).max() < 0.1, depth
    assert (depth[np.inf] < 0.85 * true_z).all(), depth


# ----------------------------------------------------------------------------- windows
def test_fit_reduces_reprojection_error(anny_body, anny_collider):
    truth = facing_camera(anny_body, 6)
    pose = truth.body_pose.clone()
    pose[0, :, 17, 1] = -1.2  # person 0 bends the right elbow
    truth.body_pose = pose
    kp, conf = observe_params(anny_body, truth)
    fitter = WindowFitter(anny_body, small_config(), anny_collider)
    result = fitter.fit(job_of(kp, conf))
    with torch.no_grad():
        init, _ = initial_params(anny_body, kp, conf, "blazepose33", K)
        init_kp = project(anny_body(init).blazepose33, torch.tensor(K, dtype=torch.float32)).numpy()
        fit_kp = project(anny_body(result.params()).blazepose33, torch.tensor(K, dtype=torch.float32)).numpy()
    err = lambda a: float(np.linalg.norm(a - kp, axis=-1).mean())
    assert err(fit_kp) < 0.6 * err(init_kp)
    assert err(fit_kp) < 6.0
    assert result.joints.shape == (2, 6, 24, 3) and result.body_pose.shape == (2, 6, 23, 3)
    assert np.isfinite(result.joints).all() and (result.confidence > 0.5).all()


@pytest.mark.parametrize("mode", ["regulariser", "closeapp"])
def test_fit_with_the_prior_fits_the_keypoints_and_carries_the_fine_tuned_network(anny_body, anny_collider, mode):
    truth = facing_camera(anny_body, 16)
    kp, conf = observe_params(anny_body, truth)
    fitter = WindowFitter(anny_body, small_config(prior=mode), anny_collider)
    result = fitter.fit(job_of(kp, conf))
    with torch.no_grad():
        fit_kp = project(anny_body(result.params()).blazepose33, torch.tensor(K, dtype=torch.float32)).numpy()
    assert float(np.linalg.norm(fit_kp - kp, axis=-1).mean()) < 8.0
    if mode == "closeapp":  # the network was fine-tuned, and the next window starts from it
        shipped = fitter.prior.state_dict()
        tuned = {k.removeprefix("net."): v for k, v in fitter._prior_weights.items()}
        assert any(not torch.equal(shipped[k], tuned[k]) for k in shipped)
        warm = fitter.fit(job_of(kp, conf, frames=np.arange(4, 20)), previous=result)
        assert np.isfinite(warm.joints).all()
    else:
        assert fitter._prior_weights is None


def test_the_prior_regulariser_pulls_the_fit_toward_what_the_prior_makes_of_it(anny_body, anny_collider):
    """With fitting.prior "regulariser", the fitted motion of jittery keypoints is one the
    prior changes less when it denoises it than the same fit with the term's weight at zero
    (scored on draws of noise the fit never saw, the same draws for both fits)."""
    from interaction_recon.prior.guidance import PriorRegulariser, condition

    truth = facing_camera(anny_body, 16)
    kp, conf = observe_params(anny_body, truth)
    kp = kp + np.random.default_rng(0).normal(0.0, 3.0, kp.shape).astype(np.float32)
    cond = condition(kp, conf, K, "blazepose33")
    fits = {}
    for weight in (0.0, 1.0):
        cfg = small_config(prior="regulariser")
        cfg.weights.prior = weight
        fitter = WindowFitter(anny_body, cfg, anny_collider)
        fits[weight] = fitter.fit(job_of(kp, conf)).params()

    def score(params, seed):
        judge = PriorRegulariser(fitter.prior, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            return float(np.mean([judge(params, cond) for _ in range(16)]))

    ratios = [score(fits[1.0], seed) / score(fits[0.0], seed) for seed in (1, 2, 3)]
    assert max(ratios) < 0.97, ratios


def test_the_prior_sits_out_a_pair_farther_apart_than_it_was_trained_on(anny_body, anny_collider):
    """Two people 2.4 m apart are no interaction the prior has seen: the window is fitted
    without it (no network fine-tuned); 0.7 m apart it joins."""
    fitter = WindowFitter(anny_body, small_config(prior="closeapp", iterations=2), anny_collider)
    for x, joins in (((-1.2, 1.2), False), ((-0.35, 0.35), True)):
        kp, conf = observe_params(anny_body, facing_camera(anny_body, 16, x=x))
        fitter._prior_weights = None
        fitter.fit(job_of(kp, conf))
        assert (fitter._prior_weights is not None) == joins, x


def test_closeapp_warm_window_joins_the_frozen_frames_whatever_the_network_says(anny_body, anny_collider,
                                                                               monkeypatch):
    """A warm window's first optimised frame continues from the last frozen one even when the
    prior's network puts every joint 0.3 rad away from the frozen motion (a 10 cm jump if
    the network's output were taken as it is)."""
    from interaction_recon.prior import guidance

    truth = facing_camera(anny_body, 20)
    kp, conf = observe_params(anny_body, truth)
    fitter = WindowFitter(anny_body, small_config(prior="closeapp"), anny_collider)
    cold = fitter.fit(job_of(kp[:, :16], conf[:, :16]))
    real = guidance.PriorMotion.forward
    monkeypatch.setattr(guidance.PriorMotion, "forward",
                        lambda self: (lambda p: BodyParams(p.global_orient, p.body_pose + 0.3, p.transl, p.shape))(real(self)))
    warm = fitter.fit(job_of(kp[:, 4:20], conf[:, 4:20], frames=np.arange(4, 20)), previous=cold)
    step = 1000 * np.linalg.norm(np.diff(warm.joints, axis=1), axis=-1).mean((0, 2))  # [15] mm per frame
    seam = 16 - fitter.config.refit_frames - 1  # between the last frozen and the first optimised frame
    assert step[seam] < 40.0, step


def test_warm_start_keeps_identities_after_a_tracker_swap(anny_body, anny_collider):
    truth = facing_camera(anny_body, 12, x=(-0.6, 0.6))
    kp, conf = observe_params(anny_body, truth)
    fitter = WindowFitter(anny_body, small_config(iterations=10), anny_collider)
    first = fitter.fit(job_of(kp[:, :8], conf[:, :8], ids=(7, 9)))
    swapped = job_of(kp[::-1, 4:12].copy(), conf[::-1, 4:12].copy(), frames=np.arange(4, 12), ids=(9, 7))
    second = fitter.fit(swapped, previous=first)
    assert second.track_ids.tolist() == [7, 9]
    x_first, x_second = first.joints[:, -1, 0, 0], second.joints[:, -1, 0, 0]
    assert x_first[0] < x_first[1] and x_second[0] < x_second[1]  # slot 0 stays the person on the left


@pytest.mark.parametrize("cold_on_new_person", [True, False])
def test_a_new_person_in_a_slot_is_fitted_cold_not_given_the_last_ones_shape(anny_body, anny_collider,
                                                                              cold_on_new_person):
    """fitting.cold_on_new_person: the second window's slot 1 holds a tracker id the first
    window never had (someone else took the slot; here a person 0.8x as tall). Warm-started,
    the window keeps the first window's shapes exactly (the warm stage fits no shape); fitted
    cold, it fits them anew. A tracker swap of the same two ids is no new person."""
    from interaction_recon.fitting.job import new_person

    truth = facing_camera(anny_body, 12, x=(-0.6, 0.6))
    kp, conf = observe_params(anny_body, truth)
    truth.shape[1:] = anny_body.resized(truth.shape[1:], torch.tensor([0.8]))
    kp_new, conf_new = observe_params(anny_body, truth)
    fitter = WindowFitter(anny_body, small_config(iterations=10, cold_on_new_person=cold_on_new_person), anny_collider)
    first = fitter.fit(job_of(kp[:, :8], conf[:, :8], ids=(7, 9)))
    job = job_of(kp_new[:, 4:12], conf_new[:, 4:12], frames=np.arange(4, 12), ids=(7, 11))
    assert new_person(job, first) and not new_person(job_of(kp[:, 4:12], conf[:, 4:12], np.arange(4, 12), (9, 7)), first)
    second = fitter.fit(job, previous=first)
    kept = np.allclose(second.shape, first.shape)
    assert kept != cold_on_new_person
    # the live node asks its stream which job would be warm-started (its fitter may be another process)
    from interaction_recon.config import Config
    from interaction_recon.fitting.stream import WindowStream

    config = Config()
    config.fitting = fitter.config
    stream = WindowStream(config, body=anny_body, fitter=object())
    stream.previous = first
    assert stream.warm_for(job) != cold_on_new_person


def test_a_person_unseen_for_long_is_not_published_and_short_gaps_carry_lower_confidence(anny_body, anny_collider):
    truth = facing_camera(anny_body, 60)
    kp, conf = observe_params(anny_body, truth)
    conf[1, 10:50] = 0.0  # 1.33 s unseen at 30 fps; fitting.max_unseen is 0.5 s = 15 frames
    kp[1, 10:50] = np.nan
    fitter = WindowFitter(anny_body, small_config(iterations_rigid=5, iterations=5), anny_collider)
    result = fitter.fit(job_of(kp, conf))
    assert np.isnan(result.joints[1, 26:34]).all() and (result.confidence[1, 26:34] == 0).all()
    assert np.isfinite(result.joints[1, 10:23]).all() and np.isfinite(result.joints[1, 36:50]).all()
    assert result.confidence[1, 20] < 0.5 * result.confidence[1, 5]  # 0.37 s into the gap
    assert result.confidence[1, :5].min() > 0.5 and result.confidence[0].min() > 0.5
    with torch.no_grad():
        truth_joints = anny_body(truth).joints.numpy()
    edge_error = np.linalg.norm(result.joints[1, 10:15, 0] - truth_joints[1, 10:15, 0], axis=-1).mean()
    assert edge_error < 0.5  # short gaps are filled, not thrown away
    assert all(c.frame < 10 + 15 or c.frame > 50 - 15 for c in result.contacts)


def test_a_person_never_seen_is_reported_unknown(anny_body, anny_collider):
    truth = facing_camera(anny_body, 8)
    kp, conf = observe_params(anny_body, truth)
    conf[1] = 0.0
    result = WindowFitter(anny_body, small_config(iterations_rigid=3, iterations=3), anny_collider).fit(job_of(kp, conf))
    assert np.isnan(result.joints[1]).all() and (result.confidence[1] == 0).all()
    assert np.isfinite(result.joints[0]).all() and result.contacts == []


def test_bad_observations_raise_clear_errors(anny_body, anny_collider):
    fitter = WindowFitter(anny_body, small_config(), anny_collider)
    kp = np.zeros((2, 4, 33, 2), np.float32)
    with pytest.raises(ValueError, match="keypoints must be"):
        fitter.fit(job_of(kp, np.ones((2, 4, 17), np.float32)))
    bad = job_of(kp, np.ones((2, 4, 33), np.float32))
    bad.K = np.zeros((3, 3))
    with pytest.raises(ValueError, match="intrinsics"):
        fitter.fit(bad)


# ----------------------------------------------------------------------------- result, stream
def _result(frames, value, contacts=()):
    T = len(frames)
    z = lambda *s: np.full((2, T) + s, value, np.float32)
    return Reconstruction(frames=np.asarray(frames), stamps=np.asarray(frames) / 30.0, global_orient=z(3),
                          body_pose=z(23, 3), transl=z(3), shape=np.zeros((2, 6), np.float32), joints=z(24, 3),
                          confidence=np.ones((2, T), np.float32), track_ids=np.array([3, 4]), K=K, fps=30.0,
                          body_model="anny", contacts=list(contacts))


def test_result_round_trips_through_npz(tmp_path):
    r = _result(range(5), 0.5, [Contact(2, "right hand", "left hand", [0.1, 0.2, 3.0], 0.01, 0.9)])
    r.joints[1, 3] = np.nan
    r.frame_ids[0, 3:] = 9
    loaded = Reconstruction.load(r.save(tmp_path))
    assert np.array_equal(loaded.joints, r.joints, equal_nan=True) and np.array_equal(loaded.frame_ids, r.frame_ids)
    (c,), (d,) = loaded.contacts, r.contacts
    assert (c.frame, c.part_a, c.part_b) == (d.frame, d.part_a, d.part_b) and loaded.body_model == "anny"
    assert np.allclose(c.point, d.point) and c.confidence == pytest.approx(d.confidence)
    z = np.load(tmp_path / "results.npz")
    assert z["joints"].dtype == np.float32 and z["K"].dtype == np.float64  # METRICS.md's contract
    assert z["contact_parts"].tolist() == [["right hand", "left hand"]]


def test_stitch_takes_each_frame_from_the_latest_window_and_seams_are_measured():
    a = _result(range(8), 0.0, [Contact(6, "chest", "chest", [0, 0, 3], 0.0, 1.0)])
    b = _result(range(4, 12), 1.0, [Contact(6, "back", "chest", [0, 0, 3], 0.0, 1.0)])
    b.frame_ids[0] = 7  # slot 0 passed to another person (in a stream, b would then start anew)
    s = stitch([a, b])
    assert s.num_frames == 12 and (s.joints[:, :4] == 0).all() and (s.joints[:, 4:] == 1).all()
    assert s.frame_ids[0].tolist() == [3] * 4 + [7] * 8 and (s.frame_ids[1] == 4).all()
    assert [c.part_a for c in s.contacts] == ["back"]
    joints, seams = published([a, b], stride=4)
    assert joints.shape[1] == 12 and seams == [8]
    ramp = np.linspace(0, 1, 20)[None, :, None, None] * np.ones((2, 20, 24, 3))
    assert seam_jump(ramp, [10]) == pytest.approx(0.0, abs=1e-9)
    ramp[:, 10:] += 0.01  # a 1 cm step at the seam
    assert seam_jump(ramp, [10]) == pytest.approx(10 * math.sqrt(3), rel=1e-6)


def test_stream_hands_out_a_job_every_stride_once_a_window_is_full(anny_body):
    config = Config(fitting=small_config())
    stream = WindowStream(config, body=anny_body)

    class Frame:
        def __init__(self, t):
            self.index, self.keypoints, self.confidence = t, np.zeros((2, 33, 2)), np.ones((2, 33))
            self.track_ids = np.array([1, 2])

    due = [t for t in range(30) if stream.add(Frame(t), t / 30, K) is not None]
    assert due == [15, 19, 23, 27]
    job = stream.flush()
    assert job.frames.tolist() == list(range(14, 30)) and job.fps == pytest.approx(30.0)
    with pytest.raises(ValueError, match="keypoints"):
        stream.add(type("F", (), {"index": 0, "keypoints": np.zeros((3, 33, 2)), "confidence": np.ones((3, 33)),
                                  "track_ids": np.zeros(3)})(), 0.0, K)


def test_the_stream_hands_each_job_everyone_seen_over_the_horizon_memory(anny_body):
    """fitting.horizon_memory 0.5 s at 30 fps: a job carries the boxes of everyone seen in the
    last 0.5 s (the window's frames and the ones before it, for the camera estimate), not older
    ones; offline (preload_everyone) the frames after it count too; 0 keeps none."""
    config = Config(fitting=small_config(horizon_memory=0.5))
    stream = WindowStream(config, body=anny_body)

    class Frame:
        def __init__(self, t):
            self.index, self.keypoints, self.confidence = t, np.zeros((2, 33, 2)), np.ones((2, 33))
            self.track_ids = np.array([1, 2])
            self.everyone = (np.array([1, 2, 7]), np.full((3, 4), float(t)))

    jobs = [job for t in range(40) if (job := stream.add(Frame(t), t / 30, K)) is not None]
    seen = [int(boxes[0, 0]) for _, boxes in jobs[-1].everyone]
    assert seen == list(range(int(jobs[-1].frames[-1]) - 15, int(jobs[-1].frames[-1]) + 1))
    stream = WindowStream(config, body=anny_body)
    stream.preload_everyone(np.arange(40) / 30, [Frame(t).everyone for t in range(40)])
    job = next(job for t in range(40) if (job := stream.add(Frame(t), t / 30, K)) is not None)
    assert [int(b[0, 0]) for _, b in job.everyone] == list(range(0, 31))  # frame 15 +- 15
    config.fitting.horizon_memory = 0.0
    stream = WindowStream(config, body=anny_body)
    for t in range(15):
        stream.add(Frame(t), t / 30, K)
    assert stream.add(Frame(15), 0.5, K).everyone is None


@pytest.mark.parametrize("between", [1, -1])
def test_a_slot_passing_to_another_person_ends_the_windows_so_none_holds_both(anny_body, between):
    """Window 16, stride 4: slot 0 holds person 1 in frames 0-21 (in the second case the slot is empty in
    frames 20-21), person 5 from frame 22. Once person 5 has held it for 8 frames (frame 29; no job
    meanwhile) the frames of person 1 no window has covered yet come out as one job, and the windows
    after it hold person 5's frames only (cold: nothing shared with the last one). A one-frame id
    (frame 40: a tracker glitch) starts nothing new, and no frame is left out."""
    config = Config(fitting=small_config())
    stream = WindowStream(config, body=anny_body)

    class Frame:
        def __init__(self, t):
            self.index, self.keypoints, self.confidence = t, np.zeros((2, 33, 2)), np.ones((2, 33))
            self.track_ids = np.array([1 if t < 20 else between if t < 22 else 9 if t == 40 else 5, 2])

    jobs = {t: job for t in range(50) if (job := stream.add(Frame(t), t / 30, K)) is not None}
    assert sorted(jobs) == [15, 19, 29, 37, 41, 45, 49]
    assert jobs[29].frames.tolist() == list(range(14, 22)) and jobs[29].track_ids.tolist() == [1, 2]  # the 8 before
    assert jobs[37].frames.tolist() == list(range(22, 38)) and jobs[37].track_ids.tolist() == [5, 2]
    assert all(job.frames.min() >= 22 for t, job in jobs.items() if t > 29)
    assert set(np.concatenate([job.frames for job in jobs.values()])) == set(range(50))


@pytest.mark.slow
def test_sliding_windows_join_without_jumps(anny_body):
    T = 40
    truth = facing_camera(anny_body, T)
    walk = torch.linspace(0, 0.6, T)
    truth.transl = truth.transl + torch.stack([walk, 0 * walk, 0 * walk], -1)[None]
    kp, conf = observe_params(anny_body, truth)
    config = Config(fitting=small_config())
    result, windows = reconstruct_track(kp, conf, K, config, stream=WindowStream(config, body=anny_body))
    assert len(windows) == 7 and result.num_frames == T
    # Offline (stitched) output: only the frozen/optimised boundary inside each window can jump.
    assert abs(seam_jump(result.joints, stitched_seams(windows, config.fitting.refit_frames))) < 15.0  # mm
    # Live output (each window's newest frames): the next window may revise the last ones.
    joints, seams = published(windows, config.fitting.stride)
    assert abs(seam_jump(joints, seams)) < 25.0


HAND_POINTS = [f"right_{p}" for p in ("pinky", "index", "thumb")]


@pytest.mark.parametrize("ignored", [HAND_POINTS, []], ids=["ignored", "used"])
def test_ignored_keypoints_do_not_pull_the_fit(anny_body, anny_collider, ignored):
    """Person 0's right hand points 30 px off its wrist, towards person 1 (as where the top-down
    keypoint model's crop held the other person's hand: shoulder_pat_far). Named in
    ``fitting.ignored_keypoints`` they leave person 0's right wrist on its keypoint; used, they
    pull it away (the case that makes this test fail with the option off)."""
    truth = facing_camera(anny_body, 6)
    kp, conf = observe_params(anny_body, truth)
    hand = [BLAZEPOSE33.index(n) for n in HAND_POINTS]
    kp[0][:, hand] += np.array([30.0, 0.0], np.float32)
    fitter = WindowFitter(anny_body, small_config(ignored_keypoints=ignored), anny_collider)
    result = fitter.fit(job_of(kp, conf))
    with torch.no_grad():
        fitted = project(anny_body(result.params()).blazepose33, torch.tensor(K, dtype=torch.float32)).numpy()
    wrist = BLAZEPOSE33.index("right_wrist")
    error = float(np.linalg.norm(fitted[0, :, wrist] - kp[0, :, wrist], axis=-1).mean())
    assert (error < 5.0) == bool(ignored)


def test_an_unknown_ignored_keypoint_is_a_clear_error():
    with pytest.raises(ValueError, match="not blazepose33 keypoints"):
        usable_confidence(np.zeros((2, 1, 33, 2)), np.ones((2, 1, 33)), 0.2, "blazepose33", ["left_wing"])
