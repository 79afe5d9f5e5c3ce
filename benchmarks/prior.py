"""The motion prior on this CPU: size, denoiser call time (PyTorch vs onnxruntime) for one
[2 people, 128 frames] window, the cost of its two uses in the optimiser, and what the
shipped checkpoint makes of held-out synthetic windows from their 2D observations alone,
and the window optimiser's time with the prior in both modes against without it (same run).

Writes benchmarks/results/prior.json.
    .venv/bin/python benchmarks/prior.py [--frames 128] [--threads 1] [--repeats 10]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import torch

from interaction_recon.body.model import BodyParams
from interaction_recon.prior import data, guidance, model
from interaction_recon.prior.diffusion import Diffusion
from interaction_recon.prior.export import OnnxPrior, example_inputs, export_onnx
from timing import median_seconds
from window import _timed_stream, handshake_observations


def held_out_accuracy(net, frames: int, windows: int) -> dict:
    """Held-out synthetic windows (seed 10000, simulated 2D observations): what the prior
    makes of the 2D alone (one x0 prediction from pure noise: the MMSE estimate) and how far
    one call at level 0.3 brings a noised true motion back (the regime of the two guidance
    modes). Pelvis-aligned MPJPE, pelvis depth error and Inter (cross-person joint
    distances), mm; also with one person fully unobserved."""
    from interaction_recon.body import create
    from interaction_recon.paths import cache_dir

    clips = data.synthetic_clips(create(), [10000], cache_dir() / "prior")
    diffusion = Diffusion.for_model(net)
    g = torch.Generator().manual_seed(0)

    def scores(pred, batch):
        jp, jt = model.joints(pred, batch["rest"]), model.joints(batch["x"], batch["rest"])
        aligned = lambda j: j - j[..., :1, :]  # noqa: E731
        cross = lambda j: torch.cdist(j[:, 0], j[:, 1])  # noqa: E731
        return {"mpjpe_mm": round(1000 * float((aligned(jp) - aligned(jt)).norm(dim=-1).mean()), 1),
                "pelvis_depth_error_mm": round(1000 * float((jp[..., 0, 2] - jt[..., 0, 2]).abs().mean()), 1),
                "inter_mm": round(1000 * float((cross(jp) - cross(jt)).abs().mean()), 1)}

    rows = {}
    for name, person in (("observed", 0.0), ("one_person_hidden", 1.0)):
        masking = data.Masking(frames=0.0, person=person, nothing=0.0, coco_only=0.0)
        batch = data.WindowSampler(clips, np.random.default_rng(0), masking).batch(windows, frames)
        shape = batch["x"].shape
        level = torch.full((windows,), round(0.3 * diffusion.steps))
        noisy = diffusion.q_sample(batch["x"], level, torch.randn(shape, generator=g))
        with torch.no_grad():
            from_2d = diffusion.sample(net, batch["cond"], shape=shape, strides=1, noise=torch.randn(shape, generator=g))
            denoised = net(noisy, level, batch["cond"])
        rows[name] = {"from_2d_alone": scores(from_2d, batch), "noised_at_0.3": scores(noisy, batch),
                      "denoised_from_0.3": scores(denoised, batch)}
    return {"windows": windows, "frames": frames, **rows}


def reconstruction_seconds(warm: int = 1) -> dict:
    """The window optimiser on the smoke handshake (as benchmarks/window.py) without the prior
    and in both prior modes, in this run: cold 128-frame window and warm update seconds, and
    their ratios to the optimiser without the prior."""
    from interaction_recon.body import create
    from interaction_recon.config import Config

    keypoints, confidence, K = handshake_observations()
    body = create()
    rows = {}
    for mode in ("none", "regulariser", "closeapp"):
        config = Config()
        config.fitting.prior = mode
        cold, updates = _timed_stream(config, body, keypoints, confidence, K, warm)
        rows[mode] = {"cold_window_s": round(cold, 2), "warm_update_s": round(float(np.median(updates)), 2)}
    for mode in ("regulariser", "closeapp"):
        rows[mode]["over_no_prior"] = {k: round(v / rows["none"][k], 2) for k, v in rows[mode].items()}
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--checkpoint", help="default: the shipped one")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "prior.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = Path(args.checkpoint) if args.checkpoint else guidance.DEFAULT_CHECKPOINT
    net = guidance.load_prior(path)
    x, step, cond = example_inputs(1, args.frames, net)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(net, Path(tmp) / "prior.onnx", frames=args.frames)
        ort = OnnxPrior(onnx_path, threads=args.threads)
        with torch.no_grad():
            torch_ms = round(1000 * median_seconds(lambda: net(x, step, cond), args.repeats), 2)
            diff = float((net(x, step, cond) - ort(x, step, cond)).abs().max())
        ort_ms = round(1000 * median_seconds(lambda: ort(x, step, cond), args.repeats), 2)
        onnx_mb = onnx_path.stat().st_size / 1e6

    T = args.frames
    params = BodyParams(global_orient=torch.zeros(2, T, 3), body_pose=torch.zeros(2, T, 23, 3),
                        transl=torch.tensor([[0.3, 0.0, 3.0], [-0.3, 0.0, 3.0]])[:, None].repeat(1, T, 1),
                        shape=torch.full((2, 6), 0.5))
    reg = guidance.PriorRegulariser(net, generator=torch.Generator().manual_seed(0))

    def regulariser():
        p = params.map(lambda t: t.clone().requires_grad_(True))
        reg(p, cond[0]).backward()

    motion = guidance.PriorMotion(net, cond[0], params)

    def prior_motion():
        motion.zero_grad()
        motion().transl.square().mean().backward()

    result = {
        "checkpoint": path.name,
        "parameters": net.num_parameters(),
        "checkpoint_mb": round(path.stat().st_size / 1e6, 2),
        "onnx_mb": round(onnx_mb, 2),
        "window": [1, 2, args.frames],
        "threads": args.threads,
        "denoiser_call_ms": {"pytorch": torch_ms, "onnxruntime": ort_ms},
        "onnxruntime_max_abs_diff": diff,
        "regulariser_fwd_bwd_ms": round(1000 * median_seconds(regulariser, args.repeats), 2),
        "prior_motion_fwd_bwd_ms": round(1000 * median_seconds(prior_motion, args.repeats), 2),
        "held_out": held_out_accuracy(net, 64, 16),
        "reconstruction_s": reconstruction_seconds(),
        "machine": {"cpu_count": os.cpu_count(), "arch": platform.machine(), "torch": torch.__version__},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
