"""Perception front end: speed, keypoint accuracy and identity swaps, recall on real images.

Writes benchmarks/results/perception.json (+ .md) and an overlay PNG per real image
(benchmarks/results/perception_<name>.png: boxes, identities, keypoints, masks).
    .venv/bin/python benchmarks/perception.py [--step N] [--clips hug,handshake]
- ms per frame with two people (basketball1.png, 640x480; detector + both keypoint passes +
  masks + tracking) on one CPU thread, median of 30 after warm-up;
- the synthetic dev suite (one clip per interaction kind, 512x512, ground truth BlazePose-33
  2D): keypoint error (px), PCK@0.1 of the box's longer side, identity swaps, recall;
- recall of people on the real images (both people expected on each).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from interaction_recon.paths import cache_dir
from interaction_recon.perception import Perception, PeopleTrack, assets
from interaction_recon.perception.evaluate import score_clip
from interaction_recon.perception.overlay import draw

RESULTS = Path(__file__).parent / "results"
REAL = {"basketball1.png": 2, "basketball2.png": 2, "zidane.jpg": 2}


def _read(name):
    path = assets.media_path(name)
    return None if path is None else np.ascontiguousarray(cv2.imread(str(path))[:, :, ::-1])


def timing(perception: Perception) -> dict:
    image = _read("basketball1.png")
    if image is None:
        image = np.full((480, 640, 3), 128, np.uint8)
    parts = {"detector": [], "keypoints_2_people": [], "total": []}
    det_fn, kp_fn = perception.detector, perception.keypoint_model
    for i in range(35):
        perception.reset()
        t0 = time.perf_counter()
        frame = perception(image)
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        det = det_fn(image)
        t1 = time.perf_counter()
        from interaction_recon.perception.keypoints import roi_from_detection
        for j in range(min(2, len(det))):
            kp_fn(image, roi_from_detection(det.boxes[j], det.keypoints[j], det.keypoint_conf[j]))
        t2 = time.perf_counter()
        if i >= 5:
            parts["total"].append(total)
            parts["detector"].append(t1 - t0)
            parts["keypoints_2_people"].append(t2 - t1)
    out = {f"{k}_ms": round(1000 * float(np.median(v)), 1) for k, v in parts.items()}
    out.update(people=int(frame.present.sum()), image="basketball1.png 640x480", threads=1,
               load_average_1min=round(os.getloadavg()[0], 2), target_total_ms=80)
    return out


def real_images(perception: Perception) -> dict:
    rows, found, expected = {}, 0, 0
    for name, n in REAL.items():
        image = _read(name)
        if image is None:
            rows[name] = "missing (package not installed)"
            continue
        perception.reset()
        frame = perception(image)
        k = int(frame.present.sum())
        found, expected = found + min(k, n), expected + n
        rows[name] = {"people_found": k, "expected": n, "ignored": frame.ignored,
                      "mean_confidence": np.round(frame.confidence.mean(1), 3).tolist()}
        out = RESULTS / f"perception_{Path(name).stem}.png"
        cv2.imwrite(str(out), draw(image, frame)[:, :, ::-1])
    return {"recall": found / max(expected, 1), "images": rows}


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
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    perception = Perception()
    result = {"timing": timing(perception)}
    print(json.dumps(result["timing"]), flush=True)
    result["real_images"] = real_images(perception)
    print(json.dumps(result["real_images"]), flush=True)
    result["dev_suite"] = dev_suite(perception, args.step, [c for c in args.clips.split(",") if c])
    (RESULTS / "perception.json").write_text(json.dumps(result, indent=1))
    d = result["dev_suite"]
    lines = ["# Perception benchmark", "",
             f"ms/frame (2 people, 1 thread): {result['timing']['total_ms']} total, detector "
             f"{result['timing']['detector_ms']}, keypoints x2 {result['timing']['keypoints_2_people_ms']}"
             f" (load {result['timing']['load_average_1min']})", "",
             f"Real images: recall {result['real_images']['recall']:.2f}", "",
             f"Synthetic dev suite (world {d['world']}); close frames: the two people too close in the image "
             "to tell apart (left out of the swap count)", "",
             "| kind | swaps | close frames | recall | kp err px (median) | PCK@0.1 | ms/frame |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['kind']} | {r['identity_swaps']} | {r['close_frames']} | {r['recall']:.2f} | "
              f"{r['kp_error_px_median']} | {r['pck@0.1']:.3f} | {r['ms_per_frame']} |" for r in d["clips"]]
    (RESULTS / "perception.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'perception.json'}")


if __name__ == "__main__":
    main()
