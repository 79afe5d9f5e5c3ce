"""What the validation clips count as contact: for each clip with scripted contact parts, the
frames the ground truth labels as touching (``gt.npz`` ``contact``: the meshes within 1.5 cm),
the frames where the two meshes are within 5 cm but not touching (a grip that leaves a small
gap: no image can tell these from touching), and the frames where the scripted parts overlap
in the image (their true 2D joints within 10 % of the smaller person's image height) while the
meshes are more than 10 cm apart (near in the image, apart in depth: a source that reads the
image alone reports these). The last two bound what a contact source can score against the
``contact_false_frames`` target (5 % of the no-contact frames).

Writes benchmarks/results/validation-contact-truth.json.
    .venv/bin/python benchmarks/contact_truth.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from interaction_recon.body.skeleton import SMPL_JOINTS
from interaction_recon.eval import validation
from interaction_recon.eval.bench import git_commit

RESULTS = Path(__file__).parent / "results"
NEAR = 0.05  # m: meshes this close without touching count as a near miss
APART = 0.10  # m: meshes farther apart than this are clearly not touching
OVERLAP = 0.10  # share of the smaller person's image height within which two joints overlap in the image


def clip_truth(scene) -> dict:
    """{frames, contact, near_miss, overlap_apart, no_contact} frame counts of one clip."""
    with np.load(scene.root / "gt.npz") as data:
        touching, gap = data["contact"].astype(bool), data["min_dist"].astype(np.float64)
    j2d = scene.gt["joints2d"]  # [2, T, 24, 2]
    height = np.ptp(j2d[..., 1], axis=-1).min(0)  # [T] px, the smaller person
    overlap = np.zeros(len(gap), bool)
    for a, b in scene.meta.get("contact_parts", []):
        d = np.linalg.norm(j2d[0, :, SMPL_JOINTS.index(a)] - j2d[1, :, SMPL_JOINTS.index(b)], axis=-1)
        overlap |= d < OVERLAP * height
    free = ~touching
    near = free & (gap < NEAR)
    return {"frames": int(len(gap)), "contact": int(touching.sum()), "no_contact": int(free.sum()),
            "near_miss": int(near.sum()), "overlap_apart": int((overlap & (gap > APART)).sum()),
            "gap_cm_median_near_miss": float(100 * np.median(gap[near])) if near.any() else None,
            "contact_parts": scene.meta.get("contact_parts", [])}


def main() -> None:
    clips = {s.name: clip_truth(s) for s in validation.load_suite(None) if s.meta.get("contact_parts")}
    for c in clips.values():
        c["near_miss_share"] = round(c["near_miss"] / max(c["no_contact"], 1), 3)
        c["overlap_apart_share"] = round(c["overlap_apart"] / max(c["no_contact"], 1), 3)
    result = {"commit": git_commit(), "near_m": NEAR, "apart_m": APART, "overlap_share": OVERLAP, "clips": clips}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "validation-contact-truth.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(clips, indent=1))


if __name__ == "__main__":
    main()
