"""The prior inside the window optimiser, in its two modes.

    prior = load_prior()                                  # the shipped default checkpoint
    cond = condition(keypoints, confidence, K, "blazepose33")   # [2, T, 33, 3]

    # BUDDI-style: a regulariser added to the fitting loss
    reg = PriorRegulariser(prior)
    loss = fitting_loss(params) + w * reg(params, cond)

    # CloseApp-style: the motion is the network's output; optimise the network's weights
    motion = PriorMotion(prior, cond, init_params)
    opt = torch.optim.Adam(motion.parameters(), lr=2e-5)
    params = motion()                                     # BodyParams [2, T], differentiable

    init = sample_motion(prior, cond)                     # the prior's motion from 2D alone

Both work on camera-frame BodyParams with anny's 6 shape phenotypes.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from interaction_recon.body import skeleton
from interaction_recon.body.model import BodyParams
from interaction_recon.prior.diffusion import Diffusion
from interaction_recon.prior.model import MOTION_DIM, NUM_SHAPE, Denoiser, PriorConfig, decode, encode

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "default.pt"


def load_prior(path: str | Path | None = None, device: str | torch.device = "cpu") -> Denoiser:
    """The denoiser of a checkpoint (default: the shipped one), float32, in eval mode.
    Reads both the shippable form (train.save_weights) and a training ``last.pt``."""
    path = Path(path) if path is not None else DEFAULT_CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"prior checkpoint {path} not found; train one with `interaction-recon train-prior` "
                                f"(and copy its prior.pt there) or pass the path of yours")
    ckpt = torch.load(path, map_location=device, weights_only=False)
    config = ckpt["config"].get("model", ckpt["config"]) if "optimizer" in ckpt else ckpt["config"]
    net = Denoiser(PriorConfig(**config))
    net.load_state_dict({k: v.float() for k, v in ckpt["model"].items()})
    return net.to(device).eval()


def condition(keypoints, confidence, K, layout: str = "blazepose33") -> Tensor:
    """Pixel keypoints [2, T, N, 2] (NaN = missing) with confidence [2, T, N] and intrinsics
    K [3, 3] -> the prior's condition [2, T, 33, 3]: ((u - cx) / fx, (v - cy) / fy, confidence).

    Layouts other than BlazePose-33 go into the BlazePose slots of the same name with
    confidence 0 elsewhere: all 17 COCO points have a slot; of SMPL-24 the shoulders,
    elbows, wrists, hips, knees and ankles do (SMPL's hip joints sit inside the body, a few
    cm from BlazePose's hip landmarks). Training drops the non-COCO slots in 15 % of windows.
    """
    kp = torch.as_tensor(np.asarray(keypoints), dtype=torch.float32)
    conf = torch.as_tensor(np.asarray(confidence), dtype=torch.float32)
    K = torch.as_tensor(np.asarray(K), dtype=torch.float32)
    names = skeleton.layout_names(layout)
    if kp.shape[-2] != len(names) or conf.shape != kp.shape[:-1]:
        raise ValueError(f"{layout} keypoints must be [2, T, {len(names)}, 2] with confidence [2, T, {len(names)}], "
                         f"got {tuple(kp.shape)} and {tuple(conf.shape)}")
    ok = torch.isfinite(kp).all(-1) & torch.isfinite(conf) & (conf > 0)
    uv = (torch.nan_to_num(kp) - K[:2, 2]) / torch.stack([K[0, 0], K[1, 1]])
    values = torch.cat([uv, conf[..., None]], -1) * ok[..., None]
    out = kp.new_zeros(*kp.shape[:-2], len(skeleton.BLAZEPOSE33), 3)
    pairs = [(i, skeleton.BLAZEPOSE33.index(n)) for i, n in enumerate(names) if n in skeleton.BLAZEPOSE33]
    out[..., [s for _, s in pairs], :] = values[..., [i for i, _ in pairs], :]
    return out


def _check_shape(params: BodyParams) -> None:
    if params.shape.shape[-1] != NUM_SHAPE:
        raise ValueError(f"the prior models anny's {NUM_SHAPE} shape phenotypes; got shape {tuple(params.shape.shape)}")


class PriorRegulariser:
    """BUDDI-style diffuse-and-denoise: ``(params [2, T], cond [2, T, 33, 3]) -> scalar``.

    Encodes the current motion, noises it to a level drawn from ``levels`` (fractions of the
    diffusion steps), denoises it without gradients through the network and returns the mean
    squared distance of the two in standardised features: its gradient pulls the motion
    toward what the prior would make of it. ``model``: a Denoiser or a runtime with the same
    call, ``cfg`` and statistics (export.OnnxPrior, tensorrt_runtime.TensorRTPrior).
    """

    def __init__(self, model, levels: tuple[float, float] = (0.05, 0.3), generator: torch.Generator | None = None):
        self.model = model
        self.diffusion = Diffusion.for_model(model)
        self.levels = levels
        self.generator = generator

    def denoised(self, x: Tensor, cond: Tensor) -> Tensor:
        """x [1, 2, T, D] -> the prior's x0 from a random noise level (no gradient)."""
        lo, hi = (max(1, round(f * self.diffusion.steps)) for f in self.levels)
        step = torch.randint(lo, hi + 1, (1,), generator=self.generator)
        noise = torch.randn(x.shape, generator=self.generator).to(x.device)
        with torch.no_grad():
            return self.model(self.diffusion.q_sample(x.detach(), step.to(x.device), noise), step.to(x.device), cond[None])

    def __call__(self, params: BodyParams, cond: Tensor) -> Tensor:
        _check_shape(params)
        x = encode(params)[None]
        d = self.diffusion
        return (d.to_z(x) - d.to_z(self.denoised(x, cond.to(x)))).pow(2).mean()


class PriorMotion(nn.Module):
    """CloseApp-style motion branch: ``forward() -> BodyParams [2, T]``, the network's x0
    prediction from ``init`` noised to ``level`` (fixed noise), through ``strides`` DDIM
    calls. The network is a private copy whose weights are the trainable parameters
    (optimise them with a small learning rate under the fitting losses). ``state_dict``
    holds only those weights, so a later window can ``load_state_dict`` an earlier one's
    fine-tuned state while keeping its own condition and start.
    """

    def __init__(self, model: Denoiser, cond: Tensor, init: BodyParams, level: float = 0.2, strides: int = 1,
                 seed: int = 0, smooth: float = 1.5):
        super().__init__()
        _check_shape(init)
        self.net = copy.deepcopy(model).train()
        self.net.requires_grad_(True)
        self.diffusion = Diffusion.for_model(model)
        self.start, self.strides = max(1, round(level * self.diffusion.steps)), strides
        x = encode(init.map(lambda t: t.detach())).float()[None]
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("x_init", x, persistent=False)
        self.register_buffer("cond", cond.to(x)[None], persistent=False)
        self.register_buffer("noise", torch.randn(x.shape, generator=g).to(x), persistent=False)
        self.register_buffer("kernel", gaussian_kernel(smooth).to(x), persistent=False)

    def forward(self) -> BodyParams:
        x0 = self.diffusion.sample(self.net, self.cond, x_start=self.x_init, start=self.start,
                                   strides=self.strides, noise=self.noise)
        return decode(smooth_time(x0[0], self.kernel))


def gaussian_kernel(sigma: float) -> Tensor:
    """Normalised Gaussian taps [2 * ceil(2 sigma) + 1] (``[1.]`` for sigma 0)."""
    half = int(np.ceil(2 * sigma))
    t = torch.arange(-half, half + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / max(sigma, 1e-6)) ** 2)
    return k / k.sum()


