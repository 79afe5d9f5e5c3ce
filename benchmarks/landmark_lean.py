"""How the keypoint model's 3D landmarks lean with the camera's pitch, and the pitch their shins
give (fitting.shin_pitch, fitting.pose3d_level). Per clip: the true pitch, the pitch from
the landmarks' shins (:func:`interaction_recon.fitting.floor.pitch_from_shins`) and its error,
and per bone group the mean angle (deg) between the landmarks' bones (camera frame,
:func:`interaction_recon.fitting.pose3d.camera_landmarks`) and the true ones: as given, and
turned to stand along the true floor's up (:func:`interaction_recon.fitting.pose3d.level_rotation`).
A group the model draws as seen is best as given; one it draws upright to the image, turned.
The dev suite (the synthetic world rendered, real perception) and the validation clips.

Writes benchmarks/results/landmark-lean.json.
    .venv/bin/python benchmarks/landmark_lean.py
"""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from interaction_recon.body.skeleton import BLAZEPOSE33, SMPL_JOINTS
from interaction_recon.eval import bench, validation
from interaction_recon.fitting import floor, pose3d
from interaction_recon.paths import PROJECT_ROOT, cache_dir

GROUPS = {  # bone group -> (start, end) pairs named alike in BlazePose-33 and SMPL-24
    "torso": [("left_hip", "left_shoulder"), ("right_hip", "right_shoulder"), ("left_hip", "right_hip"),
              ("left_shoulder", "right_shoulder")],
    "thighs": [("left_hip", "left_knee"), ("right_hip", "right_knee")],
    "shins": [("left_knee", "left_ankle"), ("right_knee", "right_ankle")],
    "upper_arms": [("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow")],
    "forearms": [("left_elbow", "left_wrist"), ("right_elbow", "right_wrist")],
}
HIPS = [BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _swapped(keypoints: np.ndarray, gt2d: np.ndarray) -> bool:
    """Whether the perceived people [2, T, 33, 2] are in the other order than the true ones
    (gt2d [2, T, 24, 2]), by the hips' 2D distance."""
    hips = keypoints[:, :, HIPS].mean(2)
    true = gt2d[:, :, [SMPL_JOINTS.index("left_hip"), SMPL_JOINTS.index("right_hip")]].mean(2)
    cost = lambda a, b: np.nanmean(np.linalg.norm(a - b, axis=-1))
    return bool(cost(hips[::-1], true) < cost(hips, true))


def clip_row(name: str, world, keypoints, confidence, K, gt_joints, gt2d, up: np.ndarray) -> dict:
    """One clip's row; up [3] the true floor's up in the camera frame."""
    landmarks = pose3d.camera_landmarks(world, keypoints, confidence, K, 0.2)
    shins = floor.pitch_from_shins(landmarks, confidence)
    true_pitch = float(np.degrees(np.arcsin(np.clip(-up[2], -1.0, 1.0))))
    level = pose3d.level_rotation(torch.as_tensor(up, dtype=torch.float64)).numpy()
    lm, conf = (landmarks[::-1], confidence[::-1]) if _swapped(keypoints, gt2d) else (landmarks, confidence)
    groups = {}
    for group, pairs in GROUPS.items():
        given, turned = [], []
        for a, b in pairs:
            seen = np.minimum(conf[..., BLAZEPOSE33.index(a)], conf[..., BLAZEPOSE33.index(b)]) >= 0.5
            bone = _unit(lm[..., BLAZEPOSE33.index(b), :] - lm[..., BLAZEPOSE33.index(a), :])[seen]
            truth = _unit(gt_joints[..., SMPL_JOINTS.index(b), :] - gt_joints[..., SMPL_JOINTS.index(a), :])[seen]
            angle = lambda x: np.degrees(np.arccos(np.clip((x * truth).sum(-1), -1.0, 1.0)))
            given.append(angle(bone))
            turned.append(angle(bone @ level.T))
        groups[group] = {"given_deg": float(np.nanmean(np.concatenate(given))),
                         "turned_deg": float(np.nanmean(np.concatenate(turned)))}
    return {"scene": name, "true_pitch_deg": true_pitch, "shin_pitch_deg": shins,
            "shin_pitch_error_deg": None if shins is None else shins - true_pitch, "bones": groups}


def _dev(cache):
    for scene in bench.suite_scenes("dev", cache):
        track = bench._perceived(scene)
        keypoints, confidence, world = track.keypoints, track.confidence, track.world
        up = np.median(scene.gt["R"], 0)[:, 1]  # the dev world's y is up
        yield scene.name, world, keypoints, confidence, scene.gt["K"], scene.gt["joints"], scene.gt["joints2d"], up


def _validation(cache):
    for scene in validation.load_suite():
        track = validation.perceive(scene, cache)
        yield (scene.name, track.world, track.keypoints, track.confidence, scene.gt["K"], scene.gt["joints"],
               scene.gt["joints2d"], scene.gt["R"][:, 2])


def main() -> None:
    torch.set_num_threads(1)
    cache = cache_dir()
    result = {"load": os.getloadavg()[0]}
    for suite, clips in (("dev", _dev(cache)), ("validation", _validation(cache))):
        rows = [clip_row(*clip) for clip in clips]
        errors = np.array([r["shin_pitch_error_deg"] for r in rows if r["shin_pitch_error_deg"] is not None])
        pooled = {g: {k: float(np.mean([r["bones"][g][k] for r in rows])) for k in ("given_deg", "turned_deg")}
                  for g in GROUPS}
        result[suite] = {"shin_pitch_abs_error_mean_deg": float(np.abs(errors).mean()),
                         "shin_pitch_abs_error_max_deg": float(np.abs(errors).max()),
                         "shin_pitch_error_mean_deg": float(errors.mean()), "bones": pooled, "scenes": rows}
        print(suite, json.dumps({k: v for k, v in result[suite].items() if k != "scenes"}))
    (PROJECT_ROOT / "benchmarks" / "results" / "landmark-lean.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
