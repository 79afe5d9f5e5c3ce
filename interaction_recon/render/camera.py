"""The look-at camera pose shared by the renderers."""
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