def smooth_time(x: Tensor, kernel: Tensor) -> Tensor:
    """Low-pass ``x`` [P, T, D] along time with ``kernel`` (edges replicated): the network
    predicts each frame on its own, and its frame-to-frame jitter would read as acceleration."""
    half = len(kernel) // 2
    if half == 0 or x.shape[1] < 2:
        return x
    P, T, D = x.shape
    padded = torch.nn.functional.pad(x.permute(0, 2, 1).reshape(P * D, 1, T), (half, half), mode="replicate")
    return torch.nn.functional.conv1d(padded, kernel.view(1, 1, -1)).view(P, D, T).permute(0, 2, 1)


@torch.no_grad()
def sample_motion(model, cond: Tensor, strides: int = 1, seed: int = 0, init: BodyParams | None = None,
                  level: float = 1.0) -> BodyParams:
    """What the prior makes of the observations cond [2, T, 33, 3]: DDIM from pure noise, or
    from ``init`` noised to ``level`` (a fraction of the diffusion steps). -> BodyParams [2, T].
    The default single call from pure noise is the mean (MMSE) estimate; with the shipped
    checkpoint more strides give sharper but less accurate motions (benchmarks/prior.py)."""
    diffusion = Diffusion.for_model(model)
    shape = (1, 2, cond.shape[1], MOTION_DIM)
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(cond.device)
    x_start = None if init is None else encode(init)[None].to(cond)
    start = diffusion.steps if init is None else max(1, round(level * diffusion.steps))
    return decode(diffusion.sample(model, cond[None], shape, x_start, start, strides, noise)[0])
