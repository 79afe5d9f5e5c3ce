"""The two-person motion denoiser and the motion representation it works in.

Motion x [B, 2, T, D], camera frame (OpenCV: x right, y down, z forward), D = 153:
    [0:144]   global_orient + body_pose as 6D rotations (first two rotation-matrix columns), 24 x 6
    [144:147] translation as (tx / tz, ty / tz, log tz - LOG_DEPTH): image-plane direction and log depth
    [147:153] shape (anny's 6 phenotypes, mapped from [0, 1] to [-1, 1]), repeated over frames

Condition c [B, 2, T, K, 3]: 2D keypoints normalised by the intrinsics ((u - cx) / fx,
(v - cy) / fy) and a confidence (0 = missing), K = 33 BlazePose slots (see guidance.condition).

The denoiser: one token per person and frame; each block attends over the person's own
frames (self-attention), then to the other person's frames (cross-attention), then an MLP.
Both people share every weight and nothing marks who is who, so swapping the people in the
inputs swaps them in the output. It predicts the clean motion x0.

Diffusion runs on standardised features z = (x - feature_mean) / feature_std (statistics of
the training data, kept as buffers in the checkpoint and the ONNX graph), and the network is
preconditioned as in EDM (Karras et al. 2022), variance-preserving form with unit data
spread: z0 = a z_t + s F(z_t, ...) for z_t = a z0 + s eps, so at low noise the prediction
stays close to its input and the network learns corrections. Inputs and outputs of
``Denoiser.forward`` are raw x; diffusion.Diffusion applies the same standardisation.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import roma
import torch
from torch import Tensor, nn

from interaction_recon.body import skeleton
from interaction_recon.body.model import BodyParams, global_rotations
from interaction_recon.prior.diffusion import alpha_bar_at

NUM_ROT = skeleton.NUM_JOINTS  # 24 rotations: global_orient + 23 body joints
NUM_SHAPE = 6
ROT, TRANSL = slice(0, NUM_ROT * 6), slice(NUM_ROT * 6, NUM_ROT * 6 + 3)
SHAPE = slice(NUM_ROT * 6 + 3, NUM_ROT * 6 + 3 + NUM_SHAPE)
MOTION_DIM = NUM_ROT * 6 + 3 + NUM_SHAPE
LOG_DEPTH = math.log(3.5)  # centre of the log-depth feature (metres)
MIN_DEPTH = 0.1


# ---------------------------------------------------------------- motion representation
def encode(params: BodyParams) -> Tensor:
    """Camera-frame BodyParams [P, T] (shape [P, 6]) -> x [P, T, D]."""
    rot = roma.rotvec_to_rotmat(torch.cat([params.global_orient.unsqueeze(-2), params.body_pose], -2))
    rot6d = rot[..., :2].flatten(-2).flatten(-2)  # [P, T, 144]
    t = params.transl
    z = t[..., 2:3].clamp_min(MIN_DEPTH)
    transl = torch.cat([t[..., :2] / z, z.log() - LOG_DEPTH], -1)
    shape = (2 * params.shape - 1)[:, None].expand(-1, t.shape[1], -1)
    return torch.cat([rot6d, transl, shape], -1)


def decode_rotmats(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """x [..., T, D] -> local rotations [..., T, 24, 3, 3], transl [..., T, 3], shape [..., 6]
    (the mean over frames)."""
    rot = roma.special_gramschmidt(x[..., ROT].unflatten(-1, (NUM_ROT, 3, 2)))
    direction, log_z = x[..., TRANSL][..., :2], x[..., TRANSL][..., 2:3]
    z = (log_z + LOG_DEPTH).exp()
    transl = torch.cat([direction * z, z], -1)
    shape = ((x[..., SHAPE].mean(-2) + 1) / 2)
    return rot, transl, shape


def decode(x: Tensor) -> BodyParams:
    """x [P, T, D] -> camera-frame BodyParams [P, T]; x [B, P, T, D] -> a list of B of them."""
    if x.dim() == 4:
        return [decode(xb) for xb in x]
    rot, transl, shape = decode_rotmats(x)
    rotvec = roma.rotmat_to_rotvec(rot)
    return BodyParams(global_orient=rotvec[..., 0, :], body_pose=rotvec[..., 1:, :], transl=transl, shape=shape)


def encode_batch(params: list[BodyParams]) -> Tensor:
    """B BodyParams [P, T] -> x [B, P, T, D]."""
    return torch.stack([encode(p) for p in params])


def joints(x: Tensor, rest_joints: Tensor) -> Tensor:
    """SMPL-24 joints [..., T, 24, 3] of motion x [..., T, D] by forward kinematics on the
    T-pose rest joints [..., 24, 3] of each body (``body.rest(shape).joints[:, 0]``). Equal to
    the anny backend's joints while the collars are unrotated; a collar rotation moves anny's
    collar and arm joints up to ~2 cm differently (its collar joint is the mean of two bones).
    Training compares predictions and targets through this same function."""
    rot, transl, _ = decode_rotmats(x)
    G = global_rotations(rot)
    rest = rest_joints.unsqueeze(-3)  # [..., 1, 24, 3]
    out = [rest[..., 0, :] + transl]
    for j in range(1, skeleton.NUM_JOINTS):
        p = skeleton.SMPL_PARENTS[j]
        out.append(out[p] + (G[..., p, :, :] @ (rest[..., j, :] - rest[..., p, :]).unsqueeze(-1)).squeeze(-1))
    return torch.stack(out, -2)


# ---------------------------------------------------------------- the denoiser
@dataclass
class PriorConfig:
    """Size of the denoiser and of its diffusion process."""

    motion_dim: int = MOTION_DIM
    keypoints: int = 33  # condition slots (BlazePose-33)
    width: int = 128
    depth: int = 4  # blocks
    heads: int = 4
    mlp_ratio: int = 4
    diffusion_steps: int = 100

    def to_dict(self) -> dict:
        return asdict(self)


def sinusoid(positions: Tensor, dim: int) -> Tensor:
    """[...] float positions -> [..., dim] sin/cos features (periods up to 10^4)."""
    freqs = torch.exp(torch.arange(dim // 2, device=positions.device, dtype=torch.float32) * (-math.log(1e4) / (dim // 2)))
    angles = positions.float().unsqueeze(-1) * freqs
    return torch.cat([angles.sin(), angles.cos()], -1)


class Attention(nn.Module):
    """Multi-head attention of queries [N, Tq, W] over keys/values [N, Tk, W]."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q, self.kv, self.out = nn.Linear(width, width), nn.Linear(width, 2 * width), nn.Linear(width, width)

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        split = lambda t: t.unflatten(-1, (self.heads, -1)).transpose(1, 2)  # noqa: E731  [N, H, T, W/H]
        q = split(self.q(x))
        k, v = (split(t) for t in self.kv(context).chunk(2, -1))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1)
        return self.out((weights @ v).transpose(1, 2).flatten(-2))


