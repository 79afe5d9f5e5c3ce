"""Cameras of the synthetic world: pinhole intrinsics and per-frame world -> camera poses."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interaction_recon.render.camera import look_at, project


@dataclass
class Camera:
    """OpenCV convention (x right, y down, z forward); world is y-up with the floor at y = 0.

    K [3, 3]; R [T, 3, 3] and t [T, 3] map world to camera: x_cam = R x_world + t.
    """

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points [..., T, N, 3] -> camera frame, frame by frame."""
        return np.einsum("tij,...tnj->...tni", self.R, points) + self.t[:, None, :]

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points [..., 3] -> pixels [..., 2]."""
        return project(points_cam, self.K)


def sample_camera(rng: np.random.Generator, target: np.ndarray,
                  size: tuple[int, int] = (512, 512), moving: bool = False) -> Camera:
    """A camera around the pair: vertical FOV 40-70 deg, height 0.8-2.0 m, distance 2.5-5 m,
    any azimuth (side views, where one person hides the other, included).

    target [T, 3]: the point to look at per frame (e.g. the pair's midpoint at chest height).
    ``moving``: the camera orbits up to +-25 deg and bobs 0.2 m over the clip.
    """
    width, height = size
    fov = np.deg2rad(rng.uniform(40.0, 70.0))
    f = 0.5 * height / np.tan(0.5 * fov)
    K = np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])
    T = len(target)
    base = rng.uniform(-np.pi, np.pi)
    distance, cam_height = rng.uniform(2.5, 5.0), rng.uniform(0.8, 2.0)
    s = np.linspace(0.0, 1.0, T)
    azimuth = base + (rng.uniform(-1, 1) * np.deg2rad(25.0) * s if moving else 0.0)
    heights = cam_height + (0.2 * np.sin(np.pi * s) * rng.choice([-1, 1]) if moving else 0.0)
    centre = target.mean(0)  # a fixed orbit centre keeps a static camera static
    eye = np.stack([centre[0] + distance * np.sin(azimuth) * np.ones(T), heights * np.ones(T),
                    centre[2] + distance * np.cos(azimuth) * np.ones(T)], axis=1)
    look = target if moving else np.repeat(centre[None], T, 0)
    poses = [look_at(e, g) for e, g in zip(eye, look)]
    return Camera(K=K, R=np.stack([p[0] for p in poses]), t=np.stack([p[1] for p in poses]),
                  width=width, height=height)
