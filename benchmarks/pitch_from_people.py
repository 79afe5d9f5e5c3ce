"""Exploration (not used by the fit): the camera's pitch from the vertical vanishing point of
the people's body axes, against the truth, beside the pitch the default estimates from an
assumed camera height (``benchmarks/results/floor.json``). Standing people's ankle-to-shoulder
lines are vertical in the world, so in the image they meet at the vertical vanishing point,
f / tan(pitch) below the principal point (no roll). Each confident person-frame gives a line
through the mid-ankle A with direction d = mid-shoulder - A; with t = tan(pitch), the line
passes through the vanishing point when dx f = t c, c = dx (A_y - cy) - dy (A_x - cx): t is
the least-squares solution over all lines (unit d), refitted once without the lines whose
residual is above twice the median.

Writes benchmarks/results/pitch-from-people.json.
    .venv/bin/python benchmarks/pitch_from_people.py
"""
from __future__ import annotations

import json
import os

import numpy as np

from interaction_recon.body.skeleton import BLAZEPOSE33
from interaction_recon.eval import validation
from interaction_recon.fitting.floor import camera_pose
from interaction_recon.paths import PROJECT_ROOT, cache_dir

ANKLES = [BLAZEPOSE33.index("left_ankle"), BLAZEPOSE33.index("right_ankle")]
SHOULDERS = [BLAZEPOSE33.index("left_shoulder"), BLAZEPOSE33.index("right_shoulder")]


def vanishing_pitch(keypoints: np.ndarray, confidence: np.ndarray, K: np.ndarray, min_confidence: float = 0.5):
    """(pitch deg, lines used) from keypoints [P, T, 33, 2] px and confidence [P, T, 33]."""
    ok = (confidence[..., ANKLES + SHOULDERS] >= min_confidence).all(-1)
    a = keypoints[..., ANKLES, :].mean(-2)[ok]  # [n, 2]
    d = keypoints[..., SHOULDERS, :].mean(-2)[ok] - a
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    f, cx, cy = K[1, 1], K[0, 2], K[1, 2]
    c = d[:, 0] * (a[:, 1] - cy) - d[:, 1] * (a[:, 0] - cx)
    b = d[:, 0] * f
    keep = np.ones(len(c), bool)
    for _ in range(2):
        t = float((b[keep] * c[keep]).sum() / (c[keep] ** 2).sum())
        residual = np.abs(b - t * c)
        keep = residual <= 2 * np.median(residual)
    return float(np.degrees(np.arctan(t))), int(keep.sum())


def main() -> None:
    rows = []
    floor = json.loads((PROJECT_ROOT / "benchmarks" / "results" / "floor.json").read_text())
    assumed = {r["scene"]: r for r in floor["scenes"]}
    for scene in validation.load_suite():
        track = validation.perceive(scene, cache_dir())
        _, true_pitch, _ = camera_pose(scene.gt["R"], scene.gt["C"])
        pitch, lines = vanishing_pitch(track.keypoints, track.confidence, scene.gt["K"])
        rows.append({"scene": scene.name, "true_pitch_deg": round(true_pitch, 2), "vanishing_pitch_deg": round(pitch, 2),
                     "vanishing_error_deg": round(pitch - true_pitch, 2), "lines": lines,
                     "assumed_height_up_error_deg": assumed.get(scene.name, {}).get("up_error_deg")})
        print(rows[-1])
    result = {"load": os.getloadavg()[0], "scenes": rows,
              "mean_abs_vanishing_error_deg": float(np.mean([abs(r["vanishing_error_deg"]) for r in rows])),
              "floor_json_commit": floor.get("commit")}
    (PROJECT_ROOT / "benchmarks" / "results" / "pitch-from-people.json").write_text(json.dumps(result, indent=1) + "\n")
    print(result["mean_abs_vanishing_error_deg"])


if __name__ == "__main__":
    main()
