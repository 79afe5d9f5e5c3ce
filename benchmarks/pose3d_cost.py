"""What the 3D-landmark term costs: one cold window of a validation clip (real perception,
BlazePose landmarks) fitted with the embedded defaults and, as the baseline beside it, with
``fitting.weights.pose3d`` 0. Writes benchmarks/results/pose3d_cost.json.

    .venv/bin/python benchmarks/pose3d_cost.py [--clip crossing_close] [--threads 1]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from interaction_recon.config import Config
from interaction_recon.eval import validation
from interaction_recon.eval.bench import _models
from interaction_recon.fitting.stream import WindowStream, reconstruct_track
from interaction_recon.paths import cache_dir

OUT = Path(__file__).resolve().parent / "results" / "pose3d_cost.json"


def fit_seconds(scene, track, config: Config) -> float:
    body, _ = _models()
    stream = WindowStream(config, body=body)
    t0 = time.perf_counter()
    reconstruct_track(track.keypoints, track.confidence, scene.gt["K"], config,
                      stamps=np.arange(track.num_frames) / track.fps, track_ids=track.track_ids, stream=stream,
                      world=track.world)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clip", default="crossing_close")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    scene = next(s for s in validation.load_suite() if s.name == args.clip)
    track = validation.perceive(scene, cache_dir())
    _models()  # built before timing
    off = Config()
    off.fitting.weights.pose3d = 0.0
    baseline = fit_seconds(scene, track, off)
    with_term = fit_seconds(scene, track, Config())
    result = {"clip": args.clip, "frames": track.num_frames, "threads": args.threads,
              "load_average_1min_at_end": round(os.getloadavg()[0], 2),
              "fit_s_pose3d_off": round(baseline, 2), "fit_s_default": round(with_term, 2),
              "default_over_pose3d_off": round(with_term / baseline, 2)}
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
