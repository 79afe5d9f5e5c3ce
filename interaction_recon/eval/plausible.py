"""Is a reconstruction without ground truth physically plausible? What is true of any standing
adults: their size, one floor under everyone's feet, their lean to it (used by
``benchmarks/real_video_3d.py`` and the real-video tests).

    out = plausibility(joints)    # joints [2, T, 24, 3] camera frame, NaN where not published
"""
from __future__ import annotations

import numpy as np

HEAD, NECK, PELVIS = 15, 12, 0  # SMPL-24
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


def plausibility(joints: np.ndarray) -> dict:
    """The checks of the module docstring on joints [2, T, 24, 3] (camera frame, NaN where a
    person is not published)."""
    seen = np.isfinite(joints).all((-1, -2))  # [2, T]
    out = {"published_frames": seen.sum(1).tolist(),
           "size": [round(float(np.median(body_size(joints[p, seen[p]]))), 3) if seen[p].any() else None for p in range(2)]}
    if seen.sum() < 10:
        return out
    feet = joints[..., FEET, :]
    lowest = np.take_along_axis(feet, feet[..., 1].argmax(-1)[..., None, None], -2)[..., 0, :]  # [2, T, 3] y down
    up, d, rms, spread = fit_floor(lowest[seen])
    out["floor_spread"] = round(spread, 3)
    if spread < FLOOR_SPREAD:
        return {**out, "floor": "undetermined"}
    axis = joints[..., NECK, :] - joints[..., PELVIS, :]
    lean = np.degrees(np.arccos(np.clip((axis @ up) / np.linalg.norm(axis, axis=-1), -1, 1)))
    foot = [float(np.median(lowest[p, seen[p]] @ up + d)) for p in range(2) if seen[p].any()]
    return {**out, "floor": "fitted", "floor_rms": round(rms, 3), "floor_tilt": round(float(np.degrees(np.arccos(min(1.0, -up[1])))), 1),
            "lean": [round(float(np.median(lean[p, seen[p]])), 1) if seen[p].any() else None for p in range(2)],
            "foot_gap": round(abs(foot[0] - foot[1]), 3) if len(foot) == 2 else None}
