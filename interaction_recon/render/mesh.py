"""Shaded rendering of people + backdrop with per-pixel mesh ids and depth.

    meshes = [(person_cam, faces, colors), (other_cam, faces, colors), backdrop.to_camera(R, t)]
    out = render(meshes, K, 512, 512)        # rgb, mesh_id, depth
    masks = person_masks(out)                 # [2, H, W]
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from interaction_recon.body.collision import vertex_normals
from interaction_recon.render.camera import project
from interaction_recon.render.raster import NEAR, rasterize

AMBIENT = 0.45
LIGHT_DIR = (0.3, -0.7, -0.65)  # camera frame, towards the light: above, a little right, behind the camera


@dataclass
class Render:
    """rgb [H, W, 3] uint8, mesh_id [H, W] int16 (index into the meshes, -1 empty),
    depth [H, W] float32 camera z in metres (inf empty)."""

    rgb: Tensor
    mesh_id: Tensor
    depth: Tensor


def concat_meshes(meshes) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Join (vertices [V,3], faces [F,3], colors [V,3]) triples into one list:
    vertices [ΣV, 3], faces [ΣF, 3], colors [ΣV, 3], face_mesh [ΣF] (which mesh each face is)."""
    vertices = torch.cat([m[0] for m in meshes]).float()
    device = vertices.device
    sizes = torch.tensor([0] + [len(m[0]) for m in meshes[:-1]], device=device).cumsum(0)
    faces = torch.cat([m[1].to(device).long() + s for m, s in zip(meshes, sizes)])
    colors = torch.cat([m[2].to(vertices) for m in meshes])
    counts = torch.tensor([len(m[1]) for m in meshes], device=device)
    face_mesh = torch.repeat_interleave(torch.arange(len(meshes), device=device), counts)
    return vertices, faces, colors, face_mesh


def _interpolate(values: Tensor, faces: Tensor, face: Tensor, bary: Tensor) -> Tensor:
    """Per-vertex values [V, C] at fragments of faces [N] with barycentrics [N, 3] -> [N, C]."""
    corners = values.index_select(0, faces.index_select(0, face).flatten()).view(len(face), 3, -1)
    return torch.bmm(bary[:, None].to(values), corners).squeeze(1)


def render(meshes, K: Tensor, height: int, width: int, light_dir=None,
           ambient: float = AMBIENT, noise: float = 0.0, seed: int = 0) -> Render:
    """Lambert + ambient shading of camera-frame meshes, person meshes first.

    meshes: list of (vertices_cam [V,3], faces [F,3], vertex_colors [V,3] in 0..1);
    K [3,3]; light_dir [3] camera-frame direction towards the light (default LIGHT_DIR).
    Normals are flipped to face the camera, so both sides of a surface are lit.
    noise: std of deterministic (``seed``) Gaussian pixel noise, in 0..1 units.
    """
    vertices, faces, colors, face_mesh = concat_meshes(meshes)
    device = vertices.device
    frags = rasterize(vertices, faces, K, height, width)
    face = frags.face.flatten()
    hit = torch.nonzero(face >= 0).squeeze(1)
    f, bary = face[hit], frags.bary.flatten(0, 1)[hit]

    normals = torch.cat([vertex_normals(m[0].to(vertices), m[1].to(device).long()) for m in meshes])
    color, n, point = _interpolate(torch.cat([colors, normals, vertices], 1), faces, f, bary).split(3, 1)
    n = torch.nn.functional.normalize(n, dim=1)
    n = torch.where(((n * point).sum(1, keepdim=True) > 0), -n, n)
    light = torch.as_tensor(LIGHT_DIR if light_dir is None else light_dir, dtype=n.dtype, device=device)
    light = torch.nn.functional.normalize(light, dim=0)
    shade = ambient + (1 - ambient) * (n @ light).clamp_min(0)

    rgb = torch.zeros(height * width, 3, device=device)
    rgb[hit] = color * shade[:, None]
    if noise > 0:
        gen = torch.Generator(device=device).manual_seed(seed)
        rgb = rgb + noise * torch.randn(rgb.shape, generator=gen, device=device)
    mesh_id = torch.full((height * width,), -1, dtype=torch.int16, device=device)
    mesh_id[hit] = face_mesh[f].to(torch.int16)
    return Render(
        rgb=(rgb.clamp(0, 1) * 255).round().to(torch.uint8).view(height, width, 3),
        mesh_id=mesh_id.view(height, width),
        depth=frags.depth.float(),
    )


def person_masks(render: Render, num_people: int = 2) -> Tensor:
    """[P, H, W] bool: pixels where person p (mesh p) is the visible surface."""
    ids = torch.arange(num_people, device=render.mesh_id.device, dtype=render.mesh_id.dtype)
    return render.mesh_id[None] == ids[:, None, None]


def visible_points(render: Render, points_cam: Tensor, mesh_of_point: Tensor, K: Tensor,
                   tolerance: float = 0.05) -> Tensor:
    """[P, N] bool: which camera-frame points [P, N, 3] of mesh mesh_of_point [P] are visible.

    Rule: the point must lie in front of the camera and project inside the image; then,
    since joints and keypoints sit inside their own body, it is visible when the pixel shows
    its own mesh (self-occlusion counts as visible) OR nothing nearer than
    ``point depth - tolerance`` (other meshes more than ``tolerance`` metres in front occlude).
    """
    H, W = render.mesh_id.shape
    uv = project(points_cam, K)
    z = points_cam[..., 2]
    col, row = torch.floor(uv[..., 0]).nan_to_num(-1.0), torch.floor(uv[..., 1]).nan_to_num(-1.0)
    inside = (z >= NEAR) & (col >= 0) & (col < W) & (row >= 0) & (row < H)
    pix = (row.clamp(0, H - 1) * W + col.clamp(0, W - 1)).long()
    shown = render.mesh_id.flatten()[pix].long()
    depth = render.depth.flatten()[pix].to(z)
    own = shown == mesh_of_point.to(shown)[:, None]
    return inside & (own | (depth >= z - tolerance))
