"""Vectorised z-buffer triangle rasterizer in PyTorch (CPU or CUDA tensors).

Every kept triangle enumerates candidate pixels in one flat tensor (``repeat_interleave``
over per-triangle counts, in chunks of bounded size): small triangles their whole integer
bounding box, large ones each row's span between its edge crossings. Candidates are tested
with affine edge functions and resolves visibility with ``scatter_reduce("amin")``
on an int64 key ``float32 depth bits << 32 | face id``: nearest wins, exact depth ties go to the
lower face id. Pixel centres sit at integer + 0.5. Both windings are drawn (no culling);
triangles with any vertex nearer than ``NEAR`` are dropped, nothing else is clipped.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from interaction_recon.render.camera import project

NEAR = 0.01  # metres
INSIDE_EPS = 1e-6  # barycentric slack so shared edges leave no cracks
CHUNK = 1 << 20  # candidate pixels per pass (bounds memory)
SMALL_BOX = 64  # boxes up to this many pixels are enumerated whole, larger ones row by row
_EMPTY = torch.iinfo(torch.int64).max


@dataclass
class Fragments:
    """The visible surface of every pixel.

    face:  [H, W] long, index into the faces (-1 = empty).
    depth: [H, W] float, camera z in metres (inf = empty).
    bary:  [H, W, 3] float, perspective-correct barycentrics of ``face`` (0 where empty).
    """

    face: Tensor
    depth: Tensor
    bary: Tensor


@dataclass
class _Triangles:
    """Kept triangles: ids [N], box origin x0/y0 [N], box size w/h [N], coef [N, 4, 3].

    coef rows are the three screen-space barycentrics and 1/z, each an affine function
    ``A * ox + B * oy + C`` of the pixel's offset (ox, oy) from the box origin.
    """

    ids: Tensor
    x0: Tensor
    y0: Tensor
    w: Tensor
    h: Tensor
    coef: Tensor
    inv_z: Tensor  # [N, 3] 1 / vertex depth


def _setup(vertices_cam: Tensor, faces: Tensor, K: Tensor, height: int, width: int) -> _Triangles:
    """Drop near/degenerate/off-screen triangles; compute boxes and edge-function planes."""
    v = vertices_cam.double()
    ids = torch.nonzero((v[faces, 2] >= NEAR).all(1)).squeeze(1)
    tri_v = v[faces[ids]]  # [N, 3, 3]
    uv = project(tri_v, K.double())  # [N, 3, 2]
    lo, hi = uv.amin(1), uv.amax(1)
    x0 = torch.ceil(lo[:, 0] - 0.5).clamp_min(0)
    y0 = torch.ceil(lo[:, 1] - 0.5).clamp_min(0)
    x1 = torch.floor(hi[:, 0] - 0.5).clamp_max(width - 1)
    y1 = torch.floor(hi[:, 1] - 0.5).clamp_max(height - 1)
    nxt, prv = uv.roll(-1, 1), uv.roll(1, 1)  # vertex j = i+1, k = i+2 (cyclic)
    area = ((uv[:, 1, 0] - uv[:, 0, 0]) * (uv[:, 2, 1] - uv[:, 0, 1])
            - (uv[:, 1, 1] - uv[:, 0, 1]) * (uv[:, 2, 0] - uv[:, 0, 0]))  # [N] signed, 2x
    keep = (x1 >= x0) & (y1 >= y0) & (area.abs() > 1e-12) & torch.isfinite(area)
    ids, uv, nxt, prv, area, tri_v = ids[keep], uv[keep], nxt[keep], prv[keep], area[keep], tri_v[keep]
    x0, y0, x1, y1 = x0[keep], y0[keep], x1[keep], y1[keep]
    # b_i(p) = cross(p_k - p_j, p - p_j) / area, affine in p = (x0 + 0.5 + ox, y0 + 0.5 + oy)
    a = -(prv[..., 1] - nxt[..., 1]) / area[:, None]
    b = (prv[..., 0] - nxt[..., 0]) / area[:, None]
    origin = torch.stack([x0, y0], -1)[:, None] + 0.5
    c = a * (origin[..., 0] - nxt[..., 0]) + b * (origin[..., 1] - nxt[..., 1])
    planes = torch.stack([a, b, c], -1)  # [N, 3, 3]
    inv_z = 1.0 / tri_v[..., 2]
    depth_plane = (planes * inv_z[..., None]).sum(1, keepdim=True)  # 1/z is affine in screen space
    dtype = vertices_cam.dtype
    return _Triangles(
        ids=ids, x0=x0.long(), y0=y0.long(), w=(x1 - x0 + 1).long(), h=(y1 - y0 + 1).long(),
        coef=torch.cat([planes, depth_plane], 1).to(dtype), inv_z=inv_z.to(dtype),
    )


def _evaluate(coef: Tensor, ox: Tensor, oy: Tensor) -> Tensor:
    """Affine planes coef [N, K, 3] at float offsets ox, oy [N] -> [N, K]."""
    return coef[..., 0] * ox[:, None] + coef[..., 1] * oy[:, None] + coef[..., 2]


def _chunks(counts: Tensor) -> list[tuple[int, int]]:
    """Split items into consecutive [start, end) runs of about CHUNK candidate pixels."""
    starts = torch.cumsum(counts, 0) - counts
    bins = torch.bincount(starts // CHUNK).cpu()
    ends = torch.cumsum(bins[bins > 0], 0).tolist()
    return list(zip([0] + ends[:-1], ends))


def _enumerate(counts: Tensor) -> tuple[Tensor, Tensor]:
    """Slots of items with counts [N]: (owner [ΣN] item of each slot, rank [ΣN] within it)."""
    owner = torch.repeat_interleave(torch.arange(len(counts), device=counts.device), counts)
    rank = torch.arange(len(owner), device=counts.device) - (torch.cumsum(counts, 0) - counts)[owner]
    return owner, rank


def _box_pixels(tris: _Triangles, sel: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Every pixel of the boxes of triangles sel [N]: (triangle, ox, oy), offsets as floats."""
    w = tris.w[sel]
    owner, rank = _enumerate(w * tris.h[sel])
    w = w[owner].float()
    rank = rank.float()  # exact: a chunk holds far fewer than 2**24 pixels
    oy = torch.floor((rank + 0.5) / w)
    return sel[owner], rank - oy * w, oy


