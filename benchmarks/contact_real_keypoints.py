"""The contact map on synthetic clips rendered with images and seen through the real
perception pipeline (not the simulated detector): frame x part-pair precision, recall, F1 and
false frames at the map's own threshold (no hysteresis), for the shipped checkpoint and for
one trained with such clips (``--trained``, e.g. ``interaction-recon train-contacts --out
out/contacts/real.pt`` once ``.cache/synth/contact-real`` holds rendered clips). Scored on the
rendered clips of the held-out seed (2001); writes benchmarks/results/contact-map-real-keypoints.json.
    .venv/bin/python benchmarks/contact_real_keypoints.py [--trained out/contacts/real.pt]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from interaction_recon.contact import train
from interaction_recon.contact.model import ContactMap, load_model
from interaction_recon.synth.dataset import load_scene


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", default=".cache/synth/contact-real")
    ap.add_argument("--seed", type=int, default=2001, help="held-out seed of the rendered clips")
    ap.add_argument("--trained", help="a checkpoint trained with rendered clips")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "contact-map-real-keypoints.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    scenes = [load_scene(p) for p in train.find_clips([args.clips])]
    scenes = [s for s in scenes if s.meta["seed"] == args.seed]
    for s in scenes:
        s.meta["perceive"] = True
    cfg = train.TrainConfig(looks=1)
    x, y = train._stack(scenes, np.random.default_rng(0), cfg)
    result = {"clips": [s.name for s in scenes], "frames": int(len(x)), "contact_frames": int(y.any((1, 2)).sum())}
    for name, path in (("shipped", None), ("trained_with_rendered_clips", args.trained)):
        if name == "shipped" or path:
            result[name] = train.scores(ContactMap(load_model(path)).probabilities(x), y, cfg.threshold)
            if path:
                result[name]["record"] = json.loads(Path(path).with_suffix(".json").read_text())["heldout"]
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
