"""Where the validation error is: per clip and person, the error of each scored joint, how
much of MPJPE a rotation about the true spine (facing) or any rotation would remove, the
fitted bone lengths against the true ones, how far the limbs reach along the line of sight
against the truth (``limb_depth``), where the perceived keypoints and the model's own keypoints lie along each
limb against the joint (``keypoint_offset``), and the pitch of the floor the fit used against the
camera's true pitch. Reads the reconstructions the validation bench keeps
(``<cache>/validation/<clip>/<method>/``: run ``interaction-recon bench --suite validation
--method M`` first) and writes benchmarks/results/validation-errors-<method>.json.
    .venv/bin/python benchmarks/validation_errors.py [--method default]
"""
from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.spatial.transform import Rotation

from keypoint_offsets import LIMBS as LIMB_ENDS, along_bone  # benchmarks/, beside this script

from interaction_recon.body.skeleton import SMPL_JOINTS
from interaction_recon.eval import metrics, validation
from interaction_recon.fitting import floor
from interaction_recon.fitting.result import Reconstruction
from interaction_recon.paths import PROJECT_ROOT, cache_dir

BONES = {"thigh": ("right_hip", "right_knee"), "shin": ("right_knee", "right_ankle"),
         "upper_arm": ("right_shoulder", "right_elbow"), "forearm": ("right_elbow", "right_wrist"),
         "shoulders": ("left_shoulder", "right_shoulder"), "spine": ("pelvis", "neck")}
NECK = SMPL_JOINTS.index("neck")
SCORED = list(metrics.SCORED_JOINTS)


def aligned_errors(pred: np.ndarray, gt: np.ndarray) -> dict:
    """pred, gt [T, 14, 3] root-relative (m): mean error (mm) as is, after the best rotation
    about the true mean spine (facing) and after the best rotation of any kind, and the
    median facing rotation (deg)."""
    up = np.nanmean(gt[:, SCORED.index(NECK)], 0)  # root-relative: the mean spine
    u = up / np.linalg.norm(up)
    out = {"mpjpe": [], "facing_aligned": [], "rotation_aligned": [], "facing_deg": []}
    for p, g in zip(pred, gt):
        if not (np.isfinite(p).all() and np.isfinite(g).all()):
            continue
        pu, gu = p - np.outer(p @ u, u), g - np.outer(g @ u, u)
        angle = np.arctan2(np.cross(pu, gu).sum(0) @ u, (pu * gu).sum())
        U, _, Vt = np.linalg.svd(p.T @ g)
        R = U @ np.diag([1, 1, np.sign(np.linalg.det(U @ Vt))]) @ Vt
        out["mpjpe"].append(np.linalg.norm(p - g, axis=-1).mean())
        turn = Rotation.from_rotvec(angle * u).as_matrix()
        out["facing_aligned"].append(np.linalg.norm(p @ turn.T - g, axis=-1).mean())
        out["rotation_aligned"].append(np.linalg.norm(p @ R - g, axis=-1).mean())
        out["facing_deg"].append(np.degrees(angle))
    mm = {k: 1000 * float(np.mean(out[k])) for k in ("mpjpe", "facing_aligned", "rotation_aligned")}
    return {**mm, "facing_deg_median": float(np.median(out["facing_deg"]))}


