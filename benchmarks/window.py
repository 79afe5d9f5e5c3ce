"""Window optimiser timings on this CPU: one cold 128-frame window and warm stride-32 updates.

Observations: the smoke suite's handshake clip (rendered ground truth through the
observation simulator, BlazePose-33 layout), so the optimiser does its real work.
Prints and writes benchmarks/results/window.json, with ratios to the targets of issue #5
(cold <= 60 s, warm update <= 10 s, peak memory <= 4 GB) and, as the in-run baseline, the
same cold window fitted `independent` (no two-person terms). With ``--prior regulariser|closeapp``
the two-person fits use the proxemics prior and the file is window-prior-<mode>.json. With
``--set fitting.x=JSON`` the measured fit is the default changed so, and the default's cold
window and warm updates are timed beside it as a second baseline (``over_default``,
``warm_over_default``).
    .venv/bin/python benchmarks/window.py [--threads 2] [--warm 2] [--prior MODE] [--set PATH=JSON --out F]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np
import torch

from interaction_recon.body import create
from interaction_recon.config import Config, override
from interaction_recon.eval.bench import FITTING_OBSERVATIONS, suite_scenes
from interaction_recon.fitting.stream import WindowStream
from interaction_recon.paths import cache_dir
from interaction_recon.synth import observe

TARGETS = {"cold_window_s": 60.0, "warm_update_s": 10.0, "peak_rss_gb": 4.0}


def _timed_stream(config: Config, body, keypoints, confidence, K, warm: int) -> tuple[float, list[float]]:
    stream = WindowStream(config, body=body)
    cold, updates = None, []
    for t in range(keypoints.shape[1]):
        frame = type("Frame", (), {"index": t, "keypoints": keypoints[:, t], "confidence": confidence[:, t],
                                   "track_ids": np.array([0, 1])})
        job = stream.add(frame, t / 30.0, K)
        if job is None:
            continue
        start = time.perf_counter()
        stream.fit(job)
        elapsed = time.perf_counter() - start
        if cold is None:
            cold = elapsed
        else:
            updates.append(elapsed)
        if len(updates) >= warm:
            break
    return cold, updates


def handshake_observations() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The smoke suite's handshake through the observation simulator: keypoints [2, T, 33, 2],
    confidence [2, T, 33], K [3, 3]."""
    scene = next(s for s in suite_scenes("smoke", cache_dir()) if s.kind == "handshake")
    gt = scene.gt
    obs = observe.simulate(gt["blazepose33_2d"], gt["visible_blazepose33"], gt["boxes"], "blazepose33",
                           FITTING_OBSERVATIONS, np.random.default_rng(0))
    return obs.keypoints, obs.confidence, gt["K"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warm", type=int, default=2, help="warm updates to time")
    ap.add_argument("--prior", default="none", choices=["none", "regulariser", "closeapp"])
    ap.add_argument("--set", action="append", default=[], metavar="PATH=JSON",
                    help="a config field changed in the measured fit (e.g. fitting.iterations=120); repeatable")
    ap.add_argument("--out", help="default: benchmarks/results/window.json (window-prior-<mode>.json with --prior)")
    args = ap.parse_args()
    name = "window.json" if args.prior == "none" else f"window-prior-{args.prior}.json"
    args.out = args.out or str(Path(__file__).parent / "results" / name)
    torch.set_num_threads(args.threads)
    keypoints, confidence, K = handshake_observations()
    body = create()
    settings = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    config = override(Config(), {**settings, "fitting.prior": args.prior}, "--set field")
    need = config.fitting.window + args.warm * config.fitting.stride
    if keypoints.shape[1] < need:
        raise SystemExit(f"the smoke handshake has {keypoints.shape[1]} frames, need {need}")
    cold, updates = _timed_stream(config, body, keypoints, confidence, K, args.warm)
    default_cold = None
    if settings:
        default = override(Config(), {"fitting.prior": args.prior}, "--set field")
        default_cold, default_updates = _timed_stream(default, body, keypoints, confidence, K, args.warm)
    config.fitting.two_person = False
    cold_independent, _ = _timed_stream(config, body, keypoints, confidence, K, 0)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    result = {
        "clip": "smoke/handshake-0000", "prior": args.prior, "settings": settings, "window": config.fitting.window, "stride": config.fitting.stride,
        "threads": args.threads, "cpu": platform.processor() or platform.machine(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),  # > 2 on 2 cores: shared, timings inflated
        "cold_window_s": round(cold, 2), "warm_update_s": round(float(np.median(updates)), 2),
        "warm_updates_s": [round(u, 2) for u in updates], "peak_rss_gb": round(peak_gb, 2),
        "baseline_cold_window_independent_s": round(cold_independent, 2),
        "two_person_over_independent": round(cold / cold_independent, 2),
        "targets": TARGETS,
    }
    if default_cold is not None:
        result["baseline_cold_window_default_s"] = round(default_cold, 2)
        result["over_default"] = round(cold / default_cold, 2)
        result["baseline_warm_update_default_s"] = round(float(np.median(default_updates)), 2)
        result["warm_over_default"] = round(float(np.median(updates) / np.median(default_updates)), 2)
    result["ratio_to_target"] = {k: round(result[k] / v, 2) for k, v in TARGETS.items()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
