"""The benchmark harness: baselines, scoring, and the files it writes."""
import json

import numpy as np
import pytest

from interaction_recon.apps.body_demo import handshake_params
from interaction_recon.eval import bench
from interaction_recon.synth import dataset
from interaction_recon.synth.camera import Camera, look_at
from interaction_recon.synth.groundtruth import ground_truth


@pytest.fixture(scope="module")
def still_handshake(anny_body, anny_collider):
    """A 6-frame clip of a static handshake seen from the side (no motion generator needed)."""
    params = handshake_params(anny_body).map(lambda t: t.expand(2, 6, *t.shape[2:]).clone() if t.dim() > 2 else t)
    R, t = look_at(np.array([0.2, 1.0, 3.0]), np.array([0.0, 0.1, 0.0]))
    K = np.array([[400.0, 0, 256], [0, 400.0, 256], [0, 0, 1]])
    camera = Camera(K=K, R=np.repeat(R[None], 6, 0), t=np.repeat(t[None], 6, 0), width=512, height=512)
    gt = ground_truth(params, camera, anny_body, anny_collider)
    gt["visible_joints"] = np.ones(gt["joints"].shape[:3], bool)
    return dataset.Scene(name="handshake-still", meta={"kind": "handshake", "seed": 0}, gt=gt)


def test_lifting_baselines_land_near_the_true_depth_only_when_they_estimate_it(still_handshake):
    rng = np.random.default_rng(0)
    gt = still_handshake.gt
    for name in ("lift-fixed-depth", "lift-height-depth"):
        pred = bench.METHODS[name](still_handshake, rng, preset="clean")
        assert pred["joints"].shape == gt["joints"].shape
        reproj = gt["K"] @ pred["joints"][..., None]
        uv = reproj[..., :2, 0] / reproj[..., 2:, 0]
        assert np.abs(uv - gt["joints2d"]).max() < 5.0  # both keep the 2D evidence
    height = bench.lift_height_depth(still_handshake, rng, preset="clean")["joints"][..., 2].mean()
    assert abs(height - gt["joints"][..., 2].mean()) < 0.5  # the true root depth is ~3 m +- a few dm
    fixed = bench.lift_fixed_depth(still_handshake, rng, preset="clean")["joints"][..., 2]
    assert np.allclose(fixed, 3.0)


def test_run_scores_every_clip_and_writes_json_markdown_and_plot(tmp_path, monkeypatch, still_handshake):
    monkeypatch.setitem(bench.SUITES, "unit", bench.Suite(kinds=("handshake",), seeds=(0,), images=False))
    monkeypatch.setattr(bench, "suite_scenes", lambda name, cache_root, progress=None: [still_handshake])
    result = bench.run("unit", "lift-height-depth", tmp_path / "cache", out_dir=tmp_path)
    saved = json.loads((tmp_path / "unit-lift-height-depth.json").read_text())
    assert saved["overall"]["mpjpe"] == pytest.approx(result["overall"]["mpjpe"])
    assert 20 < saved["overall"]["mpjpe"] < 400  # a flat skeleton is wrong by decimetres, not metres
    assert saved["scenes"][0]["identity_swaps"] == 0
    table = (tmp_path / "unit-lift-height-depth.md").read_text()
    assert "| handshake |" in table and "| **all** |" in table
    assert (tmp_path / "unit-lift-height-depth.png").stat().st_size > 5_000


def test_unknown_suite_or_method_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown suite"):
        bench.run("tiny", "lift-height-depth", tmp_path)
    with pytest.raises(ValueError, match="unknown method"):
        bench.run("smoke", "oracle", tmp_path)
