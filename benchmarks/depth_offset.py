"""How far behind the median depth of a person's visible surface their pelvis lies, on the dev
suite with the simulated RGB-D camera (``eval.bench.sensor_depths``): the per-frame difference
(true pelvis depth - measured), pooled. It backs ``fitting.depth_surface_offset``.

Writes benchmarks/results/depth-offset.json.
    .venv/bin/python benchmarks/depth_offset.py
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from interaction_recon.eval import bench
from interaction_recon.paths import PROJECT_ROOT, cache_dir


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    rows, pooled = [], []
    for scene in bench.suite_scenes("dev", cache_dir()):
        offset = scene.gt["root_depth"] - bench.sensor_depths(scene, rng)  # [2, T] m
        ok = np.isfinite(offset)
        rows.append({"scene": scene.name, "median_m": float(np.median(offset[ok])), "measured_share": float(ok.mean())})
        pooled.append(offset[ok])
    every = np.concatenate(pooled)
    result = {"load": os.getloadavg()[0], "frames": int(every.size), "median_m": float(np.median(every)),
              "p10_m": float(np.percentile(every, 10)), "p90_m": float(np.percentile(every, 90)), "scenes": rows}
    (PROJECT_ROOT / "benchmarks" / "results" / "depth-offset.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "scenes"}))


if __name__ == "__main__":
    main()
