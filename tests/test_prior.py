"""The proxemics diffusion prior: representation, denoiser, training, export, runtimes,
dataset loaders and its two uses inside the optimisation."""
import argparse
import ctypes
import json
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import roma
import torch

from interaction_recon.body.model import BodyParams
from interaction_recon.prior import data, export, guidance, model, train
from interaction_recon.prior.diffusion import Diffusion
from interaction_recon.prior.export import OnnxPrior, example_inputs, export_onnx
from interaction_recon.prior.tensorrt_runtime import TensorRTPrior, WindowProfile, profile_shapes

torch.set_num_threads(1)
TINY = model.PriorConfig(width=32, depth=1, heads=2, mlp_ratio=2, diffusion_steps=20)


def random_params(T: int = 8, seed: int = 0) -> BodyParams:
    g = torch.Generator().manual_seed(seed)
    return BodyParams(global_orient=torch.randn(2, T, 3, generator=g) * 0.8,
                      body_pose=torch.randn(2, T, 23, 3, generator=g) * 0.3,
                      transl=torch.tensor([0.0, 0.0, 3.0]) + torch.randn(2, T, 3, generator=g) * 0.3,
                      shape=torch.rand(2, 6, generator=g))


@pytest.fixture(scope="module")
def clip(anny_body):
    motion = data.motions.build_keyframed("handshake", np.random.default_rng(0), anny_body)
    return data.make_clip("handshake-0", motion.params, anny_body)


@pytest.fixture(scope="module")
def tiny_batch(clip):
    return data.WindowSampler([clip], np.random.default_rng(1)).batch(4, 24)


# ---------------------------------------------------------------- representation
def test_encode_decode_round_trip():
    params = random_params()
    x = model.encode(params)
    assert x.shape == (2, 8, model.MOTION_DIM)
    back = model.decode(x)
    for name in ("global_orient", "body_pose"):
        a, b = (roma.rotvec_to_rotmat(getattr(p, name)) for p in (params, back))
        assert torch.allclose(a, b, atol=1e-5), name
    assert torch.allclose(back.transl, params.transl, atol=1e-5)
    assert torch.allclose(back.shape, params.shape, atol=1e-6)
    batch = model.encode_batch([params, random_params(seed=1)])
    assert batch.shape == (2, 2, 8, model.MOTION_DIM)
    assert torch.allclose(model.decode(batch)[1].transl, random_params(seed=1).transl, atol=1e-5)


def test_forward_kinematics_equals_the_body_models_joints_with_unrotated_collars(anny_body):
    params = random_params(T=3)
    params.body_pose[:, :, 12:14] = 0.0  # the collars (joints 13, 14)
    with torch.no_grad():
        expected = anny_body(params, collision=False).joints
        rest = anny_body.rest(params.shape).joints[:, 0]
    assert torch.allclose(model.joints(model.encode(params), rest), expected, atol=1e-4)


# ---------------------------------------------------------------- denoiser
def test_denoiser_output_shape_and_person_swap_swaps_outputs():
    net = model.Denoiser(TINY).eval()
    x, step, cond = example_inputs(2, 10, net)
    with torch.no_grad():
        out = net(x, step, cond)
        swapped = net(x.flip(1), step, cond.flip(1))
    assert out.shape == x.shape
    assert torch.allclose(swapped, out.flip(1), atol=1e-5)
    assert not torch.allclose(out[:, 0], out[:, 1], atol=1e-3)  # the two people are not averaged


def test_preconditioning_returns_the_input_at_level_zero_and_blends_above():
    net = model.Denoiser(TINY).eval()
    x, _, cond = example_inputs(2, 6, net)
    with torch.no_grad():
        assert torch.allclose(net(x, torch.zeros(2), cond), x, atol=1e-6)
        near = (net(x, torch.ones(2), cond) - x).abs().mean()
        far = (net(x, torch.full((2,), 20.0), cond) - x).abs().mean()
    assert 0 < near < far


def test_missing_keypoints_carry_no_position():
    net = model.Denoiser(TINY).eval()
    x, step, cond = example_inputs(1, 6, net)
    cond[..., 2] = 0.0
    moved = cond.clone()
    moved[..., :2] += 5.0
    with torch.no_grad():
        assert torch.allclose(net(x, step, cond), net(x, step, moved))


def test_ddim_sampling_from_a_start_motion_returns_clean_motion_shape():
    net = model.Denoiser(TINY).eval()
    diffusion = Diffusion.for_model(net)
    x, _, cond = example_inputs(1, 12, net)
    with torch.no_grad():
        out = diffusion.sample(net, cond, x_start=x, start=8, strides=3)
        full = diffusion.sample(net, cond, shape=x.shape, strides=4)
    assert out.shape == full.shape == x.shape
    assert torch.equal(diffusion.sample(net, cond, x_start=x, start=0), x)  # level 0: nothing to denoise


