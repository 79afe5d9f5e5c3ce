"""The floor plane in the camera frame, from the camera's pose above it (a robot's URDF / TF).

OpenCV camera frame (x right, y down, z forward). ``camera_height`` h (m) above the floor,
``pitch`` (deg, optical axis below the horizon positive), ``roll`` (deg, about the optical
axis; positive turns the world's up towards the image's +x). The floor is the set of points p
with ``up . p = -h``; a point's height above it is ``up . p + h``.

    up = up_vector(pitch, roll)                      # [3] unit, camera frame
    h, pitch, roll = camera_pose(R, C)               # from extrinsics, world z up, floor z = 0
"""
from __future__ import annotations

import numpy as np


def up_vector(pitch_deg: float, roll_deg: float) -> np.ndarray:
    """The world's up direction [3] in the camera frame of a camera at ``pitch`` / ``roll``."""
    p, r = np.radians(pitch_deg), np.radians(roll_deg)
    return np.array([np.cos(p) * np.sin(r), -np.cos(p) * np.cos(r), -np.sin(p)])


def camera_pose(R: np.ndarray, C: np.ndarray, up_world=(0.0, 0.0, 1.0)) -> tuple[float, float, float]:
    """(height m, pitch deg, roll deg) of a camera with world-to-camera rotation ``R`` [3, 3]
    (x_cam = R (x_world - C)) and centre ``C`` [3], the floor through the world origin with
    normal ``up_world``."""
    up_w = np.asarray(up_world, np.float64) / np.linalg.norm(up_world)
    u = np.asarray(R, np.float64) @ up_w
    pitch = np.degrees(np.arcsin(np.clip(-u[2], -1.0, 1.0)))
    roll = np.degrees(np.arctan2(u[0], -u[1]))
    return float(np.asarray(C, np.float64) @ up_w), float(pitch), float(roll)
