"""Where the perceived keypoints lie along each limb against the body model's own keypoints,
on the dev suite's renders (anny bodies with known pose, so the model's keypoints are known
exactly): for elbows, wrists, knees and ankles, the median offset of the perceived 2D
keypoint from the true model keypoint along the parent bone (share of the bone's 2D length
between the model's keypoints; positive: beyond, away from the parent). A systematic offset
makes the fit stretch or fold a limb in the image plane and so misjudge its depth. The dev
suite is where a correction would be chosen; ``benchmarks/validation_errors.py``
(``keypoint_offset``) gives the same comparison on the validation clips, against their joints.
``source``: for shoulders, elbows, wrists, hips, knees and ankles, the median 2D distance (share of
the body's image height, head to ankles) of the perceived keypoint from the model's keypoint
(anny's COCO regressor, what the fit uses) and from the model's joint (the bone head, what the
validation clips' truth gives), and between the two: which convention the keypoint model follows.

Writes benchmarks/results/keypoint-offsets.json.
    .venv/bin/python benchmarks/keypoint_offsets.py
"""
from __future__ import annotations

import json
import os

import numpy as np

from interaction_recon.body.skeleton import BLAZEPOSE33, SMPL_JOINTS
from interaction_recon.eval import bench
from interaction_recon.eval.bench import git_commit
from interaction_recon.paths import PROJECT_ROOT, cache_dir

LIMBS = (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle"))
SOURCE_JOINTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")


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


def sources(keypoints: np.ndarray, confidence: np.ndarray, model: np.ndarray, joints: np.ndarray,
            visible: np.ndarray) -> dict:
    """{joint: {"regressor", "bone_head", "between": samples}}: 2D distances (share of the image
    height head to ankles) of the perceived keypoints [2, T, 33, 2] from the model's keypoints
    [2, T, 33, 2] and joints [2, T, 24, 2], and of those two from each other, both sides pooled,
    where the joint is visible, perceived surely (over 0.5) and the body over 50 px tall."""
    ankles = [SMPL_JOINTS.index("left_ankle"), SMPL_JOINTS.index("right_ankle")]
    height = np.linalg.norm(joints[:, :, SMPL_JOINTS.index("head")] - joints[:, :, ankles].mean(2), axis=-1)
    out = {}
    for joint in SOURCE_JOINTS:
        for side in ("left", "right"):
            b, j = BLAZEPOSE33.index(f"{side}_{joint}"), SMPL_JOINTS.index(f"{side}_{joint}")
            ok = (confidence[:, :, b] > 0.5) & visible[:, :, b] & (height > 50)
            got = out.setdefault(joint, {"regressor": [], "bone_head": [], "between": []})
            for key, a, c in (("regressor", keypoints[:, :, b], model[:, :, b]),
                              ("bone_head", keypoints[:, :, b], joints[:, :, j]),
                              ("between", joints[:, :, j], model[:, :, b])):
                got[key].extend((np.linalg.norm(a - c, axis=-1) / height)[ok].tolist())
    return out


def main() -> None:
    result = {"commit": git_commit(), "load": os.getloadavg()[0], "clips": {}, "pooled": {}}
    pooled, pooled_sources = {}, {}
    for scene in bench.suite_scenes("dev", cache_dir()):
        track = bench._perceived(scene)
        kp, conf = track.keypoints, track.confidence
        model, visible = scene.gt["blazepose33_2d"], scene.gt["visible_blazepose33"].astype(bool)
        T = min(kp.shape[1], model.shape[1])
        kp, conf, model, visible = kp[:, :T], conf[:, :T], model[:, :T], visible[:, :T]
        err = lambda o: np.nanmean(np.where(conf[o] > 0.5, np.linalg.norm(kp[o] - model, axis=-1), np.nan))
        order = [0, 1] if err([0, 1]) <= err([1, 0]) else [1, 0]
        got = offsets(kp[order], conf[order], model, visible)
        for j, v in sources(kp[order], conf[order], model, scene.gt["joints2d"][:, :T], visible).items():
            for key, samples in v.items():
                pooled_sources.setdefault(j, {}).setdefault(key, []).extend(samples)
        result["clips"][scene.name] = {j: float(np.median(v)) if v else None for j, v in got.items()}
        for j, v in got.items():
            pooled.setdefault(j, []).extend(v)
    result["pooled"] = {j: {"median": float(np.median(v)), "samples": len(v)} for j, v in pooled.items()}
    result["source"] = {j: {key: float(np.median(s)) for key, s in v.items()} | {"samples": len(v["regressor"])}
                        for j, v in pooled_sources.items()}
    (PROJECT_ROOT / "benchmarks" / "results" / "keypoint-offsets.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["pooled"]), json.dumps(result["source"]))


if __name__ == "__main__":
    main()