def test_noise_is_scaled_to_each_features_spread():
    net = model.Denoiser(TINY)
    spread = torch.linspace(0.02, 1.0, model.MOTION_DIM)
    net.set_statistics(torch.randn(4000, model.MOTION_DIM) * spread + 3.0)
    diffusion = Diffusion.for_model(net)
    x0 = torch.full((64, 2, 8, model.MOTION_DIM), 3.0)
    noisy = diffusion.q_sample(x0, torch.full((64,), TINY.diffusion_steps))
    measured = noisy.flatten(0, 2).std(0)
    assert torch.allclose(measured, spread, rtol=0.15)
    assert torch.allclose(diffusion.to_z(diffusion.from_z(x0)), x0, atol=1e-5)


# ---------------------------------------------------------------- data
def test_window_sampler_gives_camera_frame_motion_and_masked_conditions(clip):
    sampler = data.WindowSampler([clip], np.random.default_rng(0))
    batch = sampler.batch(6, 32)
    assert batch["x"].shape == (6, 2, 32, model.MOTION_DIM)
    assert batch["cond"].shape == (6, 2, 32, 33, 3)
    depth = model.decode_rotmats(batch["x"])[1][..., 2]
    assert (depth > 1.0).all() and (depth < 8.0).all()  # the pair stands 2.5-5 m in front of the camera
    conf = batch["cond"][..., 2]
    assert ((conf == 0) | ((conf >= 0.1) & (conf <= 1.0))).all()
    assert (batch["cond"][..., :2][conf == 0] == 0).all()


def test_reaction_masking_hides_one_whole_person(clip):
    masking = data.Masking(frames=0.0, person=1.0, nothing=0.0, coco_only=0.0)
    sampler = data.WindowSampler([clip], np.random.default_rng(3), masking)
    conf = sampler.batch(4, 16)["cond"][..., 2]
    seen = (conf > 0).flatten(2).any(-1)  # [B, 2]
    assert (seen.sum(-1) == 1).all()


def _upright_orient(up: str, T: int) -> np.ndarray:
    """Axis-angle turning SMPL's +y (body up) into the dataset's world up axis."""
    rot = {"y": [0.0, 0.0, 0.0], "z": [np.pi / 2, 0.0, 0.0]}[up]
    return np.tile(np.asarray(rot, np.float32), (2, T, 1))


def _check_clip(seq, anny_body, T: int):
    clip = data.to_clip(seq, anny_body)
    up = roma.rotvec_to_rotmat(clip.params.global_orient)[..., :, 1]
    assert clip.params.batch == (2, T)
    assert torch.allclose(up, torch.tensor([0.0, 1.0, 0.0]).expand_as(up), atol=1e-4)  # turned y-up
    gap = lambda p: np.linalg.norm(p[0] - p[1], axis=-1)  # noqa: E731  pelvis distance is kept
    pelvis = (clip.params.transl + anny_body.rest(clip.params.shape).joints[:, 0, 0][:, None]).detach().numpy()
    step = len(seq.pelvis[0]) // T
    assert np.allclose(gap(pelvis), gap(seq.pelvis[:, ::step][:, :T]), atol=1e-4)
    assert float(clip.keypoints[..., 1].min()) > -0.05  # nobody below the floor


def test_hi4d_loader_reads_its_layout(tmp_path, anny_body):
    folder = tmp_path / "pair00" / "hug00" / "smpl"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for t in range(5):
        np.savez(folder / f"{t:06d}.npz", global_orient=_upright_orient("y", 1)[:, 0],
                 body_pose=rng.normal(size=(2, 69)).astype(np.float32) * 0.1,
                 transl=np.array([[0.0, 0.9, 0.0], [0.5, 0.9, 0.1 * t]], np.float32),
                 betas=np.zeros((2, 10), np.float32),
                 joints_3d=np.array([[[0.0, 1.0, 0.0]], [[0.5, 1.0, 0.1 * t]]], np.float32).repeat(24, 1))
    (seq,) = data.load_hi4d(tmp_path)
    assert seq.name == "pair00/hug00" and seq.body_pose.shape == (2, 5, 23, 3) and seq.fps == 30.0
    assert np.allclose(seq.pelvis[1, 3], [0.5, 1.0, 0.3])
    _check_clip(seq, anny_body, 5)


