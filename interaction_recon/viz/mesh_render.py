"""Flat-shaded painter's-algorithm rendering of triangle meshes through a pinhole camera."""
from __future__ import annotations

import numpy as np


def render_meshes(ax, meshes, K, R, t, light=(0.3, 0.5, 1.0)):
    """Draw meshes into a matplotlib axis set up as an image of the camera.

    meshes: list of (vertices [V,3] world, faces [F,3], face_colors [F,3] or [3] RGB in 0..1).
    K [3,3] intrinsics, (R, t) world -> camera. Faces behind the camera are skipped.
    """
    from matplotlib.collections import PolyCollection

    light = np.asarray(light, dtype=np.float64)
    light /= np.linalg.norm(light)
    polys, depths, colors = [], [], []
    for vertices, faces, face_colors in meshes:
        cam = np.asarray(vertices, dtype=np.float64) @ R.T + t
        tri = cam[faces]  # [F,3,3]
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
        front = (normal * tri.mean(1)).sum(1) < 0  # facing the camera
        ok = front & (tri[..., 2] > 0.05).all(1)
        uv = tri @ np.asarray(K).T
        uv = uv[..., :2] / uv[..., 2:]
        shade = 0.35 + 0.65 * np.clip(-(normal @ light), 0, 1)
        base = np.broadcast_to(np.asarray(face_colors, dtype=np.float64), (len(faces), 3))
        polys.append(uv[ok])
        depths.append(tri[ok, :, 2].mean(1))
        colors.append(np.clip(base[ok] * shade[ok, None], 0, 1))
    polys, depths, colors = np.concatenate(polys), np.concatenate(depths), np.concatenate(colors)
    order = np.argsort(-depths)  # far first
    ax.add_collection(PolyCollection(polys[order], facecolors=colors[order], edgecolors="none", antialiased=False))
