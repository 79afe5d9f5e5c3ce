"""The live per-frame estimate (fitting/causal.py): tracks two moving people from each frame's
2D keypoints alone, re-anchors on a refined window, drops a person who leaves."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from interaction_recon.config import Config
from interaction_recon.fitting.camera import project
from interaction_recon.fitting.causal import CausalFilter

K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
FPS = 10.0


@pytest.fixture(scope="module")
def body():
    from interaction_recon.body import create

    torch.set_num_threads(1)
    return create(Config().body)


def truth(body, n: int):
    """Two people 1 m apart, 4 m away, walking sideways at 0.5 m/s while bending an elbow:
    (joints [2, n, 24, 3], keypoints [2, n, 33, 2])."""
    params = body.neutral_params(2, n)
    params.global_orient = torch.tensor([np.pi, 0.0, 0.0]).expand(2, n, 3).clone()
    t = torch.arange(n, dtype=torch.float32) / FPS
    params.transl = torch.stack([torch.stack([x + 0.5 * t, 0 * t, 4.0 + 0 * t], -1) for x in (-0.5, 0.5)])
    pose = params.body_pose.clone()
    pose[:, :, 17, 1] = 0.3 + 0.8 * torch.sin(t)[None]  # right elbow
    pose[:, :, 15, 2] = -1.1  # shoulders lowered
    pose[:, :, 16, 2] = 1.1
    params.body_pose = pose
    with torch.no_grad():
        out = body(params, collision=False)
        kp = project(out.blazepose33, torch.as_tensor(K, dtype=torch.float32))
    return out.joints.numpy(), kp.numpy()


def run(filt, kp, conf, frames, ids=(3, 4)):
    outs = []
    for t in frames:
        people = SimpleNamespace(index=t, keypoints=kp[:, t], confidence=conf[:, t], track_ids=np.array(ids))
        outs.append(filt.update(people, t / FPS, K))
    return outs


def test_tracks_two_moving_people_from_each_frame_alone(body):
    joints, kp = truth(body, 20)
    filt = CausalFilter(body, Config().fitting)
    outs = run(filt, kp, np.ones(kp.shape[:3], np.float32), range(20))
    assert all(o.num_frames == 1 and o.joints.shape == (2, 1, 24, 3) for o in outs)
    est = np.stack([o.joints[:, 0] for o in outs], 1)  # [2, T, 24, 3]
    rel = lambda j: j - j[..., :1, :]  # noqa: E731
    err = 1000 * np.linalg.norm(rel(est) - rel(joints), axis=-1)[:, 5:].mean()
    assert err < 100, err  # root-relative mm after the first frames (no 3D landmarks here: arms are ambiguous in depth)
    pred2d = est[..., :2] / est[..., 2:] * 500 + [320, 240]
    true2d = joints[..., :2] / joints[..., 2:] * 500 + [320, 240]
    assert np.linalg.norm(pred2d - true2d, axis=-1)[:, 5:].mean() < 3  # px
    assert np.abs(filt.velocity[:, 0] - 0.5).max() < 0.2  # m/s, the walk
    np.testing.assert_array_equal(outs[-1].track_ids, [3, 4])


def test_a_refined_window_moves_the_filter_to_its_positions(body):
    _, kp = truth(body, 12)
    filt = CausalFilter(body, Config().fitting)
    outs = run(filt, kp, np.ones(kp.shape[:3], np.float32), range(10))
    refined = outs[-2]  # the window's newest frame is older than the filter's
    refined.joints = refined.joints + np.array([0.0, 0.0, 0.3], np.float32)
    refined.joints, refined.track_ids = refined.joints[::-1].copy(), np.array([4, 3])  # the window's slots the
    # other way round: matched by id
    refined.joints[0] += np.array([0.0, 0.0, 0.2], np.float32)  # person id 4 further still
    before = filt.params.transl[:, 0].clone()
    assert filt.anchor(refined)
    moved = (filt.params.transl[:, 0] - before).numpy()
    np.testing.assert_allclose(moved[:, 2], [0.3, 0.5], atol=1e-4)  # our slot 0 is id 3, slot 1 id 4
    stranger = outs[-1]
    stranger.track_ids = np.array([8, 9])
    assert not filt.anchor(stranger)


def test_a_person_who_leaves_is_published_no_longer(body):
    _, kp = truth(body, 16)
    conf = np.ones(kp.shape[:3], np.float32)
    conf[1, 6:] = 0.0  # person 1 gone from frame 6
    outs = run(CausalFilter(body, Config().fitting), kp, conf, range(16))
    assert outs[5].confidence[1, 0] > 0.5
    assert outs[7].confidence[1, 0] > 0  # 0.2 s unseen: lowered, still there
    assert outs[7].confidence[1, 0] < outs[5].confidence[1, 0]
    assert outs[-1].confidence[1, 0] == 0 and np.isnan(outs[-1].joints[1]).all()
    assert np.isfinite(outs[-1].joints[0]).all()


def _prior_config(**causal):
    config = Config().fitting
    for k, v in causal.items():
        setattr(config.causal, k, v)
    return config


class Counting:
    """A denoiser runtime that counts its calls; ``shift`` m added to its output's person-0 x."""

    def __init__(self, inner, shift: float = 0.0):
        self.inner, self.shift, self.calls = inner, shift, 0
        self.cfg, self.feature_mean, self.feature_std = inner.cfg, inner.feature_mean, inner.feature_std

    def __call__(self, x_t, step, cond):
        from interaction_recon.prior.model import decode, encode

        self.calls += 1
        x0 = self.inner(x_t, step, cond)
        if self.shift:
            params = decode(x0[0])
            params.transl[0, :, 0] += self.shift
            x0 = encode(params)[None]
        return x0


