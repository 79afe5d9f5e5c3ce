"""Is the 3D plausible on real video? (issue 20, part 4). No 3D ground truth exists for these
clips, so the reconstruction is checked against what is true of any two standing adults, per
person (a slot holds several people in turn where the pair changes: the reconstruction's
``frame_ids`` say whose body each is; people named from the hand-checked boxes in
``tests/data/`` where they match):

- ``length``: the head joint's distance from the ankles along the bones, median per person
  (m; ``plausible.body_length``: a person's size whatever the pose); ``size``: the straight
  head-to-mid-ankle distance (shorter in a stride, with bent knees or a stoop); the validation
  clips' adults (outside-made, ground truth) give the reference ranges, computed the same way
  (``reference``);
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
  ``foot``, the median height of their lowest foot joint over it (m).

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
from interaction_recon.eval.metrics import match_person_order
from interaction_recon.eval.plausible import NECK, PELVIS, body_length, body_size, plausibility
from interaction_recon.eval.bench import git_commit
from interaction_recon.paths import cache_dir
from interaction_recon.perception import assets

RESULTS = Path(__file__).parent / "results"
LABELS = Path(__file__).resolve().parents[1] / "tests" / "data"
# key, packaged video, first frame, frames, hand-checked boxes of its people by frame (tests/data)
CLIPS = (("vtest_510_599", "vtest.avi", 510, 90, "vtest_couple.json"),
         ("sports2d_0_149", "sports2d_demo.mp4", 0, 150, "sports2d_people.json"))


def reference() -> dict:
    """Size and lean (to the true floor) of the validation clips' people, from their ground
    truth (world frame, z up): the range real adults span."""
    sizes, lengths, leans = [], [], []
    for scene in validation.load_suite(None):
        j = np.load(scene.root / "gt.npz")["joints_world"]  # [2, T, 24, 3] z up, floor z = 0
        sizes += np.median(body_size(j), 1).tolist()
        lengths += np.median(body_length(j), 1).tolist()
        axis = j[..., NECK, :] - j[..., PELVIS, :]
        leans += np.median(np.degrees(np.arccos(axis[..., 2] / np.linalg.norm(axis, axis=-1))), 1).tolist()
    span = lambda x, n: [round(min(x), n), round(max(x), n)]  # noqa: E731
    return {"size": span(sizes, 3), "length": span(lengths, 3), "lean": span(leans, 1)}


def length_ratios(methods=("default", "camera-pose", "pair-camera")) -> dict:
    """How the fit sizes people whose size is known: per validation method, the fitted length
    over the true one (``plausible.body_length``, medians) of each person, from the
    reconstructions ``interaction-recon bench --suite validation --method M`` keeps under
    .cache/validation/<clip>/<M>/ (methods not run are left out), in the true people's order
    (``metrics.match_person_order``)."""
    out = {}
    for method in methods:
        ratios = []
        for scene in validation.load_suite(None):
            path = cache_dir() / "validation" / scene.name / method / "results.npz"
            if not path.exists():
                break
            fit, true = np.load(path)["joints"], scene.gt["joints"]  # [2, T, 24, 3] camera frame
            fit = fit[list(match_person_order(fit, true)[0])]  # in the truth's person order
            for p in range(2):
                seen = np.isfinite(fit[p]).all((-1, -2))
                ratios.append(float(np.median(body_length(fit[p, seen])) / np.median(body_length(true[p]))))
        else:
            out[method] = [round(r, 3) for r in ratios]
    return out


def names(saved, start: int, labels: dict) -> dict[int, str]:
    """{id: name} of the people whose pelvis, projected, lies in one labelled person's box
    (``labels``: frame -> name -> [x0, y0, x1, y1] px) in at least 80 % of that person's
    labelled frames where they are published, and at least 3; ``saved``: a results.npz."""
    uv = saved["joints"][..., 0, :] @ saved["K"].T  # [2, T, 3] pelvis
    uv = uv[..., :2] / uv[..., 2:]
    votes: dict[int, list[str | None]] = {}
    for frame, people in labels.items():
        t = int(frame) - start
        if not 0 <= t < uv.shape[1]:
            continue
        for slot in range(2):
            if not np.isfinite(uv[slot, t]).all():
                continue
            x, y = uv[slot, t]
            inside = [n for n, (x0, y0, x1, y1) in people.items() if x0 <= x <= x1 and y0 <= y <= y1]
            votes.setdefault(int(saved["frame_ids"][slot, t]), []).append(inside[0] if len(inside) == 1 else None)
    out = {}
    for i, v in votes.items():
        best = max(set(v) - {None}, key=v.count, default=None)
        if best is not None and v.count(best) >= max(3, 0.8 * len(v)):
            out[i] = best
    return out


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
           "reference": reference(), "length_ratios": length_ratios(), "clips": {}}
    for key, name, start, count, labelled in CLIPS:
        with tempfile.TemporaryDirectory() as tmp:
            frames = Path(tmp) / "frames"
            frames.mkdir()
            if not _frames(name, start, count, frames):
                out["clips"][key] = {"missing": f"{name} not installed (scripts/bootstrap.sh)"}
                continue
            keep = cache_dir() / args.name / key  # the reconstruction, kept to look at
            reconstruct.run(frames, keep, config, overlay=False)
            saved = np.load(keep / "results.npz")
        out["clips"][key] = plausibility(saved["joints"], saved["frame_ids"])
        labels = json.loads((LABELS / labelled).read_text())["frames"]
        for i, who in names(saved, start, labels).items():
            out["clips"][key]["people"][i]["name"] = who
        up = saved["floor"][:3]  # the floor's up the fit used (known, or estimated: fitting/floor.py)
        out["clips"][key]["fit_pitch"] = round(float(np.degrees(np.arcsin(-up[2]))), 1) if np.isfinite(up).all() else None
        out["clips"][key]["fit_height"] = round(float(saved["floor"][3]), 2) if np.isfinite(saved["floor"]).all() else None
        print(key, json.dumps(out["clips"][key]), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=1) + "\n")
    ref = out["reference"]
    lines = [f"# Plausibility of the 3D on real video ({out['config']} {settings or ''}, {out['commit']}, "
             f"load {out['load']:.1f})", "",
             f"Validation ground truth's adults: length (head joint to ankles along the bones) {ref['length']} m, "
             f"size (head joint to mid-ankle) {ref['size']} m, lean {ref['lean']} deg.", "",
             "Fitted over true length of each validation person (reconstructions kept by the validation bench): "
             + "; ".join(f"{m} {r}" for m, r in out["length_ratios"].items()) + ".",
             "", "| clip | person (tracker id) | frames | length m | size m | lean deg | foot m | floor | floor rms m | "
             "floor tilt deg | fit's pitch deg | fit's camera height m |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, c in out["clips"].items():
        for i, p in c.get("people", {}).items():
            lines.append(f"| {key} | {p.get('name', '-')} ({i}) | {p['frames']} | {p['length']} | {p['size']} | "
                         f"{p.get('lean', '-')} | {p.get('foot', '-')} | {c.get('floor', '-')} (spread "
                         f"{c.get('floor_spread', '-')} m) | {c.get('floor_rms', '-')} | {c.get('floor_tilt', '-')} | "
                         f"{c.get('fit_pitch', '-')} | {c.get('fit_height', '-')} |")
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