def _span_pixels(tris: _Triangles, sel: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Pixels of triangles sel [N], row by row, between each row's edge crossings (widened by
    one pixel each side; the exact inside test comes later): (triangle, ox, oy)."""
    row_owner, oy = _enumerate(tris.h[sel])
    tri, oy = sel[row_owner], oy.float()
    coef = tris.coef[tri, :3]  # [R, 3 edges, 3]
    a, d = coef[..., 0], coef[..., 1] * oy[:, None] + coef[..., 2]
    w = tris.w[tri, None].float()
    bound = torch.minimum(((-INSIDE_EPS - d) / a).clamp_min(-1), w)
    lo = torch.where(a > 0, torch.ceil(bound), 0.0).amax(1) - 1
    hi = torch.where(a < 0, torch.floor(bound), w).amin(1) + 1
    lo, hi = lo.clamp_min(0), torch.minimum(hi, w[:, 0] - 1)
    empty = ((a == 0) & (d < -INSIDE_EPS)).any(1)
    length = torch.where(empty, 0.0, (hi - lo + 1).clamp_min(0)).long()
    owner, rank = _enumerate(length)
    return tri[owner], lo[owner] + rank.float(), oy[owner]


def _depth_test(tris: _Triangles, tri: Tensor, ox: Tensor, oy: Tensor, keys: Tensor, width: int) -> None:
    """Keep candidate pixels (triangle tri [N] at offsets ox, oy [N]) inside their triangle
    and min their (depth, face) keys into keys [H * W]."""
    val = _evaluate(tris.coef.index_select(0, tri), ox, oy)
    inside = torch.nonzero((val[:, :3] >= -INSIDE_EPS).all(1)).squeeze(1)
    tri, ox, oy = tri[inside], ox[inside].long(), oy[inside].long()
    depth = (1.0 / val[inside, 3]).float()
    pix = (tris.y0[tri] + oy) * width + tris.x0[tri] + ox
    key = (depth.view(torch.int32).long() << 32) | tris.ids[tri]
    keys.scatter_reduce_(0, pix, key, "amin")


def rasterize(vertices_cam: Tensor, faces: Tensor, K: Tensor, height: int, width: int) -> Fragments:
    """Z-buffer rasterization of one triangle list.

    vertices_cam [V, 3] OpenCV camera frame (x right, y down, z forward, metres),
    faces [F, 3] long, K [3, 3] intrinsics -> :class:`Fragments` of size [height, width].
    """
    device, dtype = vertices_cam.device, vertices_cam.dtype
    tris = _setup(vertices_cam, faces.long(), K, height, width)
    keys = torch.full((height * width,), _EMPTY, dtype=torch.int64, device=device)
    area = tris.w * tris.h
    for pixels, sel in ((_box_pixels, area <= SMALL_BOX), (_span_pixels, area > SMALL_BOX)):
        sel = torch.nonzero(sel).squeeze(1)
        for start, end in _chunks(area[sel]):
            _depth_test(tris, *pixels(tris, sel[start:end]), keys, width)
    hit = torch.nonzero(keys != _EMPTY).squeeze(1)
    face = torch.full((height * width,), -1, dtype=torch.long, device=device)
    depth = torch.full((height * width,), float("inf"), dtype=dtype, device=device)
    bary = torch.zeros(height * width, 3, dtype=dtype, device=device)
    face[hit] = keys[hit] & 0xFFFFFFFF
    depth[hit] = (keys[hit] >> 32).int().view(torch.float32).to(dtype)
    bary[hit] = _perspective_bary(tris, face[hit], hit, width, len(faces))
    return Fragments(face.view(height, width), depth.view(height, width), bary.view(height, width, 3))


def _perspective_bary(tris: _Triangles, face: Tensor, pix: Tensor, width: int, num_faces: int) -> Tensor:
    """Perspective-correct barycentrics [N, 3] of faces [N] (original ids) at pixels [N]."""
    lookup = torch.empty(num_faces, dtype=torch.long, device=face.device)
    lookup[tris.ids] = torch.arange(len(tris.ids), device=face.device)
    t = lookup[face]
    ox, oy = (pix % width - tris.x0[t]).to(tris.coef), (pix // width - tris.y0[t]).to(tris.coef)
    weights = _evaluate(tris.coef.index_select(0, t)[:, :3], ox, oy).clamp_min(0) * tris.inv_z[t]
    return weights / weights.sum(1, keepdim=True)
