"""Perception front end: speed, people found and keypoint accuracy on real images, the pair
chosen on real video, keypoint accuracy and identity swaps on the synthetic dev suite.

Writes benchmarks/results/<name>.json (+ .md; name "perception" by default), and for the
default run overlays of the real images (perception_<image>.png: the pair's boxes, ids,
keypoints and masks, everyone else's boxes in grey) and a vtest frame sheet
(perception_vtest_couple.png).
    .venv/bin/python benchmarks/perception.py [--step N] [--clips hug,handshake]
        [--detector-sizes 256] [--fusion] [--set key=value] [--name perception-single-scale]
- ms per frame with two people (basketball1.png, 640x480; detector passes + both keypoint
  passes + masks + tracking) on one CPU thread, median of 30 after warm-up;
- real images against an independent YOLO11n-pose reference (../shared/real-reference/):
  reference people found, PCK@0.05 / 0.1 of the box diagonal, every person the detector finds;
- vtest.avi 510-599: from which frame the walking couple is the pair, their tracker ids;
  Sports2D's demo.mp4: how much of the clip each slot is filled;
- the synthetic dev suite (one clip per interaction kind, 512x512, ground truth BlazePose-33
  2D): keypoint error (px), PCK@0.1 of the box's longer side, identity swaps, recall.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

from interaction_recon.config import PerceptionConfig, override
from interaction_recon.eval.bench import git_commit
from interaction_recon.paths import cache_dir
from interaction_recon.perception import Perception, PeopleTrack, assets
from interaction_recon.perception.evaluate import score_clip, score_reference
from interaction_recon.perception.types import COCO17_FROM_BLAZEPOSE33
from interaction_recon.perception.overlay import draw

RESULTS = Path(__file__).parent / "results"
LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "vtest_couple.json"


def _read(name):
    path = assets.media_path(name)
    return None if path is None else np.ascontiguousarray(cv2.imread(str(path))[:, :, ::-1])


def timing(perception: Perception) -> dict:
    """Median ms per frame over 30 frames of a real image (after 5 warm-up frames), each the
    second frame of a reset front end (the people tracked from the first): the whole frame, the
    detector alone, two keypoint crops; and the first frame's (a cold start: the front end
    searches wide, with the small-people passes)."""
    from interaction_recon.perception.keypoints import roi_from_detection

    image = _read("basketball1.png")
    if image is None:
        image = np.full((480, 640, 3), 128, np.uint8)
    parts = {"detector": [], "keypoints_2_people": [], "total": [], "first_frame": []}
    det_fn, kp_fn = perception.detector, perception.keypoint_model
    for i in range(35):
        perception.reset()
        t0 = time.perf_counter()
        perception(image)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        frame = perception(image)
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        det = det_fn(image)
        t1 = time.perf_counter()
        for j in range(min(2, len(det))):
            kp_fn(image, roi_from_detection(det.boxes[j], det.keypoints[j], det.keypoint_conf[j]))
        t2 = time.perf_counter()
        if i >= 5:
            parts["total"].append(total)
            parts["first_frame"].append(first)
            parts["detector"].append(t1 - t0)
            parts["keypoints_2_people"].append(t2 - t1)
    out = {f"{k}_ms": round(1000 * float(np.median(v)), 1) for k, v in parts.items()}
    out.update(people=int(frame.present.sum()), image="basketball1.png 640x480", threads=1,
               load_average_1min=round(os.getloadavg()[0], 2), target_total_ms=80)
    return out


def real_images(perception: Perception, overlays: bool = True) -> dict:
    """Every person found on each real image, against the independent YOLO11n-pose reference
    (../shared/real-reference/): people found, PCK@0.05 / 0.1 of the box diagonal."""
    path = assets.real_reference()
    reference = json.loads(path.read_text())["images"] if path.exists() else {}
    rows, totals = {}, {"reference_people": 0, "found": 0, "joints": 0, "hits@0.05": 0.0, "hits@0.1": 0.0}
    for name, ref in reference.items():
        image = _read(name)
        if image is None:
            rows[name] = "missing (package not installed)"
            continue
        boxes, keypoints, confidence = perception.everyone(image)
        row = score_reference(boxes, keypoints[:, COCO17_FROM_BLAZEPOSE33], confidence[:, COCO17_FROM_BLAZEPOSE33],
                              ref["people"])
        row["detections"] = len(boxes)
        rows[name] = row
        for k in ("reference_people", "found", "joints"):
            totals[k] += row[k]
        for a in ("0.05", "0.1"):
            totals[f"hits@{a}"] += row[f"pck@{a}"] * row["joints"]
        if not overlays:
            continue
        perception.reset()
        frame = perception(image)
        cv2.imwrite(str(RESULTS / f"perception_{Path(name).stem}.png"), draw(image, frame)[:, :, ::-1])
    n = max(totals["joints"], 1)
    return {"reference": path.name, "images": rows, "reference_people": totals["reference_people"],
            "found": totals["found"], "pck@0.05": totals["hits@0.05"] / n, "pck@0.1": totals["hits@0.1"] / n,
            "targets": {"found": "all", "pck@0.05": 0.85}}


def _video(name: str, start: int = 0, count: int | None = None):
    """RGB frames of a real video from the packaged media (none when it is not installed)."""
    path = assets.media_path(name)
    if path is None:
        return
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    while count is None or count > 0:
        ok, frame = cap.read()
        if not ok:
            return
        count = None if count is None else count - 1
        yield np.ascontiguousarray(frame[:, :, ::-1])


def vtest_couple(perception: Perception, overlays: bool) -> dict:
    """vtest.avi 510-599 started cold: the frame from which the walking couple (hand-checked
    boxes, tests/data/vtest_couple.json) is the pair, whether each of the two keeps one
    tracker id, and a frame sheet (every 8th frame from 534: the pair in colour, everyone
    else grey)."""
    from interaction_recon.perception.detectors import box_iou

    labels = {int(k): v for k, v in json.loads(LABELS.read_text())["frames"].items()}
    perception.reset()
    ids, pair_from, tiles = {"man": set(), "woman": set()}, None, []
    for t, image in enumerate(_video("vtest.avi", 510, 90), start=510):
        frame = perception(image)
        if overlays and t >= 534 and (t - 534) % 8 == 0:
            tile = draw(image, frame)[280:576, 80:560]
            cv2.putText(tile, str(t), (5, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2)
            tiles.append(tile)
        if t not in labels:
            continue
        truth = {k: np.array(v, np.float32)[None] for k, v in labels[t].items()}
        if box_iou(truth["man"], truth["woman"])[0, 0] > 0.5:
            continue
        seen = [p for p in perception.tracker.people if p.last_seen == t - 510]
        slots = []
        for who, box in truth.items():
            iou = box_iou(box, np.array([p.box for p in seen], np.float32).reshape(-1, 4))[0]
            if len(iou) and iou.max() > 0.5:
                ids[who].add(seen[int(iou.argmax())].track_id)
            iou = box_iou(box, np.nan_to_num(frame.boxes))[0]
            slots.append(int(iou.argmax()) if iou.max() > 0.5 and frame.present[iou.argmax()] else -1)
        couple = sorted(slots) == [0, 1]
        pair_from = (pair_from or t) if couple else None
    if not tiles and overlays:
        return {"missing": "vtest.avi (Debian opencv-doc) not installed"}
    if tiles:
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 3)
        sheet = np.vstack([np.hstack(tiles[k:k + 3]) for k in range(0, len(tiles), 3)])
        cv2.imwrite(str(RESULTS / "perception_vtest_couple.png"), sheet[:, :, ::-1])
    return {"frames": "510-599", "couple_is_the_pair_from_frame": pair_from,
            "track_ids_of_the_man": sorted(ids["man"]), "track_ids_of_the_woman": sorted(ids["woman"])}


def sports2d(perception: Perception) -> dict:
    """Sports2D's demo.mp4 (two people, no contact): the share of frames each slot is filled
    and the ids it held."""
    perception.reset()
    frames = [perception(image) for image in _video("sports2d_demo.mp4")]
    if not frames:
        return {"missing": "sports2d==0.8.26 wheel's demo.mp4 not extracted"}
    present = np.array([f.present for f in frames])
    ids = np.array([f.track_ids for f in frames])
    return {"frames": len(frames), "slot_present_share": np.round(present.mean(0), 3).tolist(),
            "slot_ids": [sorted(set(ids[present[:, s], s].tolist())) for s in range(2)]}


def dev_suite(perception: Perception, step: int, clips: list[str] | None) -> dict:
    from interaction_recon.eval import bench

    scenes = bench.suite_scenes("dev", cache_dir())
    rows = []
    for scene in scenes:
        if clips and scene.kind not in clips:
            continue
        perception.reset()
        t0 = time.perf_counter()
        frames = [perception(scene.frame(t)) for t in range(0, scene.num_frames, step)]
        ms = 1000 * (time.perf_counter() - t0) / len(frames)
        track = PeopleTrack.from_frames(frames, scene.meta["fps"] / step)
        gt = {k: scene.gt[k][:, ::step] for k in ("blazepose33_2d", "visible_blazepose33", "boxes")}
        row = {"kind": scene.kind, "ms_per_frame": round(ms, 1), "contact_frames": int(len(np.unique(
            scene.gt["contact_vertices"][:, 0]))) if len(scene.gt["contact_vertices"]) else 0}
        row.update({k: (round(v, 3) if isinstance(v, float) else v) for k, v in score_clip(track, gt).items()})
        rows.append(row)
        print(json.dumps(row), flush=True)
    mean = lambda k: round(float(np.nanmean([r[k] for r in rows])), 3) if rows else None  # noqa: E731
    return {"step": step, "world": bench.world_stamp()[:12], "clips": rows,
            "identity_swaps_total": int(sum(r["identity_swaps"] for r in rows)),
            "clips_with_swaps": [r["kind"] for r in rows if r["identity_swaps"]],
            "pck@0.1_mean": mean("pck@0.1"), "kp_error_px_median_mean": mean("kp_error_px_median"),
            "recall_mean": mean("recall")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--step", type=int, default=1, help="use every N-th frame of the dev clips")
    ap.add_argument("--clips", default="", help="comma-separated interaction kinds (default: all)")
    ap.add_argument("--detector-sizes", default="", help="e.g. 256: MoveNet input sizes (default: the config's)")
    ap.add_argument("--fusion", action="store_true", help="fuse the detector's and the top-down model's keypoints")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a perception setting, e.g. keypoint_fuse_overlap=0.3 (repeatable)")
    ap.add_argument("--name", default="perception", help="result files benchmarks/results/<name>.json/.md")
    ap.add_argument("--only", default="", help="comma-separated parts to re-measure (timing, real_images, "
                    "vtest_couple, sports2d, dev_suite) in an existing result file, e.g. timing on a quiet machine")
    ap.add_argument("--skip", default="", help="comma-separated parts left out of a new result file")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    cfg = PerceptionConfig()
    cfg.fuse_keypoints = cfg.fuse_keypoints or args.fusion
    if args.detector_sizes:
        cfg.detector_sizes = [int(v) for v in args.detector_sizes.split(",")]
    settings = dict(kv.split("=", 1) for kv in args.set)
    override(cfg, {k: yaml.safe_load(v) for k, v in settings.items()}, "perception setting")
    perception = Perception(cfg)
    config = {"detector_sizes": cfg.detector_sizes, "detector_small_sizes": cfg.detector_small_sizes,
              "fuse_keypoints": cfg.fuse_keypoints,
              "blazepose_model": cfg.blazepose_model, "flip_test": cfg.flip_test, **{k: getattr(cfg, k) for k in settings}}
    parts = {"timing": lambda: timing(perception),
             "real_images": lambda: real_images(perception, overlays=args.name == "perception"),
             "vtest_couple": lambda: vtest_couple(perception, overlays=args.name == "perception"),
             "sports2d": lambda: sports2d(perception),
             "dev_suite": lambda: dev_suite(perception, args.step, [c for c in args.clips.split(",") if c])}
    only = [p for p in args.only.split(",") if p]
    skip = [p for p in args.skip.split(",") if p]
    if unknown := set(only + skip) - set(parts):
        raise SystemExit(f"unknown --only / --skip part(s) {sorted(unknown)}; choose from {sorted(parts)}")
    result = {"config": config}
    if only:
        result = json.loads((RESULTS / f"{args.name}.json").read_text())
        if result["config"] != config:
            raise SystemExit(f"{args.name}.json was made with {result['config']}, not {config}")
    commit = git_commit()
    for part, measure in parts.items():
        if (not only or part in only) and part not in skip:
            result[part] = measure()
            result.setdefault("commits", {})[part] = commit  # the code each part was measured with
            print(json.dumps(result[part]), flush=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=1))
    d, real, timed = result.get("dev_suite"), result.get("real_images"), result.get("timing")
    lines = ["# Perception benchmark", "", f"Config: {result['config']}", "",
             f"Code per part: {result.get('commits', 'not recorded')}", ""]
    lines += ["ms/frame: not run", ""] if timed is None else [
        f"ms/frame (2 people, 1 thread): {timed['total_ms']} total, detector {timed['detector_ms']}, "
        f"keypoints x2 {timed['keypoints_2_people_ms']} (load {timed['load_average_1min']})", ""]
    if real is None:
        lines += ["Real images: not run", ""]
    else:
        lines += ["Real images: every person found, against an independent YOLO11n-pose reference "
                  f"({real['reference']}; reference people with score >= 0.5, PCK of the box diagonal)", "",
                  "| image | reference people | found | detections | PCK@0.05 | PCK@0.1 |", "|---|---|---|---|---|---|"]
        lines += [f"| {k} | {v['reference_people']} | {v['found']} | {v['detections']} | {v['pck@0.05']:.3f} | "
                  f"{v['pck@0.1']:.3f} |" for k, v in real["images"].items() if isinstance(v, dict)]
        lines += [f"| all | {real['reference_people']} | {real['found']} | | {real['pck@0.05']:.3f} | "
                  f"{real['pck@0.1']:.3f} |", ""]
    lines += [f"vtest.avi 510-599: {result.get('vtest_couple', 'not run')}", "",
              f"Sports2D demo.mp4: {result.get('sports2d', 'not run')}", ""]
    if d is None:
        lines += ["Synthetic dev suite: not run"]
    else:
        lines += [f"Synthetic dev suite (world {d['world']}); close frames: the two people too close in the image "
                  "to tell apart (left out of the swap count)", "",
                  "| kind | swaps | close frames | recall | kp err px (median) | PCK@0.1 | ms/frame |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['kind']} | {r['identity_swaps']} | {r['close_frames']} | {r['recall']:.2f} | "
                  f"{r['kp_error_px_median']} | {r['pck@0.1']:.3f} | {r['ms_per_frame']} |" for r in d["clips"]]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / args.name}.json")


if __name__ == "__main__":
    main()
