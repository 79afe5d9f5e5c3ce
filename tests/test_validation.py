"""The validation suite's loader, methods and tables (the clips themselves are outside the repo)."""
import json

import numpy as np
import pytest

from interaction_recon.body.skeleton import SMPL_JOINTS
from interaction_recon.config import Config
from interaction_recon.eval import metrics, validation


def _clip(root, T=6, contact=(2, 3)):
    """A clip folder in the suite's format: two people, scripted right-wrist contact."""
    rng = np.random.default_rng(0)
    joints = rng.normal(0, 0.3, (2, T, 24, 3)) + np.array([0, 0, 3.0])
    K = np.array([[600.0, 0, 320], [0, 600, 240], [0, 0, 1]])
    j2d = joints[..., :2] / joints[..., 2:] * 600 + [320, 240]
    flags = np.zeros(T, bool)
    flags[list(contact)] = True
    root.mkdir()
    np.savez(root / "gt.npz", joints_cam=joints.astype(np.float32), joints_2d=j2d.astype(np.float32), K=K,
             R=np.eye(3), C=np.zeros(3), contact=flags, joint_names=np.array(SMPL_JOINTS))
    (root / "meta.json").write_text(json.dumps({"frames": T, "contact_parts": [["right_wrist", "left_shoulder"]]}))
    return joints, j2d


def test_a_clip_loads_into_the_scorers_keys(tmp_path):
    joints, j2d = _clip(tmp_path / "a")
    scene = validation.load_scene(tmp_path / "a")
    assert scene.gt["joints"].shape == (2, 6, 24, 3)
    r, s = SMPL_JOINTS.index("right_wrist"), SMPL_JOINTS.index("left_shoulder")
    assert scene.gt["contact_pairs"].tolist() == [[2, r, s], [3, r, s]]
    box = scene.gt["boxes"][0, 0]
    assert box[0] < j2d[0, 0, :, 0].min() and box[3] > j2d[0, 0, :, 1].max()
    # the ground truth scores perfectly against itself, swapped people included
    row = metrics.score_sequence({"joints": joints[::-1]}, {k: scene.gt[k] for k in ("joints", "contact_pairs")})
    assert row["mpjpe"] < 1e-3 and row["contact_distance_error"] < 1e-3  # mm (float32 storage)


def test_a_folder_without_clips_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no validation clips"):
        validation.load_suite(tmp_path)


def test_default_is_exactly_the_embedded_defaults_and_each_ablation_switches_one_thing():
    assert validation.configure("default") == Config()
    for name, overrides in validation.METHODS.items():
        config = validation.configure(name)
        assert (config == Config()) == (not overrides), name
    assert not validation.configure("independent").fitting.two_person
    with pytest.raises(ValueError, match="unknown validation method"):
        validation.configure("nonsense")


def test_the_jitter_methods_add_repeatable_noise_of_their_size_to_the_keypoints():
    from interaction_recon.perception.types import PeopleTrack

    T = 50
    track = PeopleTrack(np.zeros((2, T, 4), np.float32), np.full((2, T, 33, 2), 100.0, np.float32),
                        np.ones((2, T, 33), np.float32), np.ones((2, T), bool), np.array([0, 1]),
                        np.zeros(T, int), None, (480, 640), 30.0)
    one = validation.jittered(track, *validation.JITTER["jitter-1px"], "clip")
    assert np.array_equal(one.keypoints, validation.jittered(track, 1.0, 1, "clip").keypoints)
    assert (track.keypoints == 100.0).all()  # the cached track is not touched
    assert abs(float((one.keypoints - 100.0).std()) - 1.0) < 0.05
    other = validation.jittered(track, *validation.JITTER["jitter-1px-draw-2"], "clip")
    assert not np.allclose(one.keypoints, other.keypoints)
    assert not np.allclose(one.keypoints, validation.jittered(track, 1.0, 1, "other clip").keypoints)


def test_tables_show_every_clip_and_the_mean():
    result = {"method": "default", "overrides": {}, "overall": {"mpjpe": 100.0},
              "scenes": [{"scene": "a", "mpjpe": 90.0}, {"scene": "b", "mpjpe": 110.0}]}
    table = validation.markdown_table(result)
    assert "| a | 90.0" in table and "| **mean** | 100.0" in table
    assert "| default | before 453b9fc (no contact evidence) | 100.0" in validation.comparison_table([result])
    assert "| default | abc1234 | 100.0" in validation.comparison_table([{**result, "commit": "abc1234"}])


def test_results_of_a_method_with_dots_in_its_name_keep_their_name(tmp_path, monkeypatch):
    monkeypatch.setitem(validation.METHODS, "weight-0.5", {"fitting.weights.pose3d": 0.5})
    monkeypatch.setattr(validation, "load_suite", lambda root=None: [])
    validation.run("weight-0.5", tmp_path, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["validation-weight-0.5.json",
                                                                      "validation-weight-0.5.md"]


def test_the_real_footage_method_is_the_shipped_config_file():
    """`fused-two-passes-guarded` measures exactly what config/real-footage.yaml switches on."""
    from interaction_recon.config import load_config, override

    shipped = load_config(validation.PROJECT_ROOT / "config" / "real-footage.yaml")
    assert shipped == override(Config(), validation.METHODS["fused-two-passes-guarded"])


def test_the_floor_error_is_the_angle_between_the_fitted_and_the_true_up():
    from scipy.spatial.transform import Rotation

    R = Rotation.from_euler("x", -110.0, degrees=True).as_matrix()  # world z up -> camera: pitched 20 deg down
    up = R[:, 2]
    assert validation.floor_error(np.append(up, 1.5), R) == pytest.approx(0.0, abs=1e-6)
    tilted = Rotation.from_euler("x", 7.0, degrees=True).as_matrix() @ up
    assert validation.floor_error(np.append(2 * tilted, 1.5), R) == pytest.approx(7.0, abs=1e-6)
    assert np.isnan(validation.floor_error(None, R))