def test_the_onnx_prior_serves_the_filter_once_per_frame(body, tmp_path, monkeypatch):
    """fitting.causal.prior = onnx with no path: the shipped prior is exported to the cache and
    run through onnxruntime once per frame once prior_frames of context exist; its target moves
    the estimate (switched off, the two runs agree)."""
    from interaction_recon.prior.export import OnnxPrior

    monkeypatch.setenv("INTERACTION_RECON_CACHE", str(tmp_path))
    _, kp = truth(body, 12)
    conf = np.ones(kp.shape[:3], np.float32)
    filt = CausalFilter(body, _prior_config(prior="onnx", prior_frames=4, prior_weight=10.0))
    assert isinstance(filt.prior, OnnxPrior) and list(tmp_path.glob("prior/prior-*.onnx"))
    filt.prior = counting = Counting(filt.prior)
    with_prior = np.stack([o.joints[:, 0] for o in run(filt, kp, conf, range(12))], 1)
    assert counting.calls == 12 - 3
    without = np.stack([o.joints[:, 0] for o in run(CausalFilter(body, Config().fitting), kp, conf, range(12))], 1)
    np.testing.assert_allclose(with_prior[:, :3], without[:, :3], atol=1e-5)  # no context yet: no target
    assert np.abs(with_prior[:, 3:] - without[:, 3:]).max() > 1e-3  # m


def test_the_prior_target_pulls_the_estimate_toward_the_networks_output(body):
    """A runtime whose output puts person 0 0.5 m further right: the estimate follows part way."""
    from interaction_recon.prior.guidance import load_prior

    _, kp = truth(body, 10)
    conf = np.ones(kp.shape[:3], np.float32)
    config = _prior_config(prior="torch", prior_frames=3, prior_weight=30.0)
    pulled = CausalFilter(body, config, prior=Counting(load_prior(), shift=0.5))
    plain = CausalFilter(body, config, prior=Counting(load_prior()))
    x = lambda f: np.stack([o.joints[0, 0, 0, 0] for o in run(f, kp, conf, range(10))])  # noqa: E731  person 0 pelvis x
    assert (x(pulled) - x(plain))[4:].mean() > 0.02  # m


def test_live_prior_choices_are_checked(body):
    from interaction_recon.fitting.causal import load_live_prior

    with pytest.raises(ValueError, match="must be one of"):
        load_live_prior(_prior_config(prior="tflite").causal, None, "cpu")
    with pytest.raises(ValueError, match="engine_path"):
        load_live_prior(_prior_config(prior="tensorrt").causal, None, "cpu")
    assert load_live_prior(_prior_config().causal, None, "cpu") is None


def test_joint_confidence_is_lower_for_a_limb_out_of_the_image_or_hidden(body):
    """Person 0's right arm leaves the image (x < 0), person 1's left leg is hidden (keypoint
    confidence 0.05): their joints' confidence falls below the seen joints'; the rest match."""
    from interaction_recon.body.skeleton import BLAZEPOSE33, SMPL_JOINTS

    _, kp = truth(body, 6)
    conf = np.ones(kp.shape[:3], np.float32)
    arm = [BLAZEPOSE33.index(n) for n in ("right_elbow", "right_wrist", "right_pinky", "right_index", "right_thumb")]
    kp[0, :, arm, 0] = -40.0
    leg = [BLAZEPOSE33.index(n) for n in ("left_knee", "left_ankle", "left_heel", "left_foot_index")]
    conf[1, :, leg] = 0.05
    filt = CausalFilter(body, Config().fitting)
    run(filt, kp, conf, range(5))
    people = SimpleNamespace(index=5, keypoints=kp[:, 5], confidence=conf[:, 5], track_ids=np.array([3, 4]),
                             image_size=(480, 640))  # (H, W): a PeopleFrame's
    out = filt.update(people, 0.5, K)
    assert out.joint_confidence.shape == (2, 1, 24)
    jc = out.joint_confidence[:, 0]
    j = {n: i for i, n in enumerate(SMPL_JOINTS)}
    assert jc[0, j["right_wrist"]] < 0.5 * jc[0, j["left_wrist"]]
    assert jc[0, j["right_elbow"]] < 0.5 * jc[0, j["left_elbow"]]
    assert jc[1, j["left_ankle"]] < 0.5 * jc[1, j["right_ankle"]]
    np.testing.assert_allclose(jc[1, j["pelvis"]], jc[1, j["right_ankle"]], rtol=1e-5)


