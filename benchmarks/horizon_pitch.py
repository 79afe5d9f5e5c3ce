"""The camera pitch the fit takes from people seen at different distances
(``fitting/floor.py`` ``pitch_from_horizon``, used where no camera pose is given), window by
window, against each clip's true pitch: on the dev clips and the validation clips, from the real
perception with the embedded defaults and with ``config/real-footage.yaml``'s perception
(and on the real videos of ``benchmarks/real_video_3d.py``, which have no true pitch)
(``validation.REAL_FOOTAGE``), with the embedded checks (no soles beyond
``fitting.horizon_max_sole_deg`` below the horizon, a sharp minimum: ``fitting.horizon_sharpness``)
and with both lifted. A window without an estimate falls back to the assumed camera height.

Writes benchmarks/results/horizon-pitch.json (per clip and perception: the true pitch and the
windows' estimates; summary: windows with an estimate and their absolute errors).
    .venv/bin/python benchmarks/horizon_pitch.py
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

import real_video_3d  # benchmarks/, beside this script

from interaction_recon.config import Config, override
from interaction_recon.eval import bench, validation
from interaction_recon.eval.bench import git_commit
from interaction_recon.fitting import floor
from interaction_recon.paths import cache_dir

RESULTS = Path(__file__).parent / "results"
PERCEPTIONS = {"default": {}, "real-footage": validation.REAL_FOOTAGE}
LIFTED = {"max_sole_deg": 90.0, "sharpness": float("inf")}


def window_starts(T: int, window: int, stride: int) -> list[int]:
    """The sliding windows' first frames over T frames, as fitting/stream.py lays them: one job
    each ``stride`` frames once ``window`` are buffered, and the last frames' at the end."""
    starts = list(range(0, T - window + 1, stride)) or [0]
    if starts[-1] + window < T:
        starts.append(T - window)
    return starts


def estimates(keypoints: np.ndarray, confidence: np.ndarray, K: np.ndarray, config, **checks) -> list:
    """The pitch (deg, None: no estimate) of every window of keypoints [2, T, 33, 2]."""
    fit = config.fitting
    checks = checks or {"max_sole_deg": fit.horizon_max_sole_deg, "sharpness": fit.horizon_sharpness}
    out = []
    for s in window_starts(keypoints.shape[1], fit.window, fit.stride):
        pitch = floor.pitch_from_horizon(keypoints[:, s:s + fit.window], confidence[:, s:s + fit.window], K,
                                         "blazepose33", fit.horizon_min_ratio, **checks)
        out.append(None if pitch is None else round(pitch, 2))
    return out


def clips(config):
    """(suite, name, keypoints, confidence, K, true pitch deg) of every dev and validation clip."""
    for scene in bench.suite_scenes("dev", cache_dir()):
        track = bench._perceived(scene, config.perception)
        kp, conf = track.keypoints, track.confidence
        forward = scene.gt["R"][0][2]  # the optical axis in the world (y up)
        yield "dev", scene.name, kp, conf, scene.gt["K"], float(np.degrees(np.arcsin(-forward[1])))
    for scene in validation.load_suite():
        track = validation.perceive(scene, cache_dir(), config.perception)
        forward = scene.gt["R"][2]  # world z up
        yield "validation", scene.name, track.keypoints, track.confidence, scene.gt["K"], float(np.degrees(np.arcsin(-forward[2])))


def real_clips(config):
    """(suite "real", name, keypoints, confidence, K, None) of the real videos of
    benchmarks/real_video_3d.py (no true pitch; intrinsics from fitting.fov_deg), where present."""
    import cv2

    from interaction_recon.fitting.camera import default_intrinsics
    from interaction_recon.perception import PeopleTrack, Perception, assets

    for key, name, start, count in real_video_3d.CLIPS:
        path = assets.media_path(name)
        if path is None:
            continue
        cap, perception, frames = cv2.VideoCapture(str(path)), Perception(config.perception), []
        cap.set(cv2.CAP_PROP_POS_FRAMES, start)
        while len(frames) < count:
            ok, image = cap.read()
            if not ok:
                break
            frames.append(perception(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)))
        track = PeopleTrack.from_frames(frames, 30.0)
        K = default_intrinsics(image.shape[1], image.shape[0], config.fitting.fov_deg)
        yield "real", key, track.keypoints, track.confidence, K, None


def main() -> None:
    out = {"commit": git_commit(), "load": os.getloadavg()[0], "clips": [], "summary": {}}
    for perception, settings in PERCEPTIONS.items():
        config = override(Config(), settings, "perception setting")
        for suite, name, kp, conf, K, true in (*clips(config), *real_clips(config)):
            row = {"suite": suite, "clip": name, "perception": perception, "true_pitch": None if true is None else round(true, 2),
                   "checked": estimates(kp, conf, K, config), "lifted": estimates(kp, conf, K, config, **LIFTED)}
            out["clips"].append(row)
            print(json.dumps(row), flush=True)
    for suite in ("dev", "validation", "real"):
        for mode in ("checked", "lifted"):
            rows = [r for r in out["clips"] if r["suite"] == suite]
            found = [p for r in rows for p in r[mode] if p is not None]
            errors = [abs(p - r["true_pitch"]) for r in rows if r["true_pitch"] is not None for p in r[mode] if p is not None]
            out["summary"][f"{suite} {mode}"] = {
                "windows": sum(len(r[mode]) for r in rows), "estimated": len(found),
                "abs_error_median": round(float(np.median(errors)), 2) if errors else None,
                "abs_error_max": round(float(np.max(errors)), 2) if errors else None,
                "over_20_deg": int(sum(e > 20 for e in errors))}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "horizon-pitch.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out["summary"], indent=1))


if __name__ == "__main__":
    main()
