"""The keypoint contact source (``fitting.contact.source: keypoints``) on the dev suite's
rendered clips, seen through the real perception pipeline, without running the window fit:
the "fit" it checks against is the ground truth's BlazePose-33 points with a fit's errors
(``contact.data.with_fit_errors``: drifting offsets, larger in depth, and per-point noise), or
nothing. Scores frame x part pair (sides included) against the clips' contact labels (2 cm):
precision, recall, F1 and false contact frames, per clip and pooled; for developing the source
on dev in minutes. The validation suite, with the real fit, decides defaults.
Writes benchmarks/results/<name>.json.
    .venv/bin/python benchmarks/contact_sources.py [--reach 0.15] [--name contact-sources]
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from interaction_recon.config import ContactConfig
from interaction_recon.contact.data import Augment, perceived, with_fit_errors
from interaction_recon.contact.evidence import ContactEstimator
from interaction_recon.eval.metrics import contact_prf, false_contact_frames
from interaction_recon.paths import cache_dir
from interaction_recon.synth.dataset import load_scene


def score(triples: list, truth: list, frames: int) -> dict:
    p, r, f1 = contact_prf(triples, truth)
    return {"precision": p, "recall": r, "f1": f1, "false_frames": false_contact_frames(triples, truth, frames)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default=str(cache_dir() / "synth" / "dev"))
    ap.add_argument("--reach", type=float, help="fitting.contact.reach (torso heights; default: the config's)")
    ap.add_argument("--name", default="contact-sources")
    args = ap.parse_args()
    cfg = ContactConfig(source="keypoints")
    if args.reach is not None:
        cfg.reach = args.reach
    estimator = ContactEstimator(cfg)
    index = json.loads((Path(args.suite) / "index.json").read_text())
    result = {"config": asdict(cfg), "load": os.getloadavg()[0], "clips": {}}
    pooled = {"with_fit": [], "without_fit": []}  # (frame over all clips, part a, part b) found
    pooled_truth, offset = [], 0
    for entry in index["scenes"]:
        scene = load_scene(Path(args.suite) / entry["name"])
        kp, conf = perceived(scene)
        truth = [(int(t), a, b) for t, a, b in scene.gt["contact_parts"]]
        seen = (conf > 0).any(-1).all(0)  # [T] both people perceived
        fit = with_fit_errors(scene.gt["blazepose33"].astype(np.float64), np.random.default_rng(0), Augment())
        row = {"kind": entry["kind"], "frames": scene.num_frames, "contact_frames": len({t for t, _, _ in truth})}
        for name, points in (("with_fit", fit), ("without_fit", None)):
            found = estimator.window(kp, conf, points, seen).pairs()
            triples = [(t, a, b) for t, a, b, _ in found]
            row[name] = score(triples, truth, scene.num_frames)
            pooled[name].extend((t + offset, a, b) for t, a, b in triples)
        pooled_truth.extend((t + offset, a, b) for t, a, b in truth)
        offset += scene.num_frames
        result["clips"][entry["name"]] = row
        print(entry["name"], json.dumps({k: row[k] for k in ("with_fit", "without_fit")}), flush=True)
    result["all"] = {name: score(found, pooled_truth, offset) for name, found in pooled.items()}
    print("all", json.dumps(result["all"]))
    out = Path(__file__).parent / "results" / f"{args.name}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
