"""Benchmark harness: run a method over a suite of synthetic clips and score it.

    interaction-recon bench --suite smoke --method lift-height-depth

Suites are generated deterministically from their seeds and cached in
``<cache>/synth/<suite>/`` (regenerated when the suite or the generator's code changes);
results go to ``benchmarks/results/<suite>-<method>.{json,md,png}``.
A method is a function ``(scene, rng) -> prediction dict`` (keys as in
:func:`interaction_recon.eval.metrics.score_sequence`); register it in ``METHODS``.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from interaction_recon.eval import metrics
from interaction_recon.fitting.camera import back_project
from interaction_recon.synth import dataset, observe
from interaction_recon.synth.motions import INTERACTIONS

RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


@dataclass(frozen=True)
class Suite:
    """Which clips a suite holds, and how they are made."""

    kinds: tuple[str, ...]
    seeds: tuple[int, ...]
    images: bool
    size: tuple[int, int] = (512, 512)


SUITES = {
    "smoke": Suite(kinds=("handshake", "hug"), seeds=(0,), images=False, size=(256, 256)),
    "dev": Suite(kinds=INTERACTIONS, seeds=(100,), images=True),
    "full": Suite(kinds=INTERACTIONS, seeds=(200, 201, 202, 203, 204), images=True),
}

# Metrics shown in the Markdown table and plots, in this order.
HEADLINE = ("mpjpe", "pa_mpjpe", "inter", "accel_error", "penetration_mean", "penetration_max",
            "contact_distance_error", "contact_f1", "depth_order_accuracy", "seam_jump_mm", "live_seam_jump_mm", "reprojection_error",
            "identity_swaps")


def _observed_smpl24(scene: dataset.Scene, rng: np.random.Generator, preset: str) -> observe.Observations:
    gt = scene.gt
    return observe.simulate(gt["joints2d"], gt["visible_joints"], gt["boxes"], "smpl24", observe.PRESETS[preset], rng)


def lift_fixed_depth(scene: dataset.Scene, rng: np.random.Generator, preset: str = "noisy") -> dict:
    """Trivial baseline: simulated 2D joints back-projected flat at 3 m."""
    obs = _observed_smpl24(scene, rng, preset)
    depth = np.full(obs.keypoints.shape[:2], 3.0)
    return {"joints": back_project(obs.keypoints, np.broadcast_to(depth[..., None], obs.keypoints.shape[:-1]), scene.gt["K"]).astype(np.float32)}


def lift_height_depth(scene: dataset.Scene, rng: np.random.Generator, preset: str = "noisy") -> dict:
    """Trivial baseline: simulated 2D joints back-projected flat at the depth where a 1.7 m
    person would be as tall as the 2D joints' head-to-ankle extent (x 1.15 for head top)."""
    obs = _observed_smpl24(scene, rng, preset)
    extent = 1.15 * (obs.keypoints[..., 1].max(-1) - obs.keypoints[..., 1].min(-1))
    depth = scene.gt["K"][1, 1] * 1.7 / np.clip(extent, 10.0, None)
    return {"joints": back_project(obs.keypoints, np.broadcast_to(depth[..., None], obs.keypoints.shape[:-1]), scene.gt["K"]).astype(np.float32)}


# Detector-like but identity-stable observations for the fitting methods: pixel noise, a few
# missed joints, unsure occluded joints; no flips or swaps (the tracker's job, measured apart).
FITTING_OBSERVATIONS = observe.ObservationConfig(noise=0.01, occluded_noise=0.03, miss=0.01, flip=0.0, swap=0.0)
_MODELS: dict = {}


def _models():
    """The body model and collider shared by every fitting method (built once)."""
    if not _MODELS:
        from interaction_recon.body import create
        from interaction_recon.body.collision import BodyCollider

        _MODELS["body"] = create()
        _MODELS["collider"] = BodyCollider(_MODELS["body"])
    return _MODELS["body"], _MODELS["collider"]


