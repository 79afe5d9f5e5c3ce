"""Is it the 2D keypoints, or the bodies? The validation clips reconstructed with the embedded
defaults (or ``--set`` overrides) from the real perception, but with each person's shoulders,
elbows, wrists, hips, knees and ankles replaced by their true 2D joints (``gt.npz``
``joints_2d``, where the keypoint model saw the joint at all; optionally with Gaussian noise of
``--noise`` px). The truth's joints are anny bone heads, while the fit's keypoints for those
twelve are anny's COCO-regressor surface points (1-2 % of the body height from the bone heads,
the convention the perceived keypoints follow on the dev renders: ``keypoint_offsets.py``, ``source``); so the fit here compares
the true joints with its own joints there, like with like. ``--true-shape`` also gives each
person the anny shape fitted to the truth's bone lengths (gender and age from meta.json, the
other four phenotypes fitted; held by ``weights.shape`` 100, floor sizing off).
Scored as the validation bench scores, plus how far the limbs reach in depth against the
truth (``validation_errors.limb_depth``: 0.72 of the truth with the perceived keypoints), how
long the deep limbs project against the truth's (:func:`limb_2d_length`) and how far the seen
limb ends (confidence over 0.5) are from their true 2D joints (``seen_limb_px``).

The hand and foot points are dropped unless ``--keep-ends``.

Writes benchmarks/results/oracle-2d[-<tag>].json (the tag names the overrides, noise, shapes, ends).
    .venv/bin/python benchmarks/oracle_2d.py [--noise 0] [--true-shape] [--keep-ends] [--set fitting.weights.pose3d=0]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path
from unittest import mock

import numpy as np
import torch
import yaml

from validation_errors import LIMBS, limb_depth  # benchmarks/, beside this script

from interaction_recon.body.skeleton import BLAZEPOSE33, SMPL_JOINTS, SMPL_PARENTS
from interaction_recon.config import override
from interaction_recon.eval import metrics, validation
from interaction_recon.eval.bench import _models, git_commit
from interaction_recon.fitting import init
from interaction_recon.fitting.result import Reconstruction
from interaction_recon.paths import cache_dir
from interaction_recon.render.camera import project

RESULTS = Path(__file__).parent / "results"
JOINTS = [f"{side}_{j}" for side in ("left", "right") for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")]
HAND_FOOT = [f"{side}_{p}" for side in ("left", "right") for p in ("pinky", "index", "thumb", "heel", "foot_index")]
BONES = [(SMPL_PARENTS[j], j) for j in range(1, 24) if SMPL_JOINTS[j] not in ("left_hand", "right_hand")]


@contextlib.contextmanager
def joints_as_keypoints():
    """Within it, the fit's keypoints for JOINTS are its own joints (anny bone heads, the
    truth's convention) instead of anny's COCO-regressor points."""
    blaze, smpl = [BLAZEPOSE33.index(n) for n in JOINTS], [SMPL_JOINTS.index(n) for n in JOINTS]
    regressor = init.model_keypoints

    def keypoints(out, layout, shift=(0.0, 0.0, 0.0, 0.0)):
        points = regressor(out, layout, shift).clone()
        points[..., blaze, :] = out.joints[..., smpl, :]
        return points

    with mock.patch("interaction_recon.fitting.objective.model_keypoints", keypoints), \
         mock.patch("interaction_recon.fitting.window.model_keypoints", keypoints):
        yield


def bone_lengths(joints: torch.Tensor) -> torch.Tensor:
    """[..., B] lengths (m) of BONES from joints [..., 24, 3]."""
    return torch.stack([(joints[..., b, :] - joints[..., a, :]).norm(dim=-1) for a, b in BONES], -1)


def true_shape(body, joints: np.ndarray, person: dict, steps: int = 150) -> torch.Tensor:
    """[6] the anny shape whose rest bones best match the median true bone lengths of joints
    [T, 24, 3] (m): gender and age from meta.json's ``person``, the other four fitted."""
    target = torch.as_tensor(np.nanmedian(bone_lengths(torch.as_tensor(joints)).numpy(), 0), dtype=torch.float32)
    known = torch.tensor([person["gender"], person["age"]], dtype=torch.float32)
    free = torch.full((4,), 0.5, requires_grad=True)
    opt = torch.optim.Adam([free], lr=0.02)
    for _ in range(steps):
        rest = body.rest(torch.cat([known, free.clamp(0, 1)])[None]).joints[0, 0]
        loss = (bone_lengths(rest) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return torch.cat([known, free.detach().clamp(0, 1)])


@contextlib.contextmanager
def given_shapes(body, shapes: torch.Tensor):
    """Within it, ``body``'s average shape (the fit's start and its shape prior's centre) is
    ``shapes`` [2, 6]."""
    with mock.patch.object(type(body), "default_shape", lambda self, n: shapes.clone()[:n]):
        yield


def seen_limb_error(pred: np.ndarray, gt2d: np.ndarray, K: np.ndarray, confidence: np.ndarray,
                    slots: tuple[int, int]) -> float:
    """Mean px distance of the fitted elbows, wrists, knees and ankles (pred [2, T, 24, 3] in the
    truth's person order) from their true 2D joints (gt2d [2, T, 24, 2]) where the track's slot
    for that person (``slots[p]``) saw them with confidence over 0.5 (confidence [2, T, 33])."""
    T = min(pred.shape[1], gt2d.shape[1], confidence.shape[1])
    errors = []
    for p in range(2):
        for name in JOINTS:
            if name.split("_")[1] in ("shoulder", "hip"):
                continue
            j, k = SMPL_JOINTS.index(name), BLAZEPOSE33.index(name)
            seen = confidence[slots[p], :T, k] > 0.5
            errors.extend(np.linalg.norm(project(pred[p, :T, j], K) - gt2d[p, :T, j], axis=-1)[seen].tolist())
    return float(np.nanmean(errors))


def slot_order(keypoints: np.ndarray, gt2d: np.ndarray) -> tuple[int, int]:
    """Which true person each slot holds: keypoints [2, T, 33, 2] (BlazePose), gt2d [2, T, 24, 2];
    the assignment with the smaller median hip-centre distance."""
    hips = keypoints[:, :, [BLAZEPOSE33.index("left_hip"), BLAZEPOSE33.index("right_hip")]].mean(2)
    true = gt2d[:, :, [SMPL_JOINTS.index("left_hip"), SMPL_JOINTS.index("right_hip")]].mean(2)
    d = np.array([[np.nanmedian(np.linalg.norm(hips[a] - true[b], axis=-1)) for b in range(2)] for a in range(2)])
    return (0, 1) if d[0, 0] + d[1, 1] <= d[0, 1] + d[1, 0] else (1, 0)


def with_true_joints(track, gt2d: np.ndarray, noise: float, rng: np.random.Generator, drop_ends: bool = True):
    """The track with the JOINTS keypoints moved onto the true 2D joints (+ noise px) where the
    keypoint model gave them any confidence, and (``drop_ends``) the hand and foot points
    (HAND_FOOT) dropped: the truth has none, and the perceived ones can contradict the true
    wrist (on shoulder_pat_far the patting person's hand points lie on the other's hand)."""
    T = min(track.num_frames, gt2d.shape[1])
    perm = slot_order(track.keypoints[:, :T], gt2d[:, :T])
    if drop_ends:
        track.confidence[:, :, [BLAZEPOSE33.index(n) for n in HAND_FOOT]] = 0.0
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
    ap.add_argument("--true-shape", action="store_true", help="the shapes fitted to the truth's bone lengths, held")
    ap.add_argument("--keep-ends", action="store_true", help="keep the perceived hand and foot points")
    args = ap.parse_args()
    sets = dict(kv.split("=", 1) for kv in args.set)
    if args.true_shape:
        sets = {"fitting.floor_sizing": "false", "fitting.weights.shape": "100", **sets}
    config = override(validation.configure("default"), {k: yaml.safe_load(v) for k, v in sets.items()}, "--set")
    tag = "-".join([f"noise-{args.noise:g}"] * (args.noise > 0) + ["true-shape"] * args.true_shape
                   + ["perceived-hands-feet"] * args.keep_ends
                   + [f"{k.split('.')[-1]}-{v}" for k, v in sets.items() if not args.true_shape
                      or k not in ("fitting.floor_sizing", "fitting.weights.shape")])
    rng = np.random.default_rng(0)
    body = _models()[0]
    rows = []
    for scene in validation.load_suite():
        track = validation.perceive(scene, cache_dir(), config.perception)
        gt, gt2d = scene.gt["joints"].astype(np.float64), scene.gt["joints2d"]
        slots = slot_order(track.keypoints[:, :gt2d.shape[1]], gt2d[:, :track.num_frames])  # slot s holds person slots[s]
        track = with_true_joints(track, gt2d, args.noise, rng, drop_ends=not args.keep_ends)
        shapes = None
        if args.true_shape:
            shapes = torch.stack([true_shape(body, gt[slots[s]], scene.meta["people"][slots[s]]) for s in range(2)])
        keep = cache_dir() / "oracle-2d" / (tag or "default") / scene.name
        with joints_as_keypoints(), given_shapes(body, shapes) if shapes is not None else contextlib.nullcontext():
            row = validation.evaluate(scene, track, config, keep=keep)
        rec = Reconstruction.load(keep / "results.npz")
        perm, _ = metrics.match_person_order(rec.joints.astype(np.float64), gt)
        pred = rec.joints.astype(np.float64)[list(perm)]
        depth = [limb_depth(pred[p], gt[p]) for p in range(2)]
        T = min(pred.shape[1], gt.shape[1])
        person_slot = tuple(int(np.argmax(np.array(slots) == p)) for p in range(2))
        rows.append({"scene": scene.name, **{k: row[k] for k in ("mpjpe", "pa_mpjpe", "inter", "reprojection_error")},
                     "seen_limb_px": seen_limb_error(pred, gt2d, scene.gt["K"], track.confidence, person_slot),
                     "pelvis_depth_ratio": [float(np.nanmedian(pred[p, :T, 0, 2] / gt[p, :T, 0, 2])) for p in range(2)],
                     "limb_extent_ratio": float(np.mean([d["extent_ratio"] for d in depth])),
                     "limb_slope": float(np.mean([d["slope"] for d in depth])),
                     "limb_2d_length_ratio": float(np.mean([limb_2d_length(pred[p], gt[p], scene.gt["K"])
                                                            for p in range(2)]))})
        print(json.dumps(rows[-1]), flush=True)
    result = {"overrides": sets, "noise_px": args.noise, "true_shape": args.true_shape,
              "hand_foot_points": "perceived" if args.keep_ends else "dropped", "commit": git_commit(),
              "load": os.getloadavg()[0], "scenes": rows,
              "overall": {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "scene"}}
    out = RESULTS / f"oracle-2d{'-' + tag if tag else ''}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(out, json.dumps(result["overall"]))


if __name__ == "__main__":
    main()
