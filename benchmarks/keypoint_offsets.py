"""Where the perceived keypoints lie along each limb against the body model's own keypoints,
on the dev suite's renders (anny bodies with known pose, so the model's keypoints are known
exactly): for elbows, wrists, knees and ankles, the median offset of the perceived 2D
keypoint from the true model keypoint along the parent bone (share of the bone's 2D length
between the model's keypoints; positive: beyond, away from the parent). A systematic offset
makes the fit stretch or fold a limb in the image plane and so misjudge its depth. The dev
suite is where a correction would be chosen; ``benchmarks/validation_errors.py``
(``keypoint_offset``) gives the same comparison on the validation clips, against their joints.

Writes benchmarks/results/keypoint-offsets.json.
    .venv/bin/python benchmarks/keypoint_offsets.py
"""
from __future__ import annotations

import json
import os

import numpy as np

from interaction_recon.body.skeleton import BLAZEPOSE33
from interaction_recon.eval import bench
from interaction_recon.eval.bench import git_commit
from interaction_recon.paths import PROJECT_ROOT, cache_dir

LIMBS = (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle"))


def along_bone(point: np.ndarray, parent: np.ndarray, end: np.ndarray) -> np.ndarray:
    """How far ``point`` lies beyond ``end`` along the bone parent -> end, as a share of the
    bone (positive: away from the parent); points [..., D] in any units, one bone each."""
    bone = end - parent
    return ((point - end) * bone).sum(-1) / np.maximum((bone * bone).sum(-1), 1e-12)


def offsets(keypoints: np.ndarray, confidence: np.ndarray, model: np.ndarray, visible: np.ndarray) -> dict:
    """{joint: samples} from perceived keypoints [2, T, 33, 2] / confidence [2, T, 33] against
    the model's [2, T, 33, 2] (person order matched), where the joint is visible and perceived
    surely (over 0.5) and the bone is over 15 px long."""
    out = {}
    for parent, joint in LIMBS:
        for side in ("left", "right"):
            a, b = BLAZEPOSE33.index(f"{side}_{parent}"), BLAZEPOSE33.index(f"{side}_{joint}")
            along = along_bone(keypoints[:, :, b], model[:, :, a], model[:, :, b])
            ok = (confidence[:, :, b] > 0.5) & visible[:, :, b] & (np.linalg.norm(model[:, :, b] - model[:, :, a], axis=-1) > 15)
            out.setdefault(joint, []).extend(along[ok].tolist())
    return out


def main() -> None:
    result = {"commit": git_commit(), "load": os.getloadavg()[0], "clips": {}, "pooled": {}}
    pooled = {}
    for scene in bench.suite_scenes("dev", cache_dir()):
        kp, conf, _, _ = bench._perceived(scene)
        model, visible = scene.gt["blazepose33_2d"], scene.gt["visible_blazepose33"].astype(bool)
        T = min(kp.shape[1], model.shape[1])
        kp, conf, model, visible = kp[:, :T], conf[:, :T], model[:, :T], visible[:, :T]
        err = lambda o: np.nanmean(np.where(conf[o] > 0.5, np.linalg.norm(kp[o] - model, axis=-1), np.nan))
        order = [0, 1] if err([0, 1]) <= err([1, 0]) else [1, 0]
        got = offsets(kp[order], conf[order], model, visible)
        result["clips"][scene.name] = {j: float(np.median(v)) if v else None for j, v in got.items()}
        for j, v in got.items():
            pooled.setdefault(j, []).extend(v)
    result["pooled"] = {j: {"median": float(np.median(v)), "samples": len(v)} for j, v in pooled.items()}
    (PROJECT_ROOT / "benchmarks" / "results" / "keypoint-offsets.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["pooled"]))


if __name__ == "__main__":
    main()
