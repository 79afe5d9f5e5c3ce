"""Is the 3D plausible on real video? (issue 20, part 4). No 3D ground truth exists for these
clips, so the reconstruction is checked against what is true of any two standing adults:

- ``size``: the head joint's distance from the mid-ankle, median per person (m; needs no
  floor); the validation clips' adults (outside-made, ground truth) give the reference range,
  computed the same way (``reference``);
- the floor: a plane fitted (least squares, one refit without the worst quarter) to each
  person's lowest foot joint in every frame where the person is published, when those feet
  span at least ``plausible.FLOOR_SPREAD`` m (rms) both ways (people walking about; feet along one line leave
  the plane free to turn about it: ``floor`` is then "undetermined"); ``floor_rms`` is how far
  the feet lie from it (m), ``floor_tilt`` its angle to the camera's vertical axis;
- ``fit_pitch`` and ``fit_height``: the camera pitch (deg) of the up the fit used and its
  height over the floor (m; known, estimated from everyone's boxes, or from the fitted feet:
  the last window's ``results.npz`` ``floor``);
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
from interaction_recon.eval.plausible import NECK, PELVIS, body_size, plausibility
from interaction_recon.eval.bench import git_commit
from interaction_recon.paths import cache_dir
from interaction_recon.perception import assets

RESULTS = Path(__file__).parent / "results"
CLIPS = (("vtest_510_599", "vtest.avi", 510, 90), ("sports2d_0_149", "sports2d_demo.mp4", 0, 150))
def reference() -> dict:
    """Size and lean (to the true floor) of the validation clips' people, from their ground
    truth (world frame, z up): the range real adults span."""
    sizes, leans = [], []
    for scene in validation.load_suite(None):
        j = np.load(scene.root / "gt.npz")["joints_world"]  # [2, T, 24, 3] z up, floor z = 0
        sizes += np.median(body_size(j), 1).tolist()
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
        out["clips"][key]["fit_height"] = round(float(saved["floor"][3]), 2) if np.isfinite(saved["floor"]).all() else None
        print(key, json.dumps(out["clips"][key]), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=1) + "\n")
    ref = out["reference"]
    lines = [f"# Plausibility of the 3D on real video ({out['config']} {settings or ''}, {out['commit']}, "
             f"load {out['load']:.1f})", "",
             f"Validation ground truth's adults: size (head joint to mid-ankle) {ref['size']} m, lean {ref['lean']} deg.",
             "", "| clip | person | frames | size m | floor | lean deg | floor rms m | floor tilt deg | foot gap m | "
             "fit's pitch deg | fit's camera height m |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, c in out["clips"].items():
        for p in range(2 if "size" in c else 0):
            lines.append(f"| {key} | {p} | {c['published_frames'][p]} | {c['size'][p]} | {c.get('floor', '-')} "
                         f"(spread {c.get('floor_spread', '-')} m) | {c.get('lean', ['-', '-'])[p]} | "
                         f"{c.get('floor_rms', '-')} | {c.get('floor_tilt', '-')} | {c.get('foot_gap', '-')} | "
                         f"{c.get('fit_pitch', '-')} | {c.get('fit_height', '-')} |")
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
