"""How much depth the keypoint model's 3D landmarks carry: per axis, the least-squares slope
of the landmarks' root-relative joint positions (camera frame, :mod:`interaction_recon.fitting.pose3d`)
on the true ones, and the depth gain that would give the depth axis the in-image axes' slope;
and how far each person's facing direction (hip and shoulder lines about the true spine) is
turned from the truth (median per person, degrees, signed towards the camera's +x side).
The dev suite (synthetic world renders through the real perception) is where a correction is
chosen; the validation clips (another generator) are measured beside it, never used to choose.

Writes benchmarks/results/landmark-depth.json.
    .venv/bin/python benchmarks/landmark_depth.py
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from interaction_recon.body.skeleton import SMPL_JOINTS
from interaction_recon.eval import bench, validation
from interaction_recon.paths import PROJECT_ROOT, cache_dir

# the limb joints the landmarks have to place in depth, relative to the pelvis
JOINTS = [SMPL_JOINTS.index(n) for n in ("left_wrist", "right_wrist", "left_elbow", "right_elbow", "left_ankle",
                                         "right_ankle", "left_knee", "right_knee", "left_shoulder", "right_shoulder",
                                         "head")]
PELVIS = SMPL_JOINTS.index("pelvis")


def _order(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int]:
    """The predicted person matched to each true one, by pelvis distance; [2, T, 24, 3] each."""
    cost = [[np.nanmean(np.linalg.norm(pred[i, :, PELVIS] - gt[j, :, PELVIS], axis=-1)) for j in range(2)]
            for i in range(2)]
    return (0, 1) if cost[0][0] + cost[1][1] <= cost[0][1] + cost[1][0] else (1, 0)


def offsets(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matched root-relative offsets (pred, gt) [N, 3] of both people (identities matched by
    pelvis distance); pred, gt [2, T, 24, 3] camera frame."""
    order = _order(pred, gt)
    p = np.concatenate([pred[i][:, JOINTS] - pred[i][:, PELVIS:PELVIS + 1] for i in range(2)]).reshape(-1, 3)
    g = np.concatenate([gt[order[i]][:, JOINTS] - gt[order[i]][:, PELVIS:PELVIS + 1] for i in range(2)]).reshape(-1, 3)
    ok = np.isfinite(p).all(-1) & np.isfinite(g).all(-1)
    return p[ok], g[ok]


SIDES = [(SMPL_JOINTS.index(a), SMPL_JOINTS.index(b)) for a, b in (("left_hip", "right_hip"),
                                                                   ("left_shoulder", "right_shoulder"))]
NECK = SMPL_JOINTS.index("neck")


def yaw_errors(pred: np.ndarray, gt: np.ndarray) -> list[float]:
    """Per true person, the median angle (deg) by which the matched predicted person faces
    another way about the true person's mean spine; pred, gt [2, T, 24, 3] camera frame."""
    order = _order(pred, gt)
    out = []
    for j in range(2):
        p, g = pred[order[j]], gt[j]
        up = np.nanmean(g[:, NECK] - g[:, PELVIS], 0)
        up /= np.linalg.norm(up)
        side = lambda x: sum(x[:, a] - x[:, b] for a, b in SIDES)  # [T, 3]
        sp, sg = (v - (v @ up)[:, None] * up for v in (side(p), side(g)))
        angle = np.degrees(np.arctan2(np.cross(sg, sp) @ up, (sg * sp).sum(-1)))
        out.append(float(np.nanmedian(angle)))
    return out


def slopes(p: np.ndarray, g: np.ndarray) -> dict:
    s = (p * g).sum(0) / (g * g).sum(0)  # [3] per axis, through the origin
    return {"slope_x": float(s[0]), "slope_y": float(s[1]), "slope_z": float(s[2]),
            "depth_gain": float(s[:2].mean() / s[2]), "corr_z": float(np.corrcoef(p[:, 2], g[:, 2])[0, 1]),
            "samples": int(len(p))}


def main() -> None:
    torch.set_num_threads(1)
    cache = cache_dir()
    result = {"load": os.getloadavg()[0]}
    for name, clips in (("dev", _dev(cache)), ("validation", _validation(cache))):
        rows, ps, gs = [], [], []
        for scene, landmarks, gt in clips:
            p, g = offsets(landmarks, gt)
            rows.append({"scene": scene, **slopes(p, g), "yaw_error_deg": yaw_errors(landmarks, gt)})
            ps.append(p)
            gs.append(g)
        yaw = np.abs([r["yaw_error_deg"] for r in rows])
        result[name] = {"pooled": {**slopes(np.concatenate(ps), np.concatenate(gs)),
                                   "yaw_error_abs_deg_mean": float(np.nanmean(yaw))}, "scenes": rows}
        print(name, json.dumps(result[name]["pooled"]))
    (PROJECT_ROOT / "benchmarks" / "results" / "landmark-depth.json").write_text(json.dumps(result, indent=1) + "\n")


def _dev(cache):
    for scene in bench.suite_scenes("dev", cache):
        track = bench._perceived(scene)
        yield scene.name, validation.landmark_joints(track, scene.gt["K"]), scene.gt["joints"]


def _validation(cache):
    for scene in validation.load_suite():
        track = validation.perceive(scene, cache)
        yield scene.name, validation.landmark_joints(track, scene.gt["K"]), scene.gt["joints"]


if __name__ == "__main__":
    main()