def test_chi3d_loader_reads_its_layout(tmp_path, anny_body):
    folder = tmp_path / "s02" / "smplx"
    folder.mkdir(parents=True)
    T = 10
    rot = lambda n: np.tile(np.eye(3), (2, T, n, 1, 1))  # noqa: E731
    (folder / "Hug 1.json").write_text(json.dumps({
        "transl": np.stack([np.zeros((T, 3)), np.tile([0.6, 0.0, 0.0], (T, 1))]).tolist(),
        "global_orient": rot(1).tolist(), "body_pose": rot(21).tolist(),
        "betas": np.zeros((2, T, 10)).tolist()}))
    (seq,) = data.load_chi3d(tmp_path)
    assert seq.name == "s02/Hug 1" and seq.body_pose.shape == (2, T, 23, 3) and seq.fps == 50.0
    assert np.allclose(seq.body_pose, 0.0, atol=1e-6)
    _check_clip(seq, anny_body, 6)  # 50 fps -> 30 fps


def test_interhuman_loader_reads_its_layout(tmp_path, anny_body):
    (tmp_path / "motions").mkdir()
    T = 7
    person = lambda x: {"trans": np.tile([x, 0.0, 0.9], (T, 1)), "root_orient": _upright_orient("z", T)[0],  # noqa: E731
                        "pose_body": np.zeros((T, 63)), "betas": np.zeros(10), "gender": "neutral"}
    with open(tmp_path / "motions" / "1234.pkl", "wb") as f:
        pickle.dump({"person1": person(0.0), "person2": person(0.7), "mocap_framerate": 30.0}, f)
    (seq,) = data.load_interhuman(tmp_path)
    assert seq.name == "1234" and seq.global_orient.shape == (2, T, 3)
    _check_clip(seq, anny_body, T)


# ---------------------------------------------------------------- training
def test_training_steps_lower_the_loss_on_a_tiny_batch(tiny_batch):
    torch.manual_seed(0)
    net = model.Denoiser(TINY)
    diffusion = Diffusion.for_model(net)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    weights = train.LossWeights()
    seeded = lambda: torch.Generator().manual_seed(7)  # noqa: E731  the same noise every step
    first = train.training_step(net, diffusion, opt, tiny_batch, weights, seeded())["total"]
    for _ in range(15):
        last = train.training_step(net, diffusion, opt, tiny_batch, weights, seeded())["total"]
    assert last < 0.7 * first


def test_losses_vanish_for_a_perfect_prediction(tiny_batch):
    terms = train.losses(tiny_batch["x"], tiny_batch["x"], tiny_batch["rest"])
    assert set(terms) == {"param", "joints", "reprojection", "velocity", "interaction"}
    assert all(float(v) < 1e-6 for v in terms.values())


def _tiny_config(out, steps):
    return train.TrainConfig(out=str(out), steps=steps, batch=2, window=12, long_window=16, eval_every=1,
                             val_batches=1, warmup=2, model=TINY)


def test_resume_restores_step_optimizer_and_randomness(tmp_path, clip):
    clips = ([clip], [clip])
    straight = train.train(_tiny_config(tmp_path / "a", 4), clips=clips, progress=False)
    train.train(_tiny_config(tmp_path / "b", 2), clips=clips, progress=False)
    resumed = train.train(_tiny_config(tmp_path / "b", 4), resume=True, clips=clips, progress=False)
    a, b = (torch.load(tmp_path / d / "last.pt", weights_only=False) for d in "ab")
    assert b["step"] == 4 and [h["step"] for h in b["history"]] == [1, 2, 3, 4]
    assert b["optimizer"]["state"][0]["step"] == a["optimizer"]["state"][0]["step"] == 4
    for k in a["model"]:
        assert torch.allclose(a["model"][k], b["model"][k], atol=1e-6), k
    assert resumed["final"]["val"]["total"] == pytest.approx(straight["final"]["val"]["total"], rel=1e-5)
    assert (tmp_path / "b" / "loss.png").stat().st_size > 1000
    net = guidance.load_prior(tmp_path / "b" / "prior.pt")  # the shippable float16 form loads
    assert net.cfg == TINY