class Block(nn.Module):
    """Step-modulated self-attention over time, cross-attention to the other person, MLP."""

    def __init__(self, cfg: PriorConfig):
        super().__init__()
        W = cfg.width
        self.step = nn.Linear(W, W)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(W), nn.LayerNorm(W), nn.LayerNorm(W)
        self.self_attn, self.cross_attn = Attention(W, cfg.heads), Attention(W, cfg.heads)
        self.mlp = nn.Sequential(nn.Linear(W, cfg.mlp_ratio * W), nn.GELU(), nn.Linear(cfg.mlp_ratio * W, W))

    def forward(self, h: Tensor, step: Tensor) -> Tensor:
        """h [B, 2, T, W], step embedding [B, W]."""
        B, P, T, W = h.shape
        h = h + self.step(step)[:, None, None]
        flat = self.norm1(h).reshape(B * P, T, W)
        h = h + self.self_attn(flat, flat).reshape(B, P, T, W)
        n = self.norm2(h)
        h = h + self.cross_attn(n.reshape(B * P, T, W), n.flip(1).reshape(B * P, T, W)).reshape(B, P, T, W)
        return h + self.mlp(self.norm3(h))


class Denoiser(nn.Module):
    """x_t [B, 2, T, D], diffusion level [B], condition [B, 2, T, K, 3] -> x0 [B, 2, T, D]."""

    def __init__(self, cfg: PriorConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or PriorConfig()
        W = cfg.width
        self.motion_in = nn.Linear(cfg.motion_dim, W)
        self.cond_in = nn.Sequential(nn.Linear(3 * cfg.keypoints, W), nn.GELU(), nn.Linear(W, W))
        self.step_mlp = nn.Sequential(nn.Linear(W, W), nn.GELU(), nn.Linear(W, W))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(W)
        self.head = nn.Linear(W, cfg.motion_dim)
        self.register_buffer("feature_mean", torch.zeros(cfg.motion_dim))
        self.register_buffer("feature_std", torch.ones(cfg.motion_dim))

    @torch.no_grad()
    def set_statistics(self, x: Tensor, floor: float = 0.02) -> None:
        """Standardisation from training motions x [..., D] (std floored at ``floor``)."""
        flat = x.reshape(-1, x.shape[-1])
        self.feature_mean.copy_(flat.mean(0))
        self.feature_std.copy_(flat.std(0).clamp_min(floor))

    def forward(self, x_t: Tensor, step: Tensor, cond: Tensor) -> Tensor:
        T, W = x_t.shape[2], self.cfg.width
        ab = alpha_bar_at(step.float(), self.cfg.diffusion_steps).view(-1, 1, 1, 1)
        z_t = (x_t - self.feature_mean) / self.feature_std
        conf = cond[..., 2:]
        cond = torch.cat([cond[..., :2] * (conf > 0).to(cond.dtype), conf], -1).flatten(-2)  # missing points carry no position
        h = self.motion_in(z_t) + self.cond_in(cond) + sinusoid(torch.arange(T, device=x_t.device), W)
        s = self.step_mlp(sinusoid(step, W))
        for block in self.blocks:
            h = block(h, s)
        z0 = ab.sqrt() * z_t + (1 - ab).sqrt() * self.head(self.norm(h))
        return self.feature_mean + self.feature_std * z0

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
