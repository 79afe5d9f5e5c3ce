"""Gaussian diffusion over motions x [B, 2, T, D] with an x0-predicting denoiser.

The process runs on standardised features z = (x - mean) / std (the denoiser's
``feature_mean`` / ``feature_std``): z_t = a z0 + s eps with a^2 = alpha_bar(t), s^2 = 1 - a^2,
cosine schedule (Nichol & Dhariwal) over ``steps`` levels. Inputs and outputs here are raw x.
``q_sample`` noises clean motions; ``sample`` runs deterministic DDIM from a level down to 0
in a few strides, from pure noise or from a noised starting motion (SDEdit-style). Nothing
here wraps ``torch.no_grad``: callers decide whether gradients flow (guidance.PriorMotion
needs them).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def alpha_bar_at(step: Tensor, steps: int, s: float = 0.008) -> Tensor:
    """Cosine schedule: cumulative signal share alpha_bar of (float) levels step in 0..steps."""
    f = lambda u: torch.cos((u + s) / (1 + s) * (math.pi / 2)) ** 2  # noqa: E731
    return (f(step / steps) / f(torch.zeros((), dtype=step.dtype))).clamp(1e-5, 1.0)


def cosine_alpha_bar(steps: int) -> Tensor:
    """[steps + 1] alpha_bar(t), t = 0 (clean) .. steps (pure noise)."""
    return alpha_bar_at(torch.arange(steps + 1, dtype=torch.float64), steps).float()


class Diffusion:
    """The forward process and a DDIM sampler for a denoiser ``model(x_t, step, cond) -> x0``.
    mean, std [D]: the feature standardisation (default none)."""

    def __init__(self, steps: int, mean: Tensor | None = None, std: Tensor | None = None):
        self.steps = steps
        self.alpha_bar = cosine_alpha_bar(steps)
        self.mean = torch.zeros(()) if mean is None else mean.detach()
        self.std = torch.ones(()) if std is None else std.detach()

    @classmethod
    def for_model(cls, model) -> "Diffusion":
        """The process a denoiser (or a runtime exposing ``cfg`` and the statistics) was trained with."""
        return cls(model.cfg.diffusion_steps, model.feature_mean, model.feature_std)

    def to_z(self, x: Tensor) -> Tensor:
        return (x - self.mean.to(x)) / self.std.to(x)

    def from_z(self, z: Tensor) -> Tensor:
        return self.mean.to(z) + self.std.to(z) * z

    def _ab(self, step: Tensor, like: Tensor) -> Tensor:
        return self.alpha_bar.to(like.device)[step].view(-1, *([1] * (like.dim() - 1)))

    def q_sample(self, x0: Tensor, step: Tensor, noise: Tensor | None = None) -> Tensor:
        """x0 [B, ...] noised to levels step [B] (ints in 1..steps); noise in standardised units."""
        noise = torch.randn_like(x0) if noise is None else noise
        ab = self._ab(step, x0)
        return self.from_z(ab.sqrt() * self.to_z(x0) + (1 - ab).sqrt() * noise)

    def sample(self, model, cond: Tensor, shape: tuple | None = None, x_start: Tensor | None = None,
               start: int | None = None, strides: int = 10, noise: Tensor | None = None) -> Tensor:
        """DDIM (eta = 0) from level ``start`` (default: all ``steps``) to a clean x0.

        cond [B, 2, T, K, 3]. Either ``shape`` (start from pure noise) or ``x_start``
        [B, 2, T, D] (noised to ``start`` with ``noise``, default fresh). ``strides``: network
        calls. Returns the last x0 prediction [B, 2, T, D].
        """
        start = self.steps if start is None else start
        levels = torch.linspace(start, 0, strides + 1).round().long().unique_consecutive()
        eps = noise if noise is not None else torch.randn(shape if x_start is None else x_start.shape, device=cond.device)
        x = self.from_z(eps) if x_start is None else self.q_sample(x_start, levels[:1].expand(x_start.shape[0]), eps)
        x0 = x
        for now, nxt in zip(levels[:-1], levels[1:]):
            x0 = model(x, now.expand(x.shape[0]).to(x.device), cond)
            ab, ab_next = self.alpha_bar[now], self.alpha_bar[nxt]
            z, z0 = self.to_z(x), self.to_z(x0)
            eps = (z - ab.sqrt() * z0) / (1 - ab).sqrt()
            x = self.from_z(ab_next.sqrt() * z0 + (1 - ab_next).sqrt() * eps)
        return x0