# ---------------------------------------------------------------- export and runtimes
def test_onnx_export_matches_pytorch_with_dynamic_batch_and_frames(tmp_path):
    torch.manual_seed(0)
    net = model.Denoiser().eval()
    net.set_statistics(torch.randn(50, model.MOTION_DIM) * 0.3 + 0.1)
    path = export_onnx(net, tmp_path / "prior.onnx", frames=32)
    runtime = OnnxPrior(path, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert runtime.providers[-1] == "CPUExecutionProvider"
    assert runtime.cfg == net.cfg and torch.allclose(runtime.feature_std, net.feature_std)  # metadata travels
    for batch, frames in ((1, 32), (3, 20)):
        x, step, cond = example_inputs(batch, frames, net)
        with torch.no_grad():
            expected = net(x, step, cond)
        assert (runtime(x, step, cond) - expected).abs().max() < 1e-4


class FakeContext:
    """Records the runner's calls; 'runs' the engine by copying x_t into x0 (same shape)."""

    def __init__(self):
        self.shapes, self.addresses = {}, {}

    def set_input_shape(self, name, shape):
        self.shapes[name] = tuple(shape)

    def set_tensor_address(self, name, address):
        self.addresses[name] = address

    def get_tensor_shape(self, name):
        assert name == "x0"
        return self.shapes["x_t"]

    def execute_async_v3(self, stream):
        n = int(np.prod(self.shapes["x_t"])) * 4
        ctypes.memmove(self.addresses["x0"], self.addresses["x_t"], n)
        return True


class FakeEngine:
    def __init__(self, names=("x_t", "step", "cond", "x0"), profile=WindowProfile(batch=(1, 1, 2), frames=(8, 16, 32))):
        self.names, self.context = list(names), FakeContext()
        self.profile = profile_shapes(profile, model.PriorConfig())
        self.num_io_tensors = len(names)

    def get_tensor_name(self, i):
        return self.names[i]

    def get_tensor_mode(self, name):
        return FAKE_TRT.TensorIOMode.OUTPUT if name == "x0" else FAKE_TRT.TensorIOMode.INPUT

    def get_tensor_profile_shape(self, name, profile):
        return self.profile[name]

    def create_execution_context(self):
        return self.context


FAKE_TRT = SimpleNamespace(TensorIOMode=SimpleNamespace(INPUT="input", OUTPUT="output"))


def test_tensorrt_profile_shapes_cover_the_window():
    shapes = profile_shapes(WindowProfile(batch=(1, 2, 4), frames=(16, 128, 256)))
    assert shapes["x_t"] == ((1, 2, 16, 153), (2, 2, 128, 153), (4, 2, 256, 153))
    assert shapes["step"] == ((1,), (2,), (4,))
    assert shapes["cond"][2] == (4, 2, 256, 33, 3)
    with pytest.raises(ValueError, match="min <= opt <= max"):
        profile_shapes(WindowProfile(frames=(128, 64, 256)))


def test_tensorrt_runner_binds_shapes_and_addresses_on_a_fake_engine():
    engine = FakeEngine()
    runner = TensorRTPrior(engine, trt=FAKE_TRT, meta=export.metadata(model.Denoiser(TINY)))
    assert runner.cfg == TINY and runner.feature_mean.shape == (model.MOTION_DIM,)
    x, step, cond = example_inputs(2, 24)
    out = runner(x, step.long(), cond)  # integer steps are cast to the graph's float32
    assert torch.equal(out, x)
    assert engine.context.shapes == {"x_t": (2, 2, 24, 153), "step": (2,), "cond": (2, 2, 24, 33, 3)}
    assert engine.context.addresses["x0"] == out.data_ptr()
    with pytest.raises(ValueError, match="outside the engine's profile"):
        runner(*example_inputs(1, 64))
    with pytest.raises(ValueError, match="expected"):
        TensorRTPrior(FakeEngine(names=("x_t", "cond", "x0")), trt=FAKE_TRT)


# ---------------------------------------------------------------- guidance
def test_condition_normalises_by_intrinsics_and_maps_layouts():
    K = np.array([[500.0, 0, 320], [0, 400.0, 240], [0, 0, 1]])
    kp = np.full((2, 3, 17, 2), [820.0, 640.0])
    conf = np.full((2, 3, 17), 0.9)
    kp[0, 0, 5] = np.nan
    cond = guidance.condition(kp, conf, K, "coco17")
    assert cond.shape == (2, 3, 33, 3)
    nose, shoulder = 0, 11  # BlazePose slots
    assert torch.allclose(cond[1, 1, nose], torch.tensor([1.0, 1.0, 0.9]))
    assert torch.equal(cond[0, 0, shoulder], torch.zeros(3))  # NaN -> missing
    assert int((cond[1, 1, :, 2] > 0).sum()) == 17
    with pytest.raises(ValueError, match="layout"):
        guidance.condition(kp, conf, K, "openpose25")


def test_prior_regulariser_pulls_a_noisy_motion_toward_its_denoised_version():
    torch.manual_seed(0)
    net = model.Denoiser(TINY).eval()
    params = random_params(T=10).map(lambda t: t.requires_grad_(True))
    cond = example_inputs(1, 10, net)[2][0]
    reg = guidance.PriorRegulariser(net, generator=torch.Generator().manual_seed(1))
    target = guidance.PriorRegulariser(net, generator=torch.Generator().manual_seed(1)).denoised(
        model.encode(params)[None], cond)
    before = (model.encode(params)[None] - target).pow(2).mean()
    reg(params, cond).backward()
    with torch.no_grad():
        for t in (params.global_orient, params.body_pose, params.transl):
            t -= 0.05 * t.grad / t.grad.norm()
    assert (model.encode(params)[None] - target).pow(2).mean() < before
    assert params.transl.grad.abs().sum() > 0


def test_prior_motion_is_differentiable_in_the_network_weights_and_carries_over():
    net = model.Denoiser(TINY).eval()
    init = random_params(T=12)
    cond = example_inputs(1, 12, net)[2][0]
    motion = guidance.PriorMotion(net, cond, init, level=0.5, strides=2)
    out = motion()
    assert out.batch == (2, 12) and out.shape.shape == (2, 6)
    out.transl.pow(2).sum().backward()
    grads = [p.grad for p in motion.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    opt = torch.optim.Adam(motion.parameters(), lr=1e-3)
    opt.step()
    assert not torch.equal(motion.net.head.weight, net.head.weight)  # the shared prior is untouched
    following = guidance.PriorMotion(net, cond, random_params(T=12, seed=3))
    following.load_state_dict(motion.state_dict())  # weights only: condition and start stay its own
    assert torch.equal(following.net.head.weight, motion.net.head.weight)
    assert not torch.equal(following.x_init, motion.x_init)


def test_smooth_time_keeps_slow_motion_and_removes_frame_jitter():
    t = torch.arange(40, dtype=torch.float32)
    ramp = torch.stack([t * 0.01, torch.sin(t / 10)], -1)[None].repeat(2, 1, 1)  # [2, 40, 2] slow
    jitter = 0.05 * (-1.0) ** t  # alternating frame to frame
    out = guidance.smooth_time(ramp + jitter[None, :, None], guidance.gaussian_kernel(1.5))
    inner = slice(3, -3)  # away from the replicated edges
    assert (out - ramp)[:, inner].abs().max() < 0.02  # the jitter (0.05) is gone, the slow motion stays
    accel = lambda x: (x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2]).abs().mean()  # noqa: E731
    assert accel(out) < 0.1 * accel(ramp + jitter[None, :, None])
    assert torch.equal(guidance.smooth_time(ramp, guidance.gaussian_kernel(0.0)), ramp)


def test_sample_motion_is_seeded_and_starts_from_init_when_given():
    net = model.Denoiser(TINY).eval()
    cond = example_inputs(1, 9, net)[2][0]
    a, b = (guidance.sample_motion(net, cond, strides=3, seed=4) for _ in range(2))
    assert a.batch == (2, 9) and torch.equal(a.transl, b.transl)
    init = random_params(T=9)
    c, d = (guidance.sample_motion(net, cond, strides=2, init=init, level=0.5, seed=s) for s in (0, 1))
    assert not torch.equal(c.transl, d.transl)


def test_missing_checkpoint_error_names_the_path_and_the_command(tmp_path):
    path = tmp_path / "nowhere" / "prior.pt"
    with pytest.raises(FileNotFoundError) as err:
        guidance.load_prior(path)
    assert str(path) in str(err.value) and "interaction-recon train-prior" in str(err.value)


def test_shipped_default_checkpoint_loads_and_is_small():
    assert guidance.DEFAULT_CHECKPOINT.stat().st_size < 5e6
    net = guidance.load_prior()
    x, step, cond = example_inputs(1, 16, net)
    with torch.no_grad():
        assert torch.isfinite(net(x, step, cond)).all()
    record = json.loads(guidance.DEFAULT_CHECKPOINT.with_suffix(".json").read_text())
    assert record["parameters"] == net.num_parameters()


def test_cli_parsers_wire_both_commands():
    from interaction_recon.prior import cli

    parser = argparse.ArgumentParser()
    cli.add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train-prior", "--steps", "5", "--dataset", "hi4d:/data/hi4d", "--resume"])
    assert args.func is cli.train_prior and args.steps == 5 and args.dataset == ["hi4d:/data/hi4d"] and args.resume
    args = parser.parse_args(["export-prior", "--out", "x.onnx"])
    assert args.func is cli.export_prior and args.out == "x.onnx"
