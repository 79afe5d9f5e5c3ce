"""Is it the 2D keypoints? The validation clips reconstructed with the embedded defaults (or
``--set`` overrides) from the real perception, but with each person's shoulders, elbows,
wrists, hips, knees and ankles replaced by their true 2D joints (``gt.npz`` ``joints_2d``,
where the keypoint model saw the joint at all; optionally with Gaussian noise of ``--noise``
px). Scored as the validation bench scores, plus how far the limbs reach in depth against the
truth (``validation_errors.limb_depth``: 0.72 of the truth with the perceived keypoints) and
how long the deep limbs project against the truth's (:func:`limb_2d_length`).

Writes benchmarks/results/oracle-2d[-<tag>].json (the tag names the overrides and noise).
    .venv/bin/python benchmarks/oracle_2d.py [--noise 0] [--set fitting.weights.pose3d=0]
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import yaml

from validation_errors import LIMBS, limb_depth  # benchmarks/, beside this script

from interaction_recon.body.skeleton import BLAZEPOSE33, SMPL_JOINTS
from interaction_recon.config import override
from interaction_recon.eval import metrics, validation
from interaction_recon.eval.bench import git_commit
from interaction_recon.fitting.result import Reconstruction
from interaction_recon.paths import cache_dir
from interaction_recon.render.camera import project

RESULTS = Path(__file__).parent / "results"
JOINTS = [f"{side}_{j}" for side in ("left", "right") for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")]


def slot_order(keypoints: np.ndarray, gt2d: np.ndarray) -> tuple[int, int]:
    """Which true person each slot holds: keypoints [2, T, 33, 2] (BlazePose), gt2d [2, T, 24, 2];
    the assignment with the smaller median hip-centre distance."""
    hips = keypoints[:, :, [BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")]].mean(2)
    true = gt2d[:, :, [SMPL_JOINTS.index("left_hip"), SMPL_JOINTS.index("right_hip")]].mean(2)
    d = np.array([[np.nanmedian(np.linalg.norm(hips[a] - true[b], axis=-1)) for b in range(2)] for a in range(2)])
    return (0, 1) if d[0, 0] + d[1, 1] <= d[0, 1] + d[1, 0] else (1, 0)


def with_true_joints(track, gt2d: np.ndarray, noise: float, rng: np.random.Generator):
    """The track with the JOINTS keypoints moved onto the true 2D joints (+ noise px) where the
    keypoint model gave them any confidence."""
    T = min(track.num_frames, gt2d.shape[1])
    perm = slot_order(track.keypoints[:, :T], gt2d[:, :T])
    for s in range(2):
        for name in JOINTS:
            k, j = BLAZEPOSE33.index(name), SMPL_JOINTS.index(name)
            seen = track.confidence[s, :T, k] > 0
            true = gt2d[perm[s], :T, j] + noise * rng.standard_normal((T, 2))
            track.keypoints[s, :T, k] = np.where(seen[:, None], true, track.keypoints[s, :T, k])
    return track


def limb_2d_length(pred: np.ndarray, gt: np.ndarray, K: np.ndarray, min_depth: float = 0.08) -> float:
    """Median over the limb bones reaching more than ``min_depth`` m along the line of sight in
    the truth of their projected 2D length, fitted over true: pred, gt [T, 24, 3] camera frame
    (m), K [3, 3]. Over 1: the fitted limbs lie flatter than the image says."""
    ratios = []
    for a, b in LIMBS:
        i, j = SMPL_JOINTS.index(a), SMPL_JOINTS.index(b)
        length = [np.linalg.norm(project(x[:, j], K) - project(x[:, i], K), axis=-1) for x in (pred, gt)]
        ray = gt[:, i] / np.linalg.norm(gt[:, i], axis=-1, keepdims=True)
        deep = (np.abs(((gt[:, j] - gt[:, i]) * ray).sum(-1)) > min_depth) & np.isfinite(length[0])
        ratios.extend((length[0][deep] / length[1][deep]).tolist())
    return float(np.median(ratios)) if ratios else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--noise", type=float, default=0.0, help="px of Gaussian noise on the true joints")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override (YAML value)")
    args = ap.parse_args()
    sets = dict(kv.split("=", 1) for kv in args.set)
    config = override(validation.configure("default"), {k: yaml.safe_load(v) for k, v in sets.items()}, "--set")
    tag = "-".join([f"noise-{args.noise:g}"] * (args.noise > 0) + [f"{k.split('.')[-1]}-{v}" for k, v in sets.items()])
    rng = np.random.default_rng(0)
    rows = []
    for scene in validation.load_suite():
        track = with_true_joints(validation.perceive(scene, cache_dir(), config.perception), scene.gt["joints2d"],
                                 args.noise, rng)
        keep = cache_dir() / "oracle-2d" / (tag or "default") / scene.name
        row = validation.evaluate(scene, track, config, keep=keep)
        rec = Reconstruction.load(keep / "results.npz")
        gt = scene.gt["joints"].astype(np.float64)
        perm, _ = metrics.match_person_order(rec.joints.astype(np.float64), gt)
        pred = rec.joints.astype(np.float64)[list(perm)]
        depth = [limb_depth(pred[p], gt[p]) for p in range(2)]
        rows.append({"scene": scene.name, **{k: row[k] for k in ("mpjpe", "pa_mpjpe", "inter", "reprojection_error")},
                     "limb_extent_ratio": float(np.mean([d["extent_ratio"] for d in depth])),
                     "limb_slope": float(np.mean([d["slope"] for d in depth])),
                     "limb_2d_length_ratio": float(np.mean([limb_2d_length(pred[p], gt[p], scene.gt["K"])
                                                            for p in range(2)]))})
        print(json.dumps(rows[-1]), flush=True)
    result = {"overrides": sets, "noise_px": args.noise, "commit": git_commit(), "load": os.getloadavg()[0],
              "scenes": rows, "overall": {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "scene"}}
    out = RESULTS / f"oracle-2d{'-' + tag if tag else ''}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(out, json.dumps(result["overall"]))


if __name__ == "__main__":
    main()
