"""Is the 3D plausible on real video? (issue 20, part 4). No 3D ground truth exists for these
clips, so the reconstruction is checked against what is true of any two standing adults:

- ``size``: the head joint's distance from the mid-ankle, median per person (m; needs no
  floor); the validation clips' adults (outside-made, ground truth) give the reference range,
  computed the same way (``reference``);
- the floor: a plane fitted (least squares, one refit without the worst quarter) to each
  person's lowest foot joint in every frame where the person is published, when those feet
  span at least FLOOR_SPREAD m (rms) both ways (people walking about; feet along one line leave
  the plane free to turn about it: ``floor`` is then "undetermined"); ``floor_rms`` is how far
  the feet lie from it (m), ``floor_tilt`` its angle to the camera's vertical axis;
- ``fit_pitch``: the camera pitch (deg) of the up the fit used (``results.npz`` ``floor``);
- with a floor: ``lean``, the angle between each person's pelvis-to-neck axis and the floor's
  normal, median per person (deg; standing or walking adults stay within a few degrees), and
  ``foot_gap``, the difference between the two people's median lowest-foot heights (m).

Clips: vtest.avi 510-599 (opencv-doc: people walking on a lawn, a couple among them) and
Sports2D's demo.mp4 (two people, first 150 frames), each run as ``interaction-recon
reconstruct`` runs them (embedded defaults, intrinsics from fitting.fov_deg).

Writes benchmarks/results/<name>.json (+ .md; name real-video-3d); the reconstructions stay in
.cache/<name>/.
    .venv/bin/python benchmarks/real_video_3d.py [--config config/x.yaml] [--set fitting.x=1] [--name real-video-3d]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from interaction_recon import reconstruct
from interaction_recon.config import load_config, override
from interaction_recon.eval import validation
from interaction_recon.eval.bench import git_commit
from interaction_recon.paths import cache_dir
from interaction_recon.perception import assets

RESULTS = Path(__file__).parent / "results"
CLIPS = (("vtest_510_599", "vtest.avi", 510, 90), ("sports2d_0_149", "sports2d_demo.mp4", 0, 150))
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


def _size(joints: np.ndarray) -> np.ndarray:
    """[...] the head joint's distance from the mid-ankle of joints [..., 24, 3]."""
    return np.linalg.norm(joints[..., HEAD, :] - joints[..., ANKLES, :].mean(-2), axis=-1)


def plausibility(joints: np.ndarray) -> dict:
    """The checks of the module docstring on joints [2, T, 24, 3] (camera frame, NaN where a
    person is not published)."""
    seen = np.isfinite(joints).all((-1, -2))  # [2, T]
    out = {"published_frames": seen.sum(1).tolist(),
           "size": [round(float(np.median(_size(joints[p, seen[p]]))), 3) if seen[p].any() else None for p in range(2)]}
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


def reference() -> dict:
    """Size and lean (to the true floor) of the validation clips' people, from their ground
    truth (world frame, z up): the range real adults span."""
    sizes, leans = [], []
    for scene in validation.load_suite(None):
        j = np.load(scene.root / "gt.npz")["joints_world"]  # [2, T, 24, 3] z up, floor z = 0
        sizes += np.median(_size(j), 1).tolist()
        axis = j[..., NECK, :] - j[..., PELVIS, :]
        leans += np.median(np.degrees(np.arccos(axis[..., 2] / np.linalg.norm(axis, axis=-1))), 1).tolist()
    return {"size": [round(min(sizes), 3), round(max(sizes), 3)], "lean": [round(min(leans), 1), round(max(leans), 1)]}


def _frames(name: str, start: int, count: int, folder: Path) -> int:
    """Write ``count`` frames of a packaged video from ``start`` as PNGs; returns how many."""
    path = assets.media_path(name)
    if path is None:
        return 0
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    n = 0
    while n < count:
        ok, frame = cap.read()
        if not ok:
            break
        cv2.imwrite(str(folder / f"{n:05d}.png"), frame)
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=None, help="YAML config (default: the embedded defaults)")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=JSON",
                    help="a config field, e.g. fitting.horizon_min_ratio=0 (repeatable)")
    ap.add_argument("--name", default="real-video-3d")
    args = ap.parse_args()
    settings = {k: json.loads(v) for k, v in (a.split("=", 1) for a in args.set)}
    config = override(load_config(args.config), settings, "--set field")
    out = {"config": args.config or "embedded defaults", "settings": settings, "commit": git_commit(), "load": os.getloadavg()[0],
           "reference": reference(), "clips": {}}
    for key, name, start, count in CLIPS:
        with tempfile.TemporaryDirectory() as tmp:
            frames = Path(tmp) / "frames"
            frames.mkdir()
            if not _frames(name, start, count, frames):
                out["clips"][key] = {"missing": f"{name} not installed (scripts/bootstrap.sh)"}
                continue
            keep = cache_dir() / args.name / key  # the reconstruction, kept to look at
            reconstruct.run(frames, keep, config, overlay=False)
            saved = np.load(keep / "results.npz")
        out["clips"][key] = plausibility(saved["joints"])
        up = saved["floor"][:3]  # the floor's up the fit used (known, or estimated: fitting/floor.py)
        out["clips"][key]["fit_pitch"] = round(float(np.degrees(np.arcsin(-up[2]))), 1) if np.isfinite(up).all() else None
        print(key, json.dumps(out["clips"][key]), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=1) + "\n")
    ref = out["reference"]
    lines = [f"# Plausibility of the 3D on real video ({out['config']} {settings or ''}, {out['commit']}, "
             f"load {out['load']:.1f})", "",
             f"Validation ground truth's adults: size (head joint to mid-ankle) {ref['size']} m, lean {ref['lean']} deg.",
             "", "| clip | person | frames | size m | floor | lean deg | floor rms m | floor tilt deg | foot gap m | "
             "fit's pitch deg |", "|---|---|---|---|---|---|---|---|---|---|"]
    for key, c in out["clips"].items():
        for p in range(2 if "size" in c else 0):
            lines.append(f"| {key} | {p} | {c['published_frames'][p]} | {c['size'][p]} | {c.get('floor', '-')} "
                         f"(spread {c.get('floor_spread', '-')} m) | {c.get('lean', ['-', '-'])[p]} | "
                         f"{c.get('floor_rms', '-')} | {c.get('floor_tilt', '-')} | {c.get('foot_gap', '-')} | "
                         f"{c.get('fit_pitch', '-')} |")
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
