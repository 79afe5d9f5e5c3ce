"""Splatting of 3D Gaussians into a pinhole camera: one entry point, two backends.

    image, alpha, meta = rasterize(means, quats, scales, opacities, colors, K, W, H)

``backend="torch"`` is the pure-PyTorch reference (CPU or CUDA tensors, differentiable by
autograd) and the spec; ``backend="gsplat"`` calls ``gsplat.rasterization`` (CUDA only,
imported lazily); ``"auto"`` picks gsplat for CUDA tensors when it imports.

The spec (gsplat's "classic" mode, which the reference reproduces exactly):
- Gaussians are in the OpenCV camera frame (x right, y down, z forward); quats are (w, x, y, z)
  and need not be normalised; the covariance is R diag(s)^2 R^T.
- EWA projection with gsplat's clamped Jacobian; the 2D covariance gets ``eps2d`` on its
  diagonal. Pixel (row i, column j) is sampled at its centre (j + 0.5, i + 0.5).
- alpha = min(0.999, o exp(-sigma)), sigma = d^T conic d / 2; skipped when alpha < 1/255.
- Front-to-back over the depth (mean z) order; a Gaussian that would bring the
  transmittance to <= 1e-4 ends the pixel, with it. Gaussians at z <= ``near`` are dropped.
- Output: colours sum(w_i c_i) + (1 - alpha) background, alpha = sum(w_i).
The reference pairs each Gaussian with the pixels inside the radius where its alpha falls to
1/255 (so this culling changes nothing), sorts the pairs by pixel and depth and composites each
pixel's run; gsplat culls per 16x16 tile with a 3-sigma radius, a difference of at most a few
1/255 per Gaussian at its fringe.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.999
T_MIN = 1e-4
TILE = 16  # gsplat tile size
CHUNK = 1 << 20  # (pixel, Gaussian) pairs composited per pass of the reference


class Splats(NamedTuple):
    """image [H, W, C], alpha [H, W], meta (backend details: ``backend``, ``pairs`` ...)."""

    image: Tensor
    alpha: Tensor
    meta: dict


def quat_to_rotmat(quats: Tensor) -> Tensor:
    """(w, x, y, z) quaternions [..., 4] (any norm) -> rotation matrices [..., 3, 3]."""
    w, x, y, z = F.normalize(quats, dim=-1).unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], -1).unflatten(-1, (3, 3))


def project(means: Tensor, quats: Tensor, scales: Tensor, K: Tensor, width: int, height: int,
            eps2d: float = 0.3, near: float = 0.01) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """EWA projection. Returns means2d [N, 2] (pixels), conics [N, 3] (a, b, c of the inverse
    2D covariance [[a, b], [b, c]]), largest 2D variance [N] and valid [N] (beyond ``near``,
    non-degenerate)."""
    valid = means[:, 2] > near
    z = torch.where(valid, means[:, 2], torch.ones_like(means[:, 2]))  # no inf gradients off-camera
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    u, v = means[:, 0] / z, means[:, 1] / z
    lim_x = 0.3 * 0.5 * width / fx
    lim_y = 0.3 * 0.5 * height / fy
    tx = z * torch.minimum(torch.maximum(u, -cx / fx - lim_x), (width - cx) / fx + lim_x)
    ty = z * torch.minimum(torch.maximum(v, -cy / fy - lim_y), (height - cy) / fy + lim_y)
    zero = torch.zeros_like(z)
    J = torch.stack([fx / z, zero, -fx * tx / (z * z), zero, fy / z, -fy * ty / (z * z)], -1).view(-1, 2, 3)
    M = quat_to_rotmat(quats) * scales[:, None, :]
    JM = J @ M
    cov = JM @ JM.transpose(1, 2)
    c00, c01, c11 = cov[:, 0, 0] + eps2d, cov[:, 0, 1], cov[:, 1, 1] + eps2d
    det = c00 * c11 - c01 * c01
    valid = valid & (det > 0)
    det = torch.where(valid, det, torch.ones_like(det))
    conics = torch.stack([c11 / det, -c01 / det, c00 / det], -1)
    half = 0.5 * (c00 + c11)
    lam = half + torch.sqrt((half * half - det).clamp_min(0.0))
    means2d = torch.stack([fx * u + cx, fy * v + cy], -1)
    return means2d, conics, lam, valid


def rasterize(means: Tensor, quats: Tensor, scales: Tensor, opacities: Tensor, colors: Tensor,
              K: Tensor, width: int, height: int, backend: str = "auto", background: Tensor | None = None,
              eps2d: float = 0.3, near: float = 0.01) -> Splats:
    """Render N camera-frame Gaussians into a width x height image.

    means [N, 3], quats [N, 4] (w, x, y, z), scales [N, 3] (std-devs, metres), opacities [N]
    in [0, 1], colors [N, C] (any channels: RGB, identity one-hots, ...), K [3, 3],
    background [C] or None (zeros). Returns :class:`Splats` (image [H, W, C], alpha [H, W], meta).
    """
    if backend == "auto":
        backend = "gsplat" if means.is_cuda and _gsplat_available() else "torch"
    if backend == "torch":
        return _rasterize_torch(means, quats, scales, opacities, colors, K, width, height, background, eps2d, near)
    if backend == "gsplat":
        return _rasterize_gsplat(means, quats, scales, opacities, colors, K, width, height, background, eps2d, near)
    raise ValueError(f"unknown rasterizer backend {backend!r}; choose 'auto', 'torch' or 'gsplat'")


def _gsplat_available() -> bool:
    try:
        import gsplat  # noqa: F401
    except ImportError:
        return False
    return True


def _rasterize_gsplat(means, quats, scales, opacities, colors, K, width, height, background, eps2d, near) -> Splats:
    """gsplat.rasterization on CUDA, identity view matrix (the Gaussians are in camera frame)."""
    if not means.is_cuda:
        raise ValueError("the gsplat backend needs CUDA tensors (gsplat cannot render on CPU)")
    import gsplat

    viewmat = torch.eye(4, device=means.device, dtype=means.dtype)[None]
    bg = None if background is None else background.to(colors)[None]
    image, alpha, meta = gsplat.rasterization(
        means, quats, scales, opacities, colors, viewmat, K.to(means)[None], width, height,
        near_plane=near, eps2d=eps2d, tile_size=TILE, backgrounds=bg, packed=False, rasterize_mode="classic")
    return Splats(image[0], alpha[0, ..., 0], {"backend": "gsplat", **meta})


def _pixel_pairs(means2d: Tensor, radius: Tensor, depth: Tensor, keep: Tensor, width: int, height: int):
    """(pixel, Gaussian) pairs, pixel centres within ``radius`` of the mean along both axes,
    sorted by pixel then depth (ties by index): pixel [P] (row-major), gaussian [P]."""
    ids = torch.nonzero(keep).squeeze(1)
    m, r = means2d[ids], radius[ids, None]
    lo = torch.ceil(m - r - 0.5).long()
    hi = torch.floor(m + r - 0.5).long()
    lo[:, 0].clamp_(0, width), lo[:, 1].clamp_(0, height)
    hi[:, 0].clamp_(-1, width - 1), hi[:, 1].clamp_(-1, height - 1)
    nx, ny = (hi[:, 0] - lo[:, 0] + 1).clamp_min(0), (hi[:, 1] - lo[:, 1] + 1).clamp_min(0)
    counts = nx * ny
    owner = torch.repeat_interleave(torch.arange(len(ids), device=ids.device), counts)
    rank = torch.arange(len(owner), device=ids.device) - (torch.cumsum(counts, 0) - counts)[owner]
    pixel = (lo[owner, 1] + rank // nx[owner]) * width + lo[owner, 0] + rank % nx[owner]
    depth_rank = torch.empty_like(ids)
    depth_rank[torch.argsort(depth[ids], stable=True)] = torch.arange(len(ids), device=ids.device)
    order = torch.argsort(pixel * max(len(ids), 1) + depth_rank[owner])
    return pixel[order], ids[owner[order]]


def _composite(pixel: Tensor, gauss: Tensor, means2d: Tensor, conics: Tensor, opacities: Tensor,
               colors: Tensor, width: int, height: int) -> Tensor:
    """Front-to-back compositing of sorted pairs (one run of pairs per pixel) -> [H*W, C+1]
    (colour channels, then alpha). Transmittance is a per-pixel exclusive cumulative product,
    taken as a float64 cumulative sum of log(1 - alpha) restarted at each pixel's first pair."""
    centre = torch.stack([pixel % width, pixel // width], -1).to(means2d) + 0.5
    d = centre - means2d[gauss]
    a, b, c = conics[gauss].unbind(-1)
    sigma = 0.5 * (a * d[:, 0] ** 2 + c * d[:, 1] ** 2) + b * d[:, 0] * d[:, 1]
    alpha = torch.clamp_max(opacities[gauss] * torch.exp(-sigma), ALPHA_MAX)
    alpha = torch.where((sigma >= 0) & (alpha >= ALPHA_MIN), alpha, torch.zeros_like(alpha))
    log_t = torch.log1p(-alpha).double()
    before = torch.cumsum(log_t, 0) - log_t  # exclusive, over all pairs
    first = torch.ones_like(pixel, dtype=torch.bool)
    first[1:] = pixel[1:] != pixel[:-1]
    run = torch.cumsum(first, 0) - 1
    trans = torch.exp(before - before[first][run]).to(alpha)  # transmittance before each pair
    weight = torch.where(trans * (1.0 - alpha) > T_MIN, alpha * trans, torch.zeros_like(alpha))
    values = torch.cat([colors[gauss], torch.ones_like(alpha)[:, None]], 1) * weight[:, None]
    return values.new_zeros(height * width, values.shape[1]).index_add(0, pixel, values)


def _chunks(pixel: Tensor) -> list[tuple[int, int]]:
    """[start, end) ranges of at most about CHUNK pairs that never split a pixel's run."""
    if len(pixel) <= CHUNK:
        return [(0, len(pixel))]
    cuts = [0]
    while len(pixel) - cuts[-1] > CHUNK:
        nxt = cuts[-1] + CHUNK
        nxt = int(torch.searchsorted(pixel, pixel[nxt]))  # back to the start of that pixel's run
        cuts.append(nxt if nxt > cuts[-1] else int(torch.searchsorted(pixel, pixel[cuts[-1]], right=True)))
    return list(zip(cuts, cuts[1:] + [len(pixel)]))


def _rasterize_torch(means, quats, scales, opacities, colors, K, width, height, background, eps2d, near) -> Splats:
    """The reference: sparse (pixel, Gaussian) pairs, composited per pixel; more than CHUNK pairs
    are composited in pixel-aligned chunks under activation checkpointing (bounded memory)."""
    K = K.to(means)
    means2d, conics, lam, valid = project(means, quats, scales, K, width, height, eps2d, near)
    with torch.no_grad():
        reach = torch.log(opacities.detach() / ALPHA_MIN).clamp_min(0.0)  # sigma where alpha = 1/255
        radius = torch.sqrt(2.0 * reach * lam)
        keep = valid & (reach > 0)
        pixel, gauss = _pixel_pairs(means2d.detach(), radius, means[:, 2].detach(), keep, width, height)
    ranges = _chunks(pixel)
    args = (means2d, conics, opacities, colors, width, height)
    if len(ranges) == 1:
        out = _composite(pixel, gauss, *args)
    else:
        out = sum(checkpoint(_composite, pixel[s:e], gauss[s:e], *args, use_reentrant=False) for s, e in ranges)
    out = out.view(height, width, -1)
    image, alpha = out[..., :-1], out[..., -1]
    if background is not None:
        image = image + (1.0 - alpha)[..., None] * background.to(image)
    return Splats(image, alpha, {"backend": "torch", "pairs": len(pixel), "chunks": len(ranges),
                                 "means2d": means2d, "radius": radius})
