"""The look-at camera pose and the pinhole projection shared by the renderers, the synthetic
world and the metrics (numpy; the fit's differentiable one is ``fitting.camera.project``)."""
from __future__ import annotations

import numpy as np


def look_at(eye, target, up=(0.0, 1.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """World -> OpenCV camera (x right, y down, z forward) for a camera at ``eye`` [3] looking
    at ``target`` [3], world up ``up``: (R [3,3], t [3])."""
    eye, target, up = (np.asarray(a, dtype=np.float64) for a in (eye, target, up))
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    return R, -R @ eye


def project(points, K):
    """Pinhole projection: points ``[..., 3]`` (camera frame), K ``[3, 3]`` -> pixels ``[..., 2]``;
    numpy in float64, or torch tensors in the points' dtype and device (K moved to them)."""
    if hasattr(points, "new_tensor"):  # torch, imported by the caller
        uvw = points @ (K.to(points) if hasattr(K, "to") else points.new_tensor(K)).T
    else:
        uvw = np.asarray(points, dtype=np.float64) @ np.asarray(K, dtype=np.float64).T
    return uvw[..., :2] / uvw[..., 2:]
