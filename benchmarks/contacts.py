"""Cost of the contact evidence for one [2 people, 128 frames] window on this CPU.

Prints and writes benchmarks/results/contacts.json: per frame, the features, the contact map
on PyTorch and on onnxruntime (CPU), and the whole window step (features, map, chirality,
hysteresis), each the median of a few repeats, with the machine's load. Target: <= 5 ms per
frame for the whole step; the ratio printed is against that target.
    .venv/bin/python benchmarks/contacts.py [--frames 128] [--threads 1] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import torch

from interaction_recon.config import ContactConfig
from interaction_recon.contact.evidence import ContactEstimator
from interaction_recon.contact.features import frame_features
from interaction_recon.contact.model import ContactMap, load_model
from timing import median_seconds

TARGET_MS = 5.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "contacts.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    T = args.frames
    # two people side by side with their arms moving: many pairs inside the gate
    kp = rng.uniform(200, 320, (2, T, 33, 2)).astype(np.float32)
    kp[1, ..., 0] += 60
    conf = rng.uniform(0.5, 1.0, (2, T, 33)).astype(np.float32)
    points = np.zeros((2, T, 33, 3), np.float32)
    points[..., 2] = 3.0
    points[1, ..., 0] = 0.6
    observed = np.ones(T, bool)
    x, _ = frame_features(kp, conf, points, 0.2)
    net = load_model()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "features": lambda: frame_features(kp, conf, points, 0.2),
            "map_torch": lambda: ContactMap(net).probabilities(x),
            "window_step": lambda: ContactEstimator(ContactConfig(source="learned")).window(kp, conf, points, observed),
        }
        onnx_map = ContactMap(net, "onnx", Path(tmp) / "contacts.onnx", providers=["CPUExecutionProvider"])
        runs["map_onnx_cpu"] = lambda: onnx_map.probabilities(x)
        ms = {k: 1000 * median_seconds(fn, args.repeats) / T for k, fn in runs.items()}
    result = {"frames": T, "threads": args.threads, "ms_per_frame": {k: round(v, 3) for k, v in ms.items()},
              "target_ms_per_frame": TARGET_MS, "ratio_to_target": round(ms["window_step"] / TARGET_MS, 3),
              "load": os.getloadavg()[0], "cpu": platform.processor() or platform.machine()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
