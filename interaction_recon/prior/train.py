"""Train the prior: ``interaction-recon train-prior --out out/prior --steps 3000``.

A plain loop: feature statistics from a few windows (a fresh run only), then sample windows
(data.WindowSampler), noise them to a random diffusion level,
predict x0, take the weighted sum of CloseApp's losses, AdamW with warm-up and cosine decay.
Every ``eval_every`` steps: the loss on fixed validation windows cut from interaction
instances never trained on (other seeds; 1 in 10 real sequences), ``last.pt`` (everything
needed to resume), the loss history (``history.json``) and its plot (``loss.png``).
"""
from __future__ import annotations

import json
import math
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from interaction_recon.prior import data
from interaction_recon.prior.diffusion import Diffusion
from interaction_recon.prior.model import Denoiser, PriorConfig, joints
from interaction_recon.synth.specs import INTERACTIONS


@dataclass
class LossWeights:
    """Weights of the training losses (0 switches one off)."""

    param: float = 1.0  # squared error of the motion representation x
    joints: float = 1.0  # mean 3D joint distance (m), camera frame
    reprojection: float = 1.0  # mean 2D joint distance in normalised image units (x / z, y / z)
    velocity: float = 5.0  # mean 3D joint velocity difference (m / frame)
    interaction: float = 1.0  # mean |cross-person joint distance - true one| (m), CloseApp's L_int


@dataclass
class TrainConfig:
    out: str = "out/prior"
    steps: int = 3000
    batch: int = 16
    window: int = 64  # frames per training window
    long_window: int = 128  # a share of the batches use this length (the optimiser's window)
    long_share: float = 0.25
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup: int = 100
    train_seeds: int = 20  # synthetic seeds 0 .. n-1, every interaction kind
    val_seeds: tuple[int, ...] = (10000, 10001)  # held-out interaction instances
    kinds: tuple[str, ...] = INTERACTIONS
    datasets: tuple[str, ...] = ()  # real data as "hi4d:/path", "chi3d:/path", "interhuman:/path"
    val_batches: int = 4
    eval_every: int = 200
    max_minutes: float | None = None  # stop (and save) after this much wall time
    init: str | None = None  # start from these weights (fine-tuning), e.g. the shipped default.pt
    seed: int = 0
    threads: int = 1
    model: PriorConfig = field(default_factory=PriorConfig)
    weights: LossWeights = field(default_factory=LossWeights)


def losses(pred: Tensor, target: Tensor, rest: Tensor) -> dict[str, Tensor]:
    """CloseApp's training losses of predicted clean motions pred vs target [B, 2, T, D];
    rest [B, 2, 24, 3] T-pose joints of the bodies."""
    jp, jt = joints(pred, rest), joints(target, rest)  # [B, 2, T, 24, 3]
    proj = lambda j: j[..., :2] / j[..., 2:].clamp_min(0.1)  # noqa: E731
    cross = lambda j: torch.cdist(j[:, 0], j[:, 1])  # noqa: E731  [B, T, 24, 24]
    return {
        "param": (pred - target).pow(2).mean(),
        "joints": (jp - jt).norm(dim=-1).mean(),
        "reprojection": (proj(jp) - proj(jt)).norm(dim=-1).mean(),
        "velocity": (jp.diff(dim=2) - jt.diff(dim=2)).norm(dim=-1).mean(),
        "interaction": (cross(jp) - cross(jt)).abs().mean(),
    }


def total(terms: dict[str, Tensor], weights: LossWeights) -> Tensor:
    return sum(getattr(weights, k) * v for k, v in terms.items())


