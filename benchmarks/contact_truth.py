"""What the validation clips count as contact: for each clip with scripted contact parts, the
frames the ground truth labels as touching (``gt.npz`` ``contact``: the meshes within 1.5 cm),
the frames where the two meshes are within 5 cm but not touching (a grip that leaves a small
gap: no image can tell these from touching), and the frames where the scripted parts overlap
in the image (their true 2D joints within 10 % of the smaller person's image height) while the
meshes are more than 10 cm apart (near in the image, apart in depth: a source that reads the
image alone reports these). The last two bound what a contact source can score against the
``contact_false_frames`` target (5 % of the no-contact frames).

``perceived``: at the true contact frames, where the embedded perception (cached like the
validation bench's) put each scripted contact joint: the frames it is confident (>= 0.5), and of
those the ones off the true joint by more than ``OVERLAP`` of the person's image height, and the
ones lying inside the other person's mask but not their own.

Writes benchmarks/results/validation-contact-truth.json.
    .venv/bin/python benchmarks/contact_truth.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from interaction_recon.body.skeleton import BLAZEPOSE33, SMPL_JOINTS
from interaction_recon.config import PerceptionConfig
from interaction_recon.eval import validation
from interaction_recon.eval.bench import git_commit
from interaction_recon.paths import cache_dir

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


def perceived(scene) -> dict:
    """{"<person> <joint>": {contact_frames, confident, off, other_mask_only}} for the scripted
    contact joints of the clip, the perceived people matched to the true ones by their hips in
    the image."""
    track = validation.perceive(scene, cache_dir(), PerceptionConfig())
    j2d, kp = scene.gt["joints2d"], track.keypoints  # [2, T, 24, 2], [2, T, 33, 2] px
    hips = kp[:, :, [BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")]].mean(2)  # [2, T, 2]
    apart = [np.nanmean(np.linalg.norm(hips - j2d[order, :, 0], axis=-1)) for order in ([0, 1], [1, 0])]
    slot = [0, 1] if apart[0] <= apart[1] else [1, 0]  # slot[p]: the perceived person who is true person p
    with np.load(scene.root / "gt.npz") as data:
        frames = np.flatnonzero(data["contact"])
    (H, W), (h, w) = track.image_size, track.masks.shape[-2:]
    out = {}
    for a, b in scene.meta.get("contact_parts", []):
        for p, joint in ((0, a), (1, b)):
            k, s = BLAZEPOSE33.index(joint), slot[p]
            t = frames[track.confidence[s, frames, k] >= 0.5]
            xy = kp[s, t, k]
            height = np.ptp(j2d[p, t, :, 1], axis=-1)
            off = np.linalg.norm(xy - j2d[p, t, SMPL_JOINTS.index(joint)], axis=-1) > OVERLAP * height
            u, v = np.clip((xy[:, 0] * w / W).astype(int), 0, w - 1), np.clip((xy[:, 1] * h / H).astype(int), 0, h - 1)
            foreign = (track.masks[s, t, v, u] < 0.5) & (track.masks[1 - s, t, v, u] >= 0.5)
            out[f"person {p} {joint}"] = {"contact_frames": int(len(frames)), "confident": int(len(t)),
                                          "off": int(off.sum()), "other_mask_only": int(foreign.sum()),
                                          "off_and_other_mask_only": int((off & foreign).sum())}
    return out


def main() -> None:
    clips = {s.name: {**clip_truth(s), "perceived": perceived(s)}
             for s in validation.load_suite(None) if s.meta.get("contact_parts")}
    for c in clips.values():
        c["near_miss_share"] = round(c["near_miss"] / max(c["no_contact"], 1), 3)
        c["overlap_apart_share"] = round(c["overlap_apart"] / max(c["no_contact"], 1), 3)
    result = {"commit": git_commit(), "near_m": NEAR, "apart_m": APART, "overlap_share": OVERLAP, "clips": clips}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "validation-contact-truth.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(clips, indent=1))


if __name__ == "__main__":
    main()
