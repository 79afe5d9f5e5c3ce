"""Gaussian maps on the body's UV layout -> 3D Gaussians on the posed surface.

A Gaussian map is [14, R, R] per person (CloseApp's layout): offset 3 (metres, in the local
surface frame), colour 3, opacity 1, rotation 4 (quaternion in the local frame), scale 3 (log
factor on the texel's footprint), identity 1 (the person's index). Every texel whose centre lies
inside a UV triangle carries one Gaussian, bound to that triangle by barycentrics computed once;
posing the mesh moves it with the surface.
"""
from __future__ import annotations

from dataclasses import dataclass

import roma
import torch
import torch.nn.functional as F
from torch import Tensor

from interaction_recon.appearance.raster import quat_to_rotmat
from interaction_recon.render.raster import rasterize as rasterize_mesh

CHANNELS = {"offset": 3, "colour": 3, "opacity": 1, "rotation": 4, "scale": 3, "identity": 1}
DECODED = sum(CHANNELS.values()) - CHANNELS["identity"]  # 13: what a decoder produces


def channels(name: str) -> slice:
    """Where channel group ``name`` sits in a Gaussian map."""
    start = 0
    for key, size in CHANNELS.items():
        if key == name:
            return slice(start, start + size)
        start += size
    raise KeyError(name)


@dataclass
class Gaussians:
    """N camera- or world-frame Gaussians: means [N, 3], quats [N, 4] (w, x, y, z), scales [N, 3],
    opacities [N], colors [N, 3] in 0..1, person [N] long."""

    means: Tensor
    quats: Tensor
    scales: Tensor
    opacities: Tensor
    colors: Tensor
    person: Tensor

    @staticmethod
    def cat(parts: list["Gaussians"]) -> "Gaussians":
        return Gaussians(*(torch.cat([getattr(p, f) for p in parts]) for f in
                           ("means", "quats", "scales", "opacities", "colors", "person")))


def _face_areas(points: Tensor) -> Tensor:
    """Triangle areas of corner points [..., F, 3, D] (D = 2 or 3) -> [..., F]."""
    e1, e2 = points[..., 1, :] - points[..., 0, :], points[..., 2, :] - points[..., 0, :]
    if points.shape[-1] == 2:
        return 0.5 * (e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]).abs()
    return 0.5 * torch.linalg.cross(e1, e2).norm(dim=-1)


class UVAttachment(torch.nn.Module):
    """Texels of an R x R UV map bound to mesh triangles.

    Buffers: texel [M] flat index (row * R + col, row 0 at v = 1), face [M], bary [M, 3],
    corners [M, 3] (the face's vertex indices), uv_area [M] (its UV area, unit square = 1).
    """

    def __init__(self, faces: Tensor, uv: Tensor, face_uv: Tensor, resolution: int):
        super().__init__()
        R = resolution
        pts = torch.stack([uv[:, 0] * R, (1.0 - uv[:, 1]) * R, torch.ones(len(uv))], 1).double()
        frags = rasterize_mesh(pts, face_uv.long(), torch.eye(3, dtype=torch.float64), R, R)
        texel = torch.nonzero(frags.face.flatten() >= 0).squeeze(1)
        face = frags.face.flatten()[texel]
        self.resolution = R
        self.register_buffer("texel", texel, persistent=False)
        self.register_buffer("face", face, persistent=False)
        self.register_buffer("bary", frags.bary.flatten(0, 1)[texel].float(), persistent=False)
        self.register_buffer("corners", faces.long()[face], persistent=False)
        self.register_buffer("uv_area", _face_areas(uv[face_uv.long()[face]].double()).float(), persistent=False)

    def __len__(self) -> int:
        return len(self.texel)

    def sample(self, maps: Tensor) -> Tensor:
        """Per-Gaussian values of maps [..., Ch, R, R] -> [..., M, Ch]."""
        return maps.flatten(-2)[..., self.texel].transpose(-1, -2)

    def surface(self, vertices: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Surface points [..., M, 3], local frames [..., M, 3, 3] (columns: tangent, bitangent,
        normal) and the surface area of one texel [..., M] (m^2) on a mesh vertices [..., V, 3]."""
        tri = vertices[..., self.corners, :]  # [..., M, 3, 3]
        points = (self.bary[..., None] * tri).sum(-2)
        e1, e2 = tri[..., 1, :] - tri[..., 0, :], tri[..., 2, :] - tri[..., 0, :]
        normal = F.normalize(torch.linalg.cross(e1, e2), dim=-1)
        tangent = F.normalize(e1, dim=-1)
        frames = torch.stack([tangent, torch.linalg.cross(normal, tangent), normal], -1)
        texel_area = _face_areas(tri) / self.uv_area.clamp_min(1e-12) / self.resolution ** 2
        return points, frames, texel_area


def identity_plane(person: int, resolution: int, like: Tensor) -> Tensor:
    """The identity channel [1, R, R] of person ``person``."""
    return like.new_full((1, resolution, resolution), float(person))


def decode(gmap: Tensor, attachment: UVAttachment, vertices: Tensor, max_offset: float,
           opacity_init: float, scale_init: float, thickness: float) -> Gaussians:
    """One person's Gaussians from its map gmap [14, R, R] (raw decoder output plus the identity
    plane) on its posed mesh vertices [V, 3].

    offset = max_offset tanh(raw) in the local frame; colour = sigmoid(raw); opacity =
    sigmoid(raw + logit(opacity_init)); rotation = local frame x normalise((1,0,0,0) + raw);
    scale = scale_init sqrt(texel area) exp(raw) x (1, 1, thickness) (flat along the normal).
    """
    raw = attachment.sample(gmap).split(list(CHANNELS.values()), dim=-1)
    offset, colour, opacity, rotation, scale, identity = raw
    points, frames, texel_area = attachment.surface(vertices)
    means = points + (frames @ (max_offset * torch.tanh(offset))[..., None])[..., 0]
    local = rotation + rotation.new_tensor([1.0, 0.0, 0.0, 0.0])
    world = frames @ quat_to_rotmat(local)
    quats = roma.rotmat_to_unitquat(world)[..., [3, 0, 1, 2]]  # roma is (x, y, z, w)
    footprint = scale_init * texel_area.clamp_min(1e-12).sqrt()
    scales = footprint[..., None] * torch.exp(scale) * scale.new_tensor([1.0, 1.0, thickness])
    logit = torch.logit(torch.tensor(opacity_init)).item()
    return Gaussians(means=means, quats=quats, scales=scales, opacities=torch.sigmoid(opacity[..., 0] + logit),
                     colors=torch.sigmoid(colour), person=identity[..., 0].round().long())
