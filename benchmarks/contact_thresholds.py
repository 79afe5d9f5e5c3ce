"""The contact evidence's hysteresis thresholds (enter, leave) on the contact map's held-out
synthetic clips (seeds 1000 and 1008, every interaction kind; never trained on, and not the
validation clips): frame x part-pair precision, recall, F1 and the share of no-contact frames
with any contact, after smoothing and hysteresis as `contact/evidence.py` does them.

Prints and writes benchmarks/results/contact-thresholds.json.
    .venv/bin/python benchmarks/contact_thresholds.py [--clips .cache/synth/contact-train]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import uniform_filter1d

from interaction_recon.config import ContactConfig
from interaction_recon.contact import data, train
from interaction_recon.contact.evidence import segments
from interaction_recon.contact.model import ContactMap, load_model
from interaction_recon.synth.dataset import load_scene

SETTINGS = ((0.2, 0.1), (0.25, 0.15), (0.3, 0.2), (0.35, 0.2), (0.4, 0.25), (0.5, 0.3))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", default=".cache/synth/contact-train")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "contact-thresholds.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    held = train.TrainConfig().holdout_seeds
    scenes = [load_scene(p) for p in train.find_clips([args.clips])]
    scenes = [s for s in scenes if s.meta["seed"] in held]
    cmap, cfg, rng = ContactMap(load_model()), ContactConfig(), np.random.default_rng(5)
    looks = []
    for scene in scenes:
        x, y, ok = data.examples(scene, rng, data.Augment(shift_share=0.0), mirror=False)
        p = np.zeros(y.shape, np.float32)
        p[ok] = cmap.probabilities(x[ok])
        looks.append((uniform_filter1d(p, cfg.smooth_frames, axis=0, mode="nearest"), y))
    rows = []
    for enter, leave in SETTINGS:
        tp = fp = fn = 0
        false = []
        for p, y in looks:
            pred = np.zeros_like(y)
            for a, b in zip(*np.nonzero((p >= enter).any(0))):
                for s, e in segments(p[:, a, b], enter, leave, cfg.min_frames):
                    pred[s:e, a, b] = True
            tp, fp, fn = tp + (pred & y).sum(), fp + (pred & ~y).sum(), fn + (~pred & y).sum()
            none = ~y.any((1, 2))
            false.append(pred[none].any((1, 2)).mean())
        precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        rows.append({"enter": enter, "leave": leave, "precision": round(float(precision), 3),
                     "recall": round(float(recall), 3),
                     "f1": round(float(2 * precision * recall / max(precision + recall, 1e-9)), 3),
                     "false_frames": round(float(np.mean(false)), 3)})
        print(rows[-1])
    Path(args.out).write_text(json.dumps({"clips": [s.name for s in scenes], "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
