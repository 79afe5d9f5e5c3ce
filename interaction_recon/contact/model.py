"""The learned contact map: a small MLP from one frame's features to a probability for every
(person 0 part, person 1 part) pair, and the runtimes that evaluate it.

    net = load_model()                          # the shipped checkpoint (or a user's path)
    probs = ContactMap(net).probabilities(x)    # x [T, 25, 25, NUM_CHANNELS] -> [T, 25, 25]

One small MLP scores every part pair from that pair's features and two learned part
embeddings (weights shared by all 625 pairs, so a pair seldom in contact in the training
clips still learns from the geometry of the others).

:class:`ContactMap` asks the network both ways round (the people's order carries no meaning)
and averages; it runs the PyTorch module or, with ``runtime="onnx"``, the same network
exported to ONNX under onnxruntime (CUDA provider first where installed).
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from interaction_recon.contact.features import NUM_CHANNELS, NUM_PARTS, SWAP_CHANNELS
from interaction_recon.paths import weights_cache

log = logging.getLogger(__name__)
DEFAULT_CHECKPOINT = Path(__file__).parent / "checkpoints" / "default.pt"
GATE_2D = 1.0  # torso heights


@dataclass
class ContactNetConfig:
    hidden: int = 64
    layers: int = 2
    embedding: int = 8  # per-part embedding size (one table for person 0's parts, one for person 1's)
    dropout: float = 0.0


class ContactNet(nn.Module):
    """x [B, 25, 25, NUM_CHANNELS] -> logits [B, 25, 25] (person 0's part, person 1's part).
    The input standardisation (``mean``, ``std`` buffers, from the training data) is part of the net."""

    def __init__(self, cfg: ContactNetConfig | None = None):
        super().__init__()
        self.cfg = cfg or ContactNetConfig()
        self.register_buffer("mean", torch.zeros(NUM_CHANNELS))
        self.register_buffer("std", torch.ones(NUM_CHANNELS))
        self.register_buffer("offset", torch.zeros(()))  # added to the logits (training's class weighting undone)
        self.part_a = nn.Parameter(0.1 * torch.randn(NUM_PARTS, self.cfg.embedding))
        self.part_b = nn.Parameter(0.1 * torch.randn(NUM_PARTS, self.cfg.embedding))
        layers, width = [], NUM_CHANNELS + 2 * self.cfg.embedding
        for _ in range(self.cfg.layers):
            layers += [nn.Linear(width, self.cfg.hidden), nn.GELU(), nn.Dropout(self.cfg.dropout)]
            width = self.cfg.hidden
        self.body = nn.Sequential(*layers, nn.Linear(width, 1))

    def score(self, x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Logits [...] of pairs with features x [..., NUM_CHANNELS] and part indices a, b [...]."""
        ea, eb = self.part_a[a], self.part_b[b]
        h = torch.cat([(x - self.mean) / self.std, ea.expand(x.shape[:-1] + ea.shape[-1:]),
                       eb.expand(x.shape[:-1] + eb.shape[-1:])], -1)
        return self.body(h)[..., 0] + self.offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Every pair of every frame; pairs outside the gate (:func:`gate`) get -inf-like logits."""
        a = torch.arange(NUM_PARTS, device=x.device)
        logits = self.score(x, a[:, None].expand(NUM_PARTS, NUM_PARTS), a[None].expand(NUM_PARTS, NUM_PARTS))
        return torch.where(gate(x), logits, torch.full_like(logits, -30.0))


def gate(x):
    """[...] bool: pairs near enough in the image to be scored at all (within GATE_2D torso
    heights); the rest are taken as not touching. x [..., NUM_CHANNELS] (torch or numpy)."""
    return x[..., 0] < GATE_2D


def save_model(net: ContactNet, path: str | Path, extra: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(net.cfg), "state": net.state_dict(), **(extra or {})}, path)
    return path


def load_model(path: str | Path | None = None) -> ContactNet:
    """The network of a checkpoint written by :func:`save_model` (default: the shipped one)."""
    path = Path(path) if path else DEFAULT_CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"contact checkpoint {path} not found (train one: interaction-recon train-contacts)")
    data = torch.load(path, map_location="cpu", weights_only=False)
    net = ContactNet(ContactNetConfig(**data["config"]))
    net.load_state_dict(data["state"])
    return net.eval()


def export_onnx(net: ContactNet, path: str | Path, opset: int = 17) -> Path:
    """Write the network as ONNX (dynamic frame count)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(net.eval(), (torch.zeros(4, NUM_PARTS, NUM_PARTS, NUM_CHANNELS),), str(path), input_names=["features"],
                      output_names=["logits"], dynamic_axes={"features": {0: "frames"}, "logits": {0: "frames"}},
                      opset_version=opset, dynamo=False)
    return path


def swap_people(x: np.ndarray) -> np.ndarray:
    """Features [T, 25, 25, NUM_CHANNELS] of the same frames with the two people's order exchanged."""
    return x.transpose(0, 2, 1, 3)[..., SWAP_CHANNELS]


class ContactMap:
    """Probabilities [T, 25, 25] from features [T, 25, 25, NUM_CHANNELS], with the PyTorch network or
    its ONNX export (``runtime``: "torch" | "onnx"; ``onnx_path``: where the export is kept)."""

    def __init__(self, net: ContactNet, runtime: str = "torch", onnx_path: str | Path | None = None,
                 providers: list[str] | None = None):
        if runtime not in ("torch", "onnx"):
            raise ValueError(f"contact runtime must be torch or onnx, got {runtime!r}")
        self.net, self.runtime, self.session = net.eval(), runtime, None
        if runtime == "onnx":
            import onnxruntime as ort

            path = Path(onnx_path) if onnx_path else weights_cache("contacts", net)
            if not path.exists():
                export_onnx(net, path)
            available = ort.get_available_providers()
            wanted = providers or ["CUDAExecutionProvider", "CPUExecutionProvider"]
            self.session = ort.InferenceSession(str(path), providers=[p for p in wanted if p in available])
            log.info("contact map on onnxruntime (%s)", self.session.get_providers()[0])

    def _logits(self, x: np.ndarray) -> np.ndarray:
        if self.session is not None:
            return self.session.run(["logits"], {"features": x.astype(np.float32)})[0]
        with torch.no_grad():
            return self.net(torch.as_tensor(x, dtype=torch.float32)).numpy()

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """[T, 25, 25]: the mean of the two orders' sigmoid outputs."""
        if len(x) == 0:
            return np.zeros((0, NUM_PARTS, NUM_PARTS), np.float32)
        both = self._logits(np.concatenate([x, swap_people(x)]))
        sig = 1.0 / (1.0 + np.exp(-np.clip(both, -60, 60)))
        return (0.5 * (sig[: len(x)] + sig[len(x):].transpose(0, 2, 1))).astype(np.float32)