def denoising_losses(net: Denoiser, diffusion: Diffusion, batch: dict, generator: torch.Generator | None = None) -> dict:
    """Noise batch["x"] to random levels, predict x0, return the loss terms."""
    x0 = batch["x"]
    step = torch.randint(1, diffusion.steps + 1, (x0.shape[0],), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    pred = net(diffusion.q_sample(x0, step, noise), step, batch["cond"])
    return losses(pred, x0, batch["rest"])


def training_step(net, diffusion, optimizer, batch, weights: LossWeights, generator=None) -> dict[str, float]:
    """One optimiser step; returns the loss terms and ``total`` as floats."""
    terms = denoising_losses(net, diffusion, batch, generator)
    loss = total(terms, weights)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    optimizer.step()
    return {"total": float(loss.detach()), **{k: float(v.detach()) for k, v in terms.items()}}


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 10 %."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def validate(net, diffusion, batches: list[dict], weights: LossWeights) -> dict[str, float]:
    """Mean loss terms on fixed batches at fixed noise (seeded)."""
    net.eval()
    g = torch.Generator().manual_seed(0)
    rows = [denoising_losses(net, diffusion, b, g) for b in batches]
    net.train()
    terms = {k: float(np.mean([float(r[k]) for r in rows])) for k in rows[0]}
    return {"total": sum(getattr(weights, k) * v for k, v in terms.items()), **terms}


def split_clips(cfg: TrainConfig, body, cache: Path, progress=None) -> tuple[list, list]:
    """Training and validation clips: synthetic by seed, real sequences 1 in 10 held out by name."""
    train = data.synthetic_clips(body, range(cfg.train_seeds), cache, cfg.kinds, progress)
    val = data.synthetic_clips(body, cfg.val_seeds, cache, cfg.kinds, progress)
    for spec in cfg.datasets:
        name, _, root = spec.partition(":")
        if name not in data.LOADERS:
            raise ValueError(f"unknown dataset {name!r} in {spec!r}; choose from {sorted(data.LOADERS)}")
        for seq in data.LOADERS[name](Path(root)):
            clip = data.to_clip(seq, body)
            (val if zlib.crc32(seq.name.encode()) % 10 == 0 else train).append(clip)
    return train, val


def plot_history(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [h["step"] for h in history]
    ax.plot(steps, [h["train"]["total"] for h in history], label="train (mean since last point)")
    ax.plot(steps, [h["val"]["total"] for h in history], label="validation (unseen instances)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("weighted loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def save_weights(net: Denoiser, path: Path, record: dict) -> None:
    """The shippable checkpoint: float16 weights and the model config (load with guidance.load_prior)."""
    state = {k: v.half() for k, v in net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": state, "config": net.cfg.to_dict(), "record": record}, path)


def train(cfg: TrainConfig, resume: bool = False, body=None, clips: tuple[list, list] | None = None,
          progress: bool = True) -> dict:
    """Run (or resume from ``<out>/last.pt``) training; returns the training record."""
    from tqdm import tqdm

    from interaction_recon.paths import cache_dir

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if clips is None:
        from interaction_recon.body import create

        body = body or create()
        with tqdm(desc="prior data (first run only)", unit="clip", disable=not progress) as bar:
            clips = split_clips(cfg, body, cache_dir() / "prior", bar.update)
    train_clips, val_clips = clips
    net = Denoiser(cfg.model)
    if cfg.init:
        from interaction_recon.prior.guidance import load_prior

        net.load_state_dict(load_prior(cfg.init).state_dict())
    if not cfg.init and not (resume and (out / "last.pt").exists()):
        stats = data.WindowSampler(train_clips, np.random.default_rng(cfg.seed + 1))
        net.set_statistics(torch.cat([stats.batch(cfg.batch, cfg.window)["x"] for _ in range(8)]))
    diffusion = Diffusion.for_model(net)
    optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)
    start, history, seconds = 0, [], 0.0
    if resume and (out / "last.pt").exists():
        ckpt = torch.load(out / "last.pt", weights_only=False)
        net.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start, history, seconds = ckpt["step"], ckpt["history"], ckpt["seconds"]
        rng.bit_generator.state = ckpt["rng"]
        torch.set_rng_state(ckpt["torch_rng"])
    sampler = data.WindowSampler(train_clips, rng)
    val_sampler = data.WindowSampler(val_clips, np.random.default_rng(12345))
    val_batches = [val_sampler.batch(cfg.batch, cfg.window if i % 2 else cfg.long_window) for i in range(cfg.val_batches)]
    t0, running = time.perf_counter() - seconds, []
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc="train-prior", disable=not progress)
    step = start
    for step in bar:
        long = rng.random() < cfg.long_share
        batch = sampler.batch(cfg.batch // 2 if long else cfg.batch, cfg.long_window if long else cfg.window)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg)
        running.append(training_step(net, diffusion, optimizer, batch, cfg.weights))
        bar.set_postfix(loss=f"{running[-1]['total']:.4f}")
        done = step + 1 == cfg.steps or (cfg.max_minutes and time.perf_counter() - t0 > 60 * cfg.max_minutes)
        if (step + 1) % cfg.eval_every == 0 or done:
            mean = {k: float(np.mean([r[k] for r in running])) for k in running[0]}
            history.append({"step": step + 1, "seconds": round(time.perf_counter() - t0, 1), "train": mean,
                            "val": validate(net, diffusion, val_batches, cfg.weights)})
            running = []
            _checkpoint(out, net, optimizer, step + 1, history, time.perf_counter() - t0, rng, cfg)
            bar.write(f"step {step + 1}: train {mean['total']:.4f}  val {history[-1]['val']['total']:.4f}")
        if done:
            break
    record = {"steps": history[-1]["step"] if history else start, "seconds": round(time.perf_counter() - t0, 1),
              "parameters": net.num_parameters(), "train_clips": len(train_clips), "val_clips": len(val_clips),
              "final": history[-1] if history else None, "config": _jsonable(asdict(cfg))}
    (out / "record.json").write_text(json.dumps(record, indent=1) + "\n")
    save_weights(net, out / "prior.pt", record)
    return record


def _jsonable(d):
    return json.loads(json.dumps(d, default=list))


def _checkpoint(out: Path, net, optimizer, step, history, seconds, rng, cfg) -> None:
    torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "history": history,
                "seconds": seconds, "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                "config": _jsonable(asdict(cfg))}, out / "last.pt.tmp")
    (out / "last.pt.tmp").replace(out / "last.pt")
    (out / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    plot_history(history, out / "loss.png")