def test_a_known_floor_brings_a_small_person_to_its_true_distance(body):
    """0.8x the average height, 4 m away: from the 2D keypoints alone the filter (average body)
    places the pair farther; with the camera's height over the floor known, the feet-on-floor
    term brings it closer within a second of frames."""
    from interaction_recon.fitting import floor, losses, scale

    n = 20
    params = body.neutral_params(2, n)
    params.global_orient = torch.tensor([np.pi, 0.0, 0.0]).expand(2, n, 3).clone()
    # a camera about 1.5 m over the floor (feet well below the optical axis)
    params.transl = torch.tensor([[-0.5, 1.0, 4.0], [0.5, 1.0, 4.0]])[:, None].expand(2, n, 3).clone()
    params.shape = body.resized(params.shape, torch.tensor([0.8, 0.8]))
    with torch.no_grad():
        out = body(params, collision=False)
    kp = project(out.blazepose33, torch.as_tensor(K, dtype=torch.float32)).numpy()
    up = torch.as_tensor(floor.up_vector(0.0, 0.0), dtype=torch.float32)
    height = float(-(out.joints[:, :, losses.FOOT_JOINTS] @ up).amin() + scale.FOOT_ABOVE_FLOOR)
    conf = np.ones(kp.shape[:3], np.float32)

    def depth_error(camera_height: float) -> float:
        config = Config().fitting
        config.camera_height = camera_height
        est = np.stack([o.joints[:, 0, 0, 2] for o in run(CausalFilter(body, config), kp, conf, range(n))], 1)
        return float(np.abs(est - out.joints[:, :, 0, 2].numpy())[:, n // 2:].mean())

    known, unknown = depth_error(height), depth_error(0.0)
    assert known < 0.6 * unknown, (known, unknown)  # m


def test_the_live_estimate_stands_people_up_on_the_known_or_the_windows_floor(body):
    """A camera pitched 20 deg down over two upright people: with its pose known the filter's
    trunks follow the floor's up (upright term) instead of the image's vertical; with only a
    height assumed, it takes the up of the last refined window it is anchored to."""
    from interaction_recon.fitting import floor, losses, scale
    from interaction_recon.fitting.result import Reconstruction

    from test_fitting import lean_deg, pitched_view

    n, pitch = 12, 20.0
    params = body.neutral_params(2, n)
    params.global_orient = torch.tensor([np.pi, 0.0, 0.0]).expand(2, n, 3).clone()
    params.transl = torch.tensor([[-0.5, 0.0, 4.0], [0.5, 0.0, 4.0]])[:, None].expand(2, n, 3).clone()
    params = pitched_view(body, params, pitch)
    with torch.no_grad():
        out = body(params, collision=False)
    kp = project(out.blazepose33, torch.as_tensor(K, dtype=torch.float32)).numpy()
    conf = np.ones(kp.shape[:3], np.float32)
    up = floor.up_vector(pitch, 0.0)
    height = float(-(out.joints[:, :, losses.FOOT_JOINTS] @ torch.as_tensor(up, dtype=torch.float32)).amin()
                   + scale.FOOT_ABOVE_FLOOR)

    def lean(filt) -> float:
        return lean_deg(np.stack([o.joints[:, 0] for o in run(filt, kp, conf, range(n))], 1)[:, n // 2:], up)

    config = Config().fitting
    config.camera_height, config.camera_pitch = height, pitch
    on = lean(CausalFilter(body, config))
    config.weights.upright = 0.0
    off = lean(CausalFilter(body, config))
    assert on < off - 5.0, (on, off)

    assumed = Config().fitting
    assumed.assumed_camera_height = height
    filt = CausalFilter(body, assumed)
    assert filt._up() is None  # nothing to stand on before a window
    window = Reconstruction(frames=np.array([0]), stamps=np.zeros(1), global_orient=np.zeros((2, 1, 3)),
                            body_pose=np.zeros((2, 1, 23, 3)), transl=np.zeros((2, 1, 3)), shape=np.zeros((2, 1)),
                            joints=np.full((2, 1, 24, 3), np.nan, np.float32), confidence=np.zeros((2, 1), np.float32),
                            track_ids=np.array([3, 4]), K=K, fps=FPS, body_model=body.name,
                            floor=np.append(up, height))
    filt.anchor(window)
    assert lean(filt) < off - 5.0
