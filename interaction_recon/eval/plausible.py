"""Is a reconstruction without ground truth physically plausible? What is true of any standing
adults: their size, one floor under everyone's feet, their lean to it (used by
``benchmarks/real_video_3d.py`` and the real-video tests). A slot may hold several people in
turn (the pair changes), so everything but the floor is per person.

    out = plausibility(joints, ids)    # joints [2, T, 24, 3] camera frame, NaN where not published;
                                       # ids [2, T] whose body each slot holds (Reconstruction.frame_ids)
"""
from __future__ import annotations

import numpy as np

from interaction_recon.body.skeleton import SMPL_JOINTS

HEAD, NECK, PELVIS = 15, 12, 0  # SMPL-24
SPINE = [SMPL_JOINTS.index(n) for n in ("head", "neck", "spine3", "spine2", "spine1", "pelvis")]
LEGS = [[SMPL_JOINTS.index(f"{side}_{n}") for n in ("hip", "knee", "ankle")] for side in ("left", "right")]
FEET = [7, 8, 10, 11]  # ankles and feet
ANKLES = [7, 8]
FLOOR_SPREAD = 1.0  # m rms each way: the feet span a plane (the fit's 0.06-0.16 m depth errors on validation tilt it by < ~10 deg)


def fit_floor(points: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """(up [3] unit, offset d, rms m, the smaller in-plane spread m) of the plane up . p + d = 0
    through ``points`` [n, 3] (camera frame, y down: up has a negative y), refitted once
    without the worst quarter."""
    keep = np.ones(len(points), bool)
    for _ in range(2):
        used = points[keep]
        centre = used.mean(0)
        _, spread, axes = np.linalg.svd(used - centre, full_matrices=False)
        normal = -axes[2] if axes[2][1] > 0 else axes[2]
        resid = np.abs((points - centre) @ normal)
        keep = resid <= np.quantile(resid, 0.75)
    return normal, float(-centre @ normal), float(np.sqrt(np.mean(resid[keep] ** 2))), float(spread[1] / np.sqrt(len(used)))


def body_size(joints: np.ndarray) -> np.ndarray:
    """[...] the head joint's distance from the mid-ankle of joints [..., 24, 3]."""
    return np.linalg.norm(joints[..., HEAD, :] - joints[..., ANKLES, :].mean(-2), axis=-1)


def body_length(joints: np.ndarray) -> np.ndarray:
    """[...] the head joint's distance from the ankles along the bones of joints [..., 24, 3]:
    the spine chain to the pelvis plus the mean of the two legs (hip, knee, ankle; the hips'
    offset from the pelvis left out). Unlike :func:`body_size` it does not shrink with the pose
    (a stride, bent knees, a stoop): a person's size."""
    def chain(index: list[int]) -> np.ndarray:
        return np.linalg.norm(np.diff(joints[..., index, :], axis=-2), axis=-1).sum(-1)

    return chain(SPINE) + (chain(LEGS[0]) + chain(LEGS[1])) / 2


def plausibility(joints: np.ndarray, ids: np.ndarray | None = None) -> dict:
    """The checks of the module docstring on joints [2, T, 24, 3] (camera frame, NaN where a
    person is not published); ids [2, T] int whose body each slot holds (None: one person per
    slot, ids 0 and 1). ``people``: per id, published frames, ``size`` (head to mid-ankle,
    median, m), ``length`` (:func:`body_length`, median, m) and, on a fitted floor, ``lean``
    (deg) and ``foot`` (the lowest foot's median height over the floor, m)."""
    seen = np.isfinite(joints).all((-1, -2))  # [2, T]
    ids = np.broadcast_to(np.arange(2)[:, None], seen.shape) if ids is None else np.asarray(ids)
    masks = {int(i): seen & (ids == i) for i in np.unique(ids[seen])}  # id -> [2, T]
    people = {i: {"frames": int(m.sum()), "size": round(float(np.median(body_size(joints[m]))), 3),
                  "length": round(float(np.median(body_length(joints[m]))), 3)} for i, m in masks.items()}
    out = {"published_frames": seen.sum(1).tolist(), "people": people}
    if seen.sum() < 10:
        return out
    feet = joints[..., FEET, :]
    lowest = np.take_along_axis(feet, feet[..., 1].argmax(-1)[..., None, None], -2)[..., 0, :]  # [2, T, 3] y down
    up, d, rms, spread = fit_floor(lowest[seen])
    out["floor_spread"] = round(spread, 3)
    if spread < FLOOR_SPREAD:
        return {**out, "floor": "undetermined"}
    axis = joints[..., NECK, :] - joints[..., PELVIS, :]
    lean = np.degrees(np.arccos(np.clip((axis @ up) / np.linalg.norm(axis, axis=-1), -1, 1)))  # [2, T]
    for i, m in masks.items():
        people[i]["lean"] = round(float(np.median(lean[m])), 1)
        people[i]["foot"] = round(float(np.median(lowest[m] @ up + d)), 3)
    return {**out, "floor": "fitted", "floor_rms": round(rms, 3),
            "floor_tilt": round(float(np.degrees(np.arccos(min(1.0, -up[1])))), 1)}