def _perceived(scene: dataset.Scene) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The real perception pipeline over the rendered frames: keypoints, confidence, track ids."""
    from interaction_recon.perception import PeopleTrack, Perception

    perception = Perception()
    track = PeopleTrack.from_frames([perception(scene.frame(t)) for t in range(scene.num_frames)], scene.meta.get("fps", 30.0))
    return track.keypoints, track.confidence, track.track_ids


def fit_window_method(scene: dataset.Scene, rng: np.random.Generator, two_person: bool, source: str = "simulated") -> dict:
    """The window optimiser over the whole clip (sliding windows, warm start) from simulated
    BlazePose-33 observations or from the perception pipeline on the rendered frames."""
    import torch

    from interaction_recon.config import Config
    from interaction_recon.fitting.stream import (
        WindowStream,
        published,
        reconstruct_track,
        seam_jump,
        stitched_seams,
    )

    body, collider = _models()
    config = Config()
    config.fitting.two_person = two_person
    gt = scene.gt
    if source == "perception":
        keypoints, confidence, ids = _perceived(scene)
    else:
        obs = observe.simulate(gt["blazepose33_2d"], gt["visible_blazepose33"], gt["boxes"], "blazepose33",
                               FITTING_OBSERVATIONS, rng)
        keypoints, confidence, ids = obs.keypoints, obs.confidence, np.array([0, 1])
    stream = WindowStream(config, body=body)
    result, windows = reconstruct_track(keypoints, confidence, gt["K"], config, track_ids=ids, stream=stream)
    with torch.no_grad():
        params = result.params()
        depth = collider.penetration(body(params), collider.rest(params)).numpy()
    joints, seams = published(windows, config.fitting.stride)
    return {"joints": result.joints, "penetration": depth,
            "contact_parts": [(c.frame, c.part_a, c.part_b) for c in result.contacts],
            "extra": {"seam_jump_mm": seam_jump(result.joints, stitched_seams(windows, config.fitting.refit_frames)),
                      "live_seam_jump_mm": seam_jump(joints, seams), "windows": len(windows)}}


METHODS = {
    "lift-fixed-depth": lift_fixed_depth,
    "lift-height-depth": lift_height_depth,
    "independent": lambda scene, rng: fit_window_method(scene, rng, two_person=False),
    "two-person": lambda scene, rng: fit_window_method(scene, rng, two_person=True),
    "independent-perception": lambda scene, rng: fit_window_method(scene, rng, False, "perception"),
    "two-person-perception": lambda scene, rng: fit_window_method(scene, rng, True, "perception"),
}


def suite_scenes(name: str, cache_root: Path, progress=None) -> list[dataset.Scene]:
    """The suite's clips, generated into ``cache_root/synth/name`` on first use."""
    from interaction_recon.synth import world

    suite = SUITES[name]
    root = cache_root / "synth" / name
    stamp = root / "suite.json"
    generator = Path(world.__file__).parent  # clips are stale once the generator's code changes
    code = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(generator.glob("*.py")))).hexdigest()
    spec = json.dumps({**asdict(suite), "generator": code}, sort_keys=True)
    if stamp.exists() and stamp.read_text() == spec:
        return dataset.load_dataset(root)
    jobs = [(k, s) for k in suite.kinds for s in suite.seeds]
    scenes = world.write_dataset(root, jobs, size=suite.size, images=suite.images, progress=progress)
    stamp.write_text(spec)
    return scenes


def _mean(values) -> float:
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def run(suite: str, method: str, cache_root: Path, out_dir: Path = RESULTS_DIR, seed: int = 0, progress=None) -> dict:
    """Score ``method`` on every clip of ``suite``; write JSON, Markdown and a plot."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose from {sorted(SUITES)}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(METHODS)}")
    scenes = suite_scenes(suite, cache_root, progress=progress)
    rng = np.random.default_rng(seed)
    rows = []
    for scene in scenes:
        t0 = time.perf_counter()
        pred = METHODS[method](scene, rng)
        seconds = time.perf_counter() - t0
        gt = {k: scene.gt[k] for k in ("joints", "boxes", "K", "joints2d", "contact_pairs", "contact_parts")}
        rows.append({"scene": scene.name, "kind": scene.kind, "frames": scene.num_frames,
                     "seconds": round(seconds, 3), **metrics.score_sequence(pred, gt), **pred.get("extra", {})})
    kinds = sorted({r["kind"] for r in rows}, key=lambda k: SUITES[suite].kinds.index(k))
    per_kind = {k: {m: _mean(r.get(m) for r in rows if r["kind"] == k) for m in HEADLINE} for k in kinds}
    overall = {m: _mean(r.get(m) for r in rows) for m in HEADLINE}
    result = {"suite": suite, "method": method, "seed": seed, "scenes": rows, "per_kind": per_kind, "overall": overall}
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{suite}-{method}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    stem.with_suffix(".md").write_text(markdown_table(result))
    plot(result, stem.with_suffix(".png"))
    return result


def markdown_table(result: dict) -> str:
    cols = HEADLINE
    fmt = lambda v: "-" if not math.isfinite(v) else f"{v:.3f}" if abs(v) < 1 else f"{v:.1f}"
    lines = [f"# {result['suite']} / {result['method']}", "",
             "mm for 3D errors, px for reprojection, share for depth order (METRICS.md)", "",
             "| kind | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for kind, row in {**result["per_kind"], "**all**": result["overall"]}.items():
        lines.append(f"| {kind} | " + " | ".join(fmt(row[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = ("mpjpe", "pa_mpjpe", "inter", "depth_order_accuracy")
    kinds = list(result["per_kind"])
    fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.2 + 0.12 * len(kinds)))
    for ax, m in zip(axes, shown):
        ax.barh(kinds, [result["per_kind"][k][m] for k in kinds], color="tab:blue")
        ax.set_title(m)
        ax.invert_yaxis()
    fig.suptitle(f"{result['suite']} / {result['method']}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
