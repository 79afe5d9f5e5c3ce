"""Live benchmark of the ROS 2 node -> benchmarks/results/live.json.

    .venv/bin/python benchmarks/live.py                       # rate sweep + a 10-minute run
    .venv/bin/python benchmarks/live.py --duration 120 --rates 3,5 --rate-seconds 240

The camera is the replayer publishing a rendered handshake (256x256, looped) as Image +
CameraInfo into the node with the real perception and window stream, all in this process
on one rclpy context (the same set-up as the demo; live queue defaults: intake 8, fit 1).

1. Rate sweep: for each input rate, a fresh node runs ``--rate-seconds``. A rate is
   *sustained* when perception keeps up (under 2 % of frames dropped as perception_behind
   after the first 5 s) and the end-to-end latency (image arrival of a window's newest frame
   -> its /humans message) stays bounded (no growth: at most two fits + the window span + 5 s).
   Whether it meets the issue's target (window span + 10 s) is reported beside it. Windows
   skipped because reconstruction is busy are reported, not failed: the designed backpressure.
2. Long run at the highest sustained rate for ``--duration`` seconds: resident memory
   sampled every 5 s; growth = last / median of the first fifth after warm-up - 1
   (target: within 5 %), plus latency and drop counts over the run.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_at(rate: float, seconds: float, config, scene, n: int, sample_every: float = 5.0, perception=None,
           stream=None) -> dict:
    import rclpy
    from rclpy.executors import MultiThreadedExecutor

    from interaction_recon.ros import replay
    from interaction_recon.ros.node import InteractionReconNode

    context = rclpy.Context()
    rclpy.init(context=context)
    node = player_node = None
    try:
        node = InteractionReconNode(config, perception, stream, context=context)
        player_node = rclpy.create_node("live_bench_camera", context=context)
        source = replay.Source(name=scene.name, K=np.asarray(scene.gt["K"], np.float64), fps=rate, count=n,
                               open=lambda: (scene.frame(t) for t in range(n)))
        frames = [scene.frame(t) for t in range(n)]  # decoded once: the camera must not be the bottleneck
        source.open = lambda: iter(frames)
        executor = MultiThreadedExecutor(num_threads=2, context=context)
        executor.add_node(node)
        executor.add_node(player_node)
        halt_spinner = replay.spin_in_background(executor)
        player = replay.Replayer(player_node, source, rate, config.ros.image_topic, config.ros.camera_info_topic,
                                 loop=True)
        t0 = time.monotonic()
        samples, warm_snapshot = [], None
        next_sample = t0
        while time.monotonic() - t0 < seconds:
            now = time.monotonic()
            if now >= next_sample:
                snap = node.snapshot()
                samples.append({"t": round(now - t0, 1), "rss_mb": snap["rss_mb"], "fps_in": snap["fps_in"],
                                "fps_perceived": snap["fps_perceived"], "queues": snap["queues"],
                                "windows": snap["counts"].get("windows_published", 0),
                                "latency_last_s": snap["latency_s"]["last"]})
                next_sample += sample_every
            if warm_snapshot is None and now - t0 >= 5.0:
                warm_snapshot = node.snapshot()
            time.sleep(0.1)
        final = node.snapshot()
        latencies = list(node.pipeline.stats.latency)  # per published window, in order
        player.timer.cancel()
        halt_spinner()
        executor.shutdown()
    finally:
        for x in (node, player_node):
            if x is not None:
                x.destroy_node()
        rclpy.shutdown(context=context)
    warm_snapshot = warm_snapshot or {"counts": {}, "drops": {}}
    frames_after = final["counts"].get("frames_in", 0) - warm_snapshot["counts"].get("frames_in", 0)
    behind_after = final["drops"].get("perception_behind", 0) - warm_snapshot["drops"].get("perception_behind", 0)
    return {"rate_hz": rate, "seconds": seconds, "published": player.published, "final": final, "latencies": latencies,
            "samples": samples, "perception_drop_share": round(behind_after / max(frames_after, 1), 4)}


def verdict(run: dict, bound_s: float, span_s: float, window: int) -> dict:
    """sustained = perception keeps up (< 2 % dropped after warm-up) and the latency stays
    bounded (at most two fits + the window span + 5 s: a window waits for at most the fit in
    progress, by the fit queue's design). The issue's latency target is window span + 10 s;
    the span is taken two ways: in the clip's time (128 frames at the clip's 30 fps: ``bound_s``,
    the strict reading) and in the camera's time at this input rate (``window`` frames / rate: what a
    window covers on a camera delivering that rate). ``latency_warm_s``: the windows after the
    first (warm-started updates; the first includes the cold fit)."""
    lat, fit = run["final"]["latency_s"], run["final"]["fit_s"]
    warm = np.asarray(run["latencies"][1:], dtype=np.float64)
    camera_bound = window / run["rate_hz"] + 10.0
    windows = run["final"]["counts"].get("windows_published", 0)
    keeps_up = run["perception_drop_share"] < 0.02
    bounded = windows > 0 and lat["max"] is not None and lat["max"] <= 2 * fit["max"] + span_s + 5.0
    return {"rate_hz": run["rate_hz"], "sustained": bool(keeps_up and bounded), "perception_keeps_up": keeps_up,
            "latency_bounded": bool(bounded),
            "meets_latency_target": bool(windows > 0 and lat["max"] is not None and lat["max"] <= bound_s),
            "latency_target_at_input_rate_s": round(camera_bound, 2),
            "meets_latency_target_at_input_rate": bool(windows > 0 and lat["max"] is not None and lat["max"] <= camera_bound),
            "latency_warm_s": ({"mean": round(float(warm.mean()), 3), "max": round(float(warm.max()), 3),
                                "windows": len(warm)} if len(warm) else None),
            "fps_in": run["final"]["fps_in"],
            "fps_perceived": run["final"]["fps_perceived"], "perception_drop_share": run["perception_drop_share"],
            "windows_published": windows, "windows_skipped": run["final"]["counts"].get("windows_skipped", 0),
            "latency_s": lat, "fit_s": run["final"]["fit_s"], "perception_s": run["final"]["perception_s"],
            "drops": run["final"]["drops"]}


def memory_growth(samples: list, warmup_share: float = 0.2) -> dict:
    rss = np.array([s["rss_mb"] for s in samples], dtype=np.float64)
    if len(rss) < 5:
        return {"samples": len(rss), "growth": None}
    start = int(len(rss) * warmup_share)
    ref = float(np.median(rss[start:start + max(1, len(rss) // 5)]))
    return {"samples": len(rss), "first_mb": float(rss[0]), "reference_mb": ref, "last_mb": float(rss[-1]),
            "max_mb": float(rss.max()), "growth": round(float(rss[-1] / ref - 1.0), 4),
            "flat_within_5pct": bool(abs(rss[-1] / ref - 1.0) <= 0.05)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="3,5,8", help="input rates (Hz) of the sweep")
    parser.add_argument("--rate-seconds", type=float, default=240.0,
                        help="seconds per sweep rate (the first window needs 128 frames plus a cold fit)")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of the long run (issue: 600)")
    parser.add_argument("--long-rate", type=float, help="rate of the long run (default: highest sustained, >= 1)")
    parser.add_argument("--frames", type=int, default=160, help="clip frames (looped)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "live.json"))
    args = parser.parse_args(argv)

    import torch

    from interaction_recon.config import Config
    from interaction_recon.ros import demo

    torch.set_num_threads(1)
    config = Config()
    scene, n = demo.clip("handshake", 0, 256, args.frames, config)
    span = config.fitting.window / float(scene.meta["fps"])
    bound = span + 10.0
    sweep = []
    for rate in [float(r) for r in args.rates.split(",") if r]:
        run = run_at(rate, args.rate_seconds, Config(), scene, n)
        sweep.append(verdict(run, bound, span, config.fitting.window))
        print(json.dumps(sweep[-1]), flush=True)
    sustained = [v["rate_hz"] for v in sweep if v["sustained"]]
    long_rate = args.long_rate or (max(sustained) if sustained else 1.0)
    long = run_at(long_rate, args.duration, Config(), scene, n)
    result = {
        "benchmark": "live node: replayed 256x256 handshake -> perception -> window stream -> /humans",
        "machine": {"cpu_count": __import__("os").cpu_count(), "python": platform.python_version(),
                    "torch_threads": torch.get_num_threads(), "note": "2 shared cores; expect +-30 %"},
        "window": config.fitting.window, "stride": config.fitting.stride, "clip_fps": scene.meta["fps"],
        "latency_bound_s": round(bound, 2),
        "highest_sustained_rate_hz": max(sustained) if sustained else None,
        "target_rate_hz": 5.0,
        "sweep": sweep,
        "long_run": {**verdict(long, bound, span, config.fitting.window), "duration_s": args.duration, "target_duration_s": 600.0,
                     "memory": memory_growth(long["samples"]), "samples": long["samples"]},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("sweep", "long_run")}, indent=1))
    print("long run:", json.dumps({k: v for k, v in result["long_run"].items() if k != "samples"}))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