LIMBS = [(f"{side}_{a}", f"{side}_{b}") for side in ("left", "right")
         for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle"))]


def limb_depth(pred: np.ndarray, gt: np.ndarray, min_depth: float = 0.05) -> dict:
    """How far the limbs reach along the line of sight. pred, gt [T, 24, 3] camera frame (m):
    for each limb bone (upper arm, forearm, thigh, shin), its component along the true ray
    through its first joint, fitted against true: ``slope`` (least squares through 0: 1 is
    right, below 1 flattened towards the image plane), ``extent_ratio`` (sum of |fitted| over
    sum of |true|), ``sign_agreement`` (share with the true sign where the truth reaches over
    ``min_depth`` m) and ``error_mm`` (mean absolute difference)."""
    fit, true = [], []
    for a, b in LIMBS:
        i, j = SMPL_JOINTS.index(a), SMPL_JOINTS.index(b)
        ray = gt[:, i] / np.linalg.norm(gt[:, i], axis=-1, keepdims=True)
        fit.append(((pred[:, j] - pred[:, i]) * ray).sum(-1))
        true.append(((gt[:, j] - gt[:, i]) * ray).sum(-1))
    f, g = np.concatenate(fit), np.concatenate(true)
    ok = np.isfinite(f) & np.isfinite(g)
    f, g = f[ok], g[ok]
    far = np.abs(g) > min_depth
    return {"slope": float((f * g).sum() / (g * g).sum()), "extent_ratio": float(np.abs(f).sum() / np.abs(g).sum()),
            "sign_agreement": float(np.mean(np.sign(f[far]) == np.sign(g[far]))),
            "error_mm": float(1000 * np.abs(f - g).mean())}


def keypoint_offsets(rec: Reconstruction, scene, perm, track) -> dict:
    """{joint: (perceived, model)} for each limb end (elbows, wrists, knees, ankles, both sides
    pooled): the along-bone offset from the true joint of the perceived 2D keypoint (share of the
    bone's true 2D length; where the keypoint's confidence is over 0.5 and the bone over 15 px)
    and, on the fitted bodies, of the model's own keypoint for it from its joint (share of the
    3D bone). Positive: beyond the joint, away from the parent. Lists of samples."""
    import torch

    from interaction_recon.body.skeleton import BLAZEPOSE33
    from interaction_recon.eval.bench import _models

    with torch.no_grad():
        out = _models()[0](rec.params(), collision=False)
    model_kp, model_joints = out.blazepose33.numpy()[list(perm)], out.joints.numpy()[list(perm)]
    kp, conf = track.keypoints[list(perm)], track.confidence[list(perm)]
    T = min(kp.shape[1], scene.gt["joints2d"].shape[1], model_kp.shape[1])
    gt2d = scene.gt["joints2d"][:, :T]
    samples = {}
    for parent, joint in LIMB_ENDS:
        for side in ("left", "right"):
            a, b, k = SMPL_JOINTS.index(f"{side}_{parent}"), SMPL_JOINTS.index(f"{side}_{joint}"), BLAZEPOSE33.index(f"{side}_{joint}")
            along = along_bone(kp[:, :T, k], gt2d[:, :, a], gt2d[:, :, b])
            seen = (conf[:, :T, k] > 0.5) & (np.linalg.norm(gt2d[:, :, b] - gt2d[:, :, a], axis=-1) > 15)
            own = along_bone(model_kp[:, :T, k], model_joints[:, :T, a], model_joints[:, :T, b])
            got = samples.setdefault(joint, ([], []))
            got[0].extend(along[seen].tolist())
            got[1].extend(own[np.isfinite(own)].tolist())
    return samples


def _bone(joints: np.ndarray, a: str, b: str) -> float:
    """Median length (m) over the frames of the bone a-b of joints [T, 24, 3]."""
    i, j = SMPL_JOINTS.index(a), SMPL_JOINTS.index(b)
    return float(np.nanmedian(np.linalg.norm(joints[:, i] - joints[:, j], axis=-1)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="default")
    args = ap.parse_args()
    rows, joints, offsets = [], [], {}
    perception = validation.configure(args.method).perception
    for scene in validation.load_suite():
        rec = Reconstruction.load(cache_dir() / "validation" / scene.name / args.method / "results.npz")
        gt = scene.gt["joints"].astype(np.float64)
        perm, _ = metrics.match_person_order(rec.joints.astype(np.float64), gt)
        for joint, (seen, own) in keypoint_offsets(rec, scene, perm, validation.perceive(scene, cache_dir(), perception)).items():
            offsets.setdefault(joint, ([], []))[0].extend(seen)
            offsets[joint][1].extend(own)
        pred = rec.joints.astype(np.float64)[list(perm)]
        rp, rg = metrics._root_relative(pred), metrics._root_relative(gt)  # [2, T, 14, 3]
        _, true_pitch, _ = floor.camera_pose(scene.gt["R"], scene.gt["C"])
        fit_pitch = None if rec.floor is None else float(np.degrees(np.arcsin(np.clip(-rec.floor[2], -1, 1))))
        for p in range(2):
            per_joint = 1000 * np.nanmean(np.linalg.norm(rp[p] - rg[p], axis=-1), 0)
            joints.append(per_joint)
            lengths = {k: _bone(pred[p], a, b) / _bone(gt[p], a, b) for k, (a, b) in BONES.items()}
            rows.append({"scene": scene.name, "person": p, **aligned_errors(rp[p], rg[p]),
                         "joint_error_mm": {SMPL_JOINTS[j]: round(float(e), 1) for j, e in zip(SCORED, per_joint)},
                         "bone_length_ratio": lengths, "limb_depth": limb_depth(pred[p], gt[p]),
                         "pitch_deg_true": true_pitch, "pitch_deg_fit": fit_pitch})
    mean = lambda k: float(np.mean([r[k] for r in rows]))
    result = {"method": args.method, "people": rows,
              "mean": {k: mean(k) for k in ("mpjpe", "facing_aligned", "rotation_aligned")},
              "limb_depth_mean": {k: float(np.mean([r["limb_depth"][k] for r in rows])) for k in rows[0]["limb_depth"]},
              # median along-bone offsets from the true joint (share of the bone): perceived 2D keypoints, the model's own
              "keypoint_offset": {j: {"perceived": float(np.median(a)), "model": float(np.median(b)), "samples": len(a)}
                                  for j, (a, b) in offsets.items()},
              "joint_error_mm_mean": {SMPL_JOINTS[j]: round(float(e), 1) for j, e in zip(SCORED, np.mean(joints, 0))}}
    out = PROJECT_ROOT / "benchmarks" / "results" / f"validation-errors-{args.method}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["mean"]), json.dumps(result["joint_error_mm_mean"]), json.dumps(result["limb_depth_mean"]),
          json.dumps(result["keypoint_offset"]))
    for r in rows:
        fit = "-" if r["pitch_deg_fit"] is None else f"{r['pitch_deg_fit']:.1f}"
        print(f"{r['scene']:17s} {r['person']} mpjpe {r['mpjpe']:.0f} facing-aligned {r['facing_aligned']:.0f} "
              f"rotation-aligned {r['rotation_aligned']:.0f} facing {r['facing_deg_median']:+.0f} deg, "
              f"pitch fit {fit} true {r['pitch_deg_true']:.1f}")


if __name__ == "__main__":
    main()
