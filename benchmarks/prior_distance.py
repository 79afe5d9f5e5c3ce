"""How far apart the two people of the prior's training interactions are: the median
distance between the two pelvises per clip and over all frames, for the shipped
checkpoint's training clips (synthetic seeds 0..19 x 12 kinds, default.json). It backs
``fitting.prior_max_distance``: beyond the largest clip median the prior has not seen a pair.

Writes benchmarks/results/prior-distance.json.
    .venv/bin/python benchmarks/prior_distance.py [--seeds 20]
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from interaction_recon.eval.bench import _models
from interaction_recon.paths import PROJECT_ROOT
from interaction_recon.prior.data import synthetic_clips


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20, help="training seeds 0..N-1 (the checkpoint used 20)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    body = _models()[0]
    per_clip, frames = {}, []
    for clip in synthetic_clips(body, range(args.seeds)):
        with torch.no_grad():
            pelvis = body(clip.params).joints[:, :, 0]  # [2, T, 3]
        d = (pelvis[0] - pelvis[1]).norm(dim=-1).numpy()
        per_clip[clip.name] = round(float(np.median(d)), 3)
        frames.append(d)
    medians = np.array(list(per_clip.values()))
    every = np.concatenate(frames)
    result = {"clips": len(per_clip), "frames": int(every.size),
              "clip_median_m": {"p50": float(np.percentile(medians, 50)), "p95": float(np.percentile(medians, 95)),
                                "max": float(medians.max())},
              "frame_m": {f"p{q}": float(np.percentile(every, q)) for q in (50, 90, 95, 99)},
              "per_clip_median_m": per_clip}
    out = PROJECT_ROOT / "benchmarks" / "results" / "prior-distance.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "per_clip_median_m"}, indent=1))


if __name__ == "__main__":
    main()
