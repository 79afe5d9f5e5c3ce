"""Offline reconstruction of a video: perception, sliding windows, files.

    interaction-recon reconstruct clip.mp4 --out out/clip

Writes ``results.npz`` / ``results.json`` (``../shared/METRICS.md``'s contract, see
:class:`interaction_recon.fitting.result.Reconstruction`), ``overlay.mp4`` (fitted bodies
over the frames), ``preview.png`` (3D view) and ``summary.json``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from interaction_recon.config import Config
from interaction_recon.fitting.camera import check_intrinsics, default_intrinsics
from interaction_recon.fitting.stream import (
    WindowStream,
    published,
    reconstruct_track,
    seam_jump,
    stitched_seams,
)


def contact_pair_counts(contacts) -> dict[str, int]:
    """{"part_a / part_b": frames reported}, most frequent first."""
    counts: dict[str, int] = {}
    for c in contacts:
        key = f"{c.part_a} / {c.part_b}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def run(video: str | Path, out_dir: str | Path, config: Config, K: np.ndarray | None = None,
        max_frames: int | None = None, overlay: bool = True, depth: str | Path | None = None) -> dict:
    """Reconstruct ``video`` (a file or a folder of images) into ``out_dir``; returns the summary.
    ``depth``: depth frames registered to the video (:func:`interaction_recon.perception.depth.read_depth`)."""
    from interaction_recon.perception import run_video
    from interaction_recon.perception.video import read_frames
    from interaction_recon.viz.overlay import preview, write_overlay_video

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    track = run_video(video, config.perception, progress=True, max_frames=max_frames)
    t_perception = time.perf_counter() - t0
    H, W = track.image_size
    sensor, depth_dropped = None, 0
    if depth is not None:
        from interaction_recon.perception.depth import read_depth, track_depths

        pc = config.perception
        sensor, depth_dropped = track_depths(track, read_depth(depth, max_frames), pc.depth_erode, pc.depth_min_pixels)
    K = default_intrinsics(W, H, config.fitting.fov_deg) if K is None else check_intrinsics(K)
    stream = WindowStream(config)
    T = track.num_frames
    images = None
    if stream.language is not None:  # the language source looks at key frames, read again in order
        frames_again = read_frames(video, max_frames)[2]
        images = lambda t: next(frames_again)  # noqa: E731
    with tqdm(total=T, desc="reconstruction", unit="frame") as bar:
        result, windows = reconstruct_track(track.keypoints, track.confidence, K, config,
                                            stamps=np.arange(T) / track.fps, track_ids=track.slot_ids,
                                            stream=stream, progress=bar.update, world=track.world, images=images,
                                            depth=sensor, everyone=track.everyone())
    t_fit = time.perf_counter() - t0 - t_perception
    result.fps = track.fps
    result.save(out)
    files = {"results": str(out / "results.npz")}
    if overlay:
        _, _, frames = read_frames(video, max_frames)
        with tqdm(total=T, desc="overlay video", unit="frame") as bar:
            write_overlay_video(out / "overlay.mp4", frames, stream.body, result, track.fps, progress=bar.update)
        files["overlay"] = str(out / "overlay.mp4")
    files["preview"] = str(preview(out / "preview.png", stream.body, result))
    joints, seams = published(windows, config.fitting.stride)
    summary = {
        "video": str(video), "frames": T, "fps": track.fps, "image_size": [H, W], "windows": len(windows),
        "people_seen": int((result.confidence.max(1) > 0).sum()), "track_ids": result.track_ids.tolist(),
        # per person: frames with a body (a person unseen for more than fitting.max_unseen is not published)
        "published_frames": np.isfinite(result.joints).all((-1, -2)).sum(1).tolist(),
        "ignored_people_max": int(track.ignored.max()) if T else 0,
        "contact_frames": len({c.frame for c in result.contacts}), "contacts": len(result.contacts),
        "contact_evidence_frames": int(result.contact_evidence.sum()),
        "contact_pairs": contact_pair_counts(result.contacts),
        # per person: frames with a depth-sensor distance; depth frames dropped (not the colour image's size)
        "depth_frames": None if sensor is None else np.isfinite(sensor).sum(1).tolist(),
        "depth_dropped": depth_dropped,
        "language": dict(stream.language.counts) if stream.language is not None else None,
        "seam_jump_mm": round(seam_jump(result.joints, stitched_seams(windows, config.fitting.refit_frames)), 2),
        "live_seam_jump_mm": round(seam_jump(joints, seams), 2),
        "seconds": {"perception": round(t_perception, 1), "fitting": round(t_fit, 1)},
        "device": config.body.device, "files": files,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
