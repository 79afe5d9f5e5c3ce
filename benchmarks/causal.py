"""Accuracy and cost of the live per-frame estimate (fitting/causal.py) beside the refined
windows, on the validation suite (clips made by other code, perceived by the real pipeline).

Each clip is run frame by frame through :class:`CausalFilter` as the node does (no future
frames). The validation clips are shorter than a window (100-120 frames < 128), so live they
are never re-anchored before they end: the causal rows are the filter alone. The refined rows
are the validation ``default`` reconstruction of the same clip (what ``/humans/refined``
carries), read from ``benchmarks/results/validation-default.json`` and re-scored from its
kept result when present (``camera-pose`` with ``--known-camera``). Writes
benchmarks/results/causal.json (merged into live.json by benchmarks/live.py) and prints the table.

    .venv/bin/python benchmarks/causal.py [--iterations 4] [--prior onnx --out benchmarks/results/causal-prior.json]
    .venv/bin/python benchmarks/causal.py --known-camera --out benchmarks/results/causal-camera-pose.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from interaction_recon.config import Config, override  # noqa: E402
from interaction_recon.eval import metrics, validation  # noqa: E402
from interaction_recon.eval.bench import _models, git_commit  # noqa: E402
from interaction_recon.fitting.causal import CausalFilter, load_live_prior  # noqa: E402
from interaction_recon.fitting.floor import camera_pose  # noqa: E402
from interaction_recon.fitting.result import Reconstruction  # noqa: E402
from interaction_recon.paths import cache_dir  # noqa: E402

METRICS = ("mpjpe", "pa_mpjpe", "inter", "reprojection_error", "depth_order_accuracy", "accel_error", "published_share",
           "root_position_error", "root_distance_error")


def causal_run(track, K: np.ndarray, config: Config, prior=None) -> tuple[np.ndarray, list[float]]:
    """joints [2, T, 24, 3] of the filter over the clip, seconds per frame (prior: a loaded runtime)."""
    filt = CausalFilter(_models()[0], config.fitting, prior=prior)
    joints, seconds = [], []
    for t in range(track.num_frames):
        people = SimpleNamespace(index=t, keypoints=track.keypoints[:, t], confidence=track.confidence[:, t],
                                 track_ids=track.track_ids, world=None if track.world is None else track.world[:, t])
        t0 = time.perf_counter()
        out = filt.update(people, t / track.fps, K)
        seconds.append(time.perf_counter() - t0)
        joints.append(out.joints[:, 0])
    return np.stack(joints, 1), seconds


def score(scene, joints: np.ndarray) -> dict:
    gt = {k: scene.gt[k] for k in ("joints", "joints2d", "boxes", "K")}
    row = metrics.score_sequence({"joints": joints, "K": scene.gt["K"]}, gt)
    row["published_share"] = float(np.isfinite(joints).all((-1, -2)).mean())
    return {m: row.get(m) for m in METRICS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=None, help="fitting.causal.iterations (default: the config's)")
    ap.add_argument("--temporal", type=float, default=None, help="fitting.causal.temporal (default: the config's)")
    ap.add_argument("--prior", default=None, help="fitting.causal.prior: none | onnx | tensorrt | torch (default: the config's)")
    ap.add_argument("--prior-weight", type=float, default=None, help="fitting.causal.prior_weight (default: the config's)")
    ap.add_argument("--prior-level", type=float, default=None, help="fitting.causal.prior_level (default: the config's)")
    ap.add_argument("--known-camera", action="store_true",
                    help="give each clip's true camera height, pitch and roll (gt R, C), as a robot's TF would")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "causal.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    changes = {k: v for k, v in (("fitting.causal.iterations", args.iterations), ("fitting.causal.temporal", args.temporal),
                                 ("fitting.causal.prior", args.prior), ("fitting.causal.prior_weight", args.prior_weight),
                                 ("fitting.causal.prior_level", args.prior_level)) if v is not None}
    config = override(Config(), changes, "causal benchmark option")
    cache = cache_dir()
    prior = load_live_prior(config.fitting.causal, config.fitting.prior_path, "cpu")
    rows = []
    for scene in validation.load_suite():
        track = validation.perceive(scene, cache)
        if args.known_camera:
            fc = config.fitting
            fc.camera_height, fc.camera_pitch, fc.camera_roll = camera_pose(scene.gt["R"], scene.gt["C"])
        joints, seconds = causal_run(track, scene.gt["K"], config, prior)
        kept = cache / "validation" / scene.name / ("camera-pose" if args.known_camera else "default") / "results.npz"
        refined = score(scene, Reconstruction.load(kept).joints) if kept.exists() else None
        rows.append({"scene": scene.name, "frames": track.num_frames, "causal": score(scene, joints),
                     "refined": refined, "causal_ms": {"mean": round(1000 * float(np.mean(seconds[1:])), 1),
                                                       "p95": round(1000 * float(np.percentile(seconds[1:], 95)), 1)}})
        print(scene.name, rows[-1]["causal"]["mpjpe"], refined and refined["mpjpe"], rows[-1]["causal_ms"], flush=True)

    def mean(kind, m):
        v = [r[kind][m] for r in rows if r[kind] is not None and r[kind][m] is not None]
        return float(np.nanmean(v)) if v else None

    overall = {kind: {m: mean(kind, m) for m in METRICS} for kind in ("causal", "refined")}
    overall["causal_minus_refined"] = {m: (overall["causal"][m] - overall["refined"][m])
                                       if None not in (overall["causal"][m], overall["refined"][m]) else None
                                       for m in METRICS}
    result = {"benchmark": "causal per-frame estimate vs refined windows, validation suite",
              "commit": git_commit(), "load": os.getloadavg()[0], "cpu_count": os.cpu_count(), "torch_threads": 1,
              "causal_config": vars(config.fitting.causal), "scenes": rows, "overall": overall,
              "causal_ms_mean": float(np.mean([r["causal_ms"]["mean"] for r in rows]))}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(overall, indent=1))


if __name__ == "__main__":
    main()
