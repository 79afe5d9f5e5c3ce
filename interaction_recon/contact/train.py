"""Train the contact map: ``interaction-recon train-contacts --data .cache/synth/contact-train``.

Examples come from synthetic clips (:mod:`interaction_recon.contact.data`), two noisy looks
per clip (one mirrored); clips rendered with images (``perceived_clips``) are seen through the
real perception pipeline's keypoints instead of the simulated detector. Clips of ``holdout_seeds`` (and of ``holdout_kinds``, when given) are
never trained on: the frame-level scores on them (part pair with sides; precision, recall,
F1 at ``threshold``; the share of no-contact frames given any pair) are written beside the
weights. Binary cross-entropy on every pair (positives weighted ``pos_weight``; the
weighting's shift of the logits, log pos_weight, is taken off afterwards so the outputs stay
probabilities), AdamW, a fixed number of epochs.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from interaction_recon.contact import data
from interaction_recon.contact.model import ContactMap, ContactNet, ContactNetConfig, gate, save_model


@dataclass
class TrainConfig:
    clips: tuple[str, ...] = (".cache/synth/contact-train",)  # folders searched for clips (meta.json + gt.npz)
    # folders of clips rendered with images: their examples use the real detector's keypoints
    perceived_clips: tuple[str, ...] = (".cache/synth/contact-real",)
    out: str = "out/contacts/contacts.pt"
    holdout_seeds: tuple[int, ...] = (1000, 1008, 2001)
    holdout_kinds: tuple[str, ...] = ()
    looks: int = 2  # noisy looks per clip (every second one mirrored)
    epochs: int = 20
    batch: int = 1024
    lr: float = 1e-3
    weight_decay: float = 1e-4
    pos_weight: float = 10.0  # weight of the rare positive pairs in the loss (undone on the logits after training)
    threshold: float = 0.5  # for the held-out scores
    seed: int = 0
    threads: int = 1
    net: ContactNetConfig = field(default_factory=ContactNetConfig)
    augment: data.Augment = field(default_factory=data.Augment)


def find_clips(roots) -> list[Path]:
    return sorted({p.parent for r in roots for p in Path(r).rglob("meta.json") if (p.parent / "gt.npz").exists()})


def _stack(scenes, rng, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Features [N, 25, 25, C] and labels [N, 25, 25] of the available frames of every look
    (clips rendered with images: the real detector's keypoints)."""
    xs, ys = [], []
    for scene in scenes:
        observed = data.perceived(scene) if scene.meta.get("perceive") else None
        for look in range(cfg.looks):
            x, y, ok = data.examples(scene, rng, cfg.augment, mirror=bool(look % 2), observed=observed)
            xs.append(x[ok])
            ys.append(y[ok])
    return np.concatenate(xs), np.concatenate(ys)


def _pairs(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, ...]:
    """The gated pairs as flat tensors: features [N, C], part indices a, b [N], labels [N]."""
    t, a, b = np.nonzero(gate(x))
    return (torch.as_tensor(x[t, a, b]), torch.as_tensor(a), torch.as_tensor(b),
            torch.as_tensor(y[t, a, b].astype(np.float32)))


def scores(probs: np.ndarray, truth: np.ndarray, threshold: float) -> dict:
    """Frame x part-pair precision, recall, F1 and the share of no-contact frames with any
    pair predicted. probs, truth [N, 25, 25]."""
    pred = probs >= threshold
    truth = truth.astype(bool)
    tp, fp, fn = (pred & truth).sum(), (pred & ~truth).sum(), (~pred & truth).sum()
    p = tp / max(tp + fp, 1)
    r = tp / max(tp + fn, 1)
    none = ~truth.any((1, 2))
    return {"precision": float(p), "recall": float(r), "f1": float(2 * p * r / max(p + r, 1e-9)),
            "false_frames": float(pred[none].any((1, 2)).mean()) if none.any() else float("nan"),
            "frames": int(len(truth)), "contact_frames": int((~none).sum())}


def train(cfg: TrainConfig, progress=print) -> dict:
    from interaction_recon.synth.dataset import load_scene

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    scenes = [load_scene(p) for p in find_clips(cfg.clips)]
    for p in find_clips(cfg.perceived_clips):
        scenes.append(load_scene(p))
        scenes[-1].meta["perceive"] = True
    held = lambda s: s.meta["seed"] in cfg.holdout_seeds or s.kind in cfg.holdout_kinds  # noqa: E731
    train_scenes, test_scenes = [s for s in scenes if not held(s)], [s for s in scenes if held(s)]
    if not train_scenes or not test_scenes:
        raise ValueError(f"need clips to train on and held-out clips; found {len(train_scenes)} and {len(test_scenes)}")
    t0 = time.perf_counter()
    x, y = _stack(train_scenes, rng, cfg)
    xt, yt = _stack(test_scenes, np.random.default_rng(cfg.seed + 1), cfg)
    real = [s for s in test_scenes if s.meta.get("perceive")]  # held out with the real detector's keypoints
    xr, yr = _stack(real, np.random.default_rng(cfg.seed + 2), cfg) if real else (None, None)
    net = ContactNet(cfg.net)
    X, A, B, Y = _pairs(x, y)
    missed = float(1 - Y.sum() / max(y.sum(), 1))  # positives outside the gate
    net.mean.copy_(X.mean(0))
    net.std.copy_(X.std(0) + 1e-3)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs)
    pos_weight = torch.tensor(cfg.pos_weight)
    history = []
    for epoch in range(cfg.epochs):
        net.train()
        net.offset.zero_()
        order = torch.randperm(len(X))
        total = 0.0
        for i in range(0, len(X), cfg.batch):
            idx = order[i:i + cfg.batch]
            logits = net.score(X[idx], A[idx], B[idx])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, Y[idx], pos_weight=pos_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        net.eval()
        net.offset.fill_(-float(np.log(cfg.pos_weight)))  # the weighting's shift of the optimal logit, undone
        probs = ContactMap(net).probabilities(xt)
        held_scores = scores(probs, yt > 0.5, cfg.threshold)
        history.append({"epoch": epoch, "loss": total / len(X), "positives_outside_gate": missed, **held_scores})
        if real:
            history[-1]["perceived"] = scores(ContactMap(net).probabilities(xr), yr, cfg.threshold)
        progress(json.dumps(history[-1]))
    record = {"train_clips": [s.name for s in train_scenes], "heldout_clips": [s.name for s in test_scenes],
              "train_frames": int(len(x)), "train_pairs": int(len(X)), "heldout_frames": int(len(xt)),
              "seconds": round(time.perf_counter() - t0, 1),
              "config": asdict(cfg), "heldout": history[-1], "history": history}
    save_model(net, cfg.out, {"record": {k: v for k, v in record.items() if k != "history"}})
    Path(cfg.out).with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    return record
