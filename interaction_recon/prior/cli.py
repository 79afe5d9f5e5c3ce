"""``interaction-recon train-prior`` and ``interaction-recon export-prior``.

    add_parsers(sub)    # sub: the main parser's add_subparsers() object
"""
from __future__ import annotations

import json
from pathlib import Path


def add_parsers(sub) -> None:
    """Add the ``train-prior`` and ``export-prior`` subcommands (handlers in ``func``)."""
    train = sub.add_parser("train-prior", help="train the two-person motion prior (synthetic world, optional real datasets)")
    train.add_argument("--out", default="out/prior", help="run folder: last.pt, prior.pt, history.json, loss.png")
    train.add_argument("--steps", type=int, default=3000)
    train.add_argument("--batch", type=int, default=16)
    train.add_argument("--window", type=int, default=64, help="frames per training window (a quarter use 128)")
    train.add_argument("--lr", type=float, default=3e-4)
    train.add_argument("--warmup", type=int, default=100, help="linear warm-up steps")
    train.add_argument("--train-seeds", type=int, default=20, help="synthetic seeds 0..N-1 of every interaction kind")
    train.add_argument("--dataset", action="append", default=[],
                       help="real data, repeatable: hi4d:/path, chi3d:/path or interhuman:/path")
    train.add_argument("--minutes", type=float, help="stop and save after this many minutes")
    train.add_argument("--eval-every", type=int, default=200, help="steps between validation + checkpoint")
    train.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    train.add_argument("--init", help="start from these weights (fine-tune), e.g. the shipped default.pt")
    train.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(func=train_prior)
    export = sub.add_parser("export-prior", help="export the prior to ONNX (and a TensorRT engine where available)")
    export.add_argument("--checkpoint", help="prior checkpoint (default: the shipped one)")
    export.add_argument("--out", default="out/prior.onnx", help="ONNX file to write")
    export.add_argument("--frames", type=int, default=128, help="window length of the example input")
    export.add_argument("--opset", type=int, default=17)
    export.add_argument("--engine", help="also build a TensorRT engine here (needs tensorrt and CUDA)")
    export.add_argument("--max-frames", type=int, default=256, help="TensorRT profile: longest window")
    export.add_argument("--max-batch", type=int, default=4, help="TensorRT profile: largest batch")
    export.set_defaults(func=export_prior)


def train_prior(args) -> int:
    from interaction_recon.prior.train import TrainConfig, train

    cfg = TrainConfig(out=args.out, steps=args.steps, batch=args.batch, window=args.window, lr=args.lr, warmup=args.warmup,
                      train_seeds=args.train_seeds, datasets=tuple(args.dataset), max_minutes=args.minutes,
                      eval_every=args.eval_every, threads=args.threads, seed=args.seed, init=args.init)
    record = train(cfg, resume=args.resume)
    print(json.dumps({k: record[k] for k in ("steps", "seconds", "parameters", "final")}, indent=1))
    print(f"weights in {Path(args.out) / 'prior.pt'}; loss curves in {Path(args.out) / 'loss.png'}")
    return 0


def export_prior(args) -> int:
    import torch

    from interaction_recon.prior.export import OnnxPrior, example_inputs, export_onnx
    from interaction_recon.prior.guidance import load_prior

    net = load_prior(args.checkpoint)
    path = export_onnx(net, args.out, frames=args.frames, opset=args.opset)
    x, step, cond = example_inputs(1, args.frames, net)
    with torch.no_grad():
        diff = float((net(x, step, cond) - OnnxPrior(path)(x, step, cond)).abs().max())
    print(f"wrote {path}; onnxruntime vs PyTorch max |diff| = {diff:.2e}")
    if args.engine:
        from interaction_recon.prior.tensorrt_runtime import WindowProfile, build_engine

        profile = WindowProfile(batch=(1, 1, args.max_batch), frames=(16, min(args.frames, args.max_frames), args.max_frames))
        print(f"wrote {build_engine(path, args.engine, [profile], net.cfg)}")
    return 0
