"""Relative size of the two people from the floor they share.

One camera cannot tell a small person near it from a big person farther away: scaling a
person (body and position) about the camera centre leaves every keypoint where it was. Both
people stand on one floor, though, so the heights of their feet below the camera must agree:
with foot heights h0, h1 along the up direction (camera frame, camera at the origin), the
person-1/person-0 size ratio is h0 / h1. :func:`ground_ratio` measures it from a fit;
:func:`rescale_about_camera` applies it by resizing the bodies (stature, through the model's
shape) and moving them along their camera rays, which keeps their 2D projection.
When the camera's height above the floor is known (a robot knows its camera mount),
:func:`height_factors` sizes each person absolutely, which also settles the pair's overall
scale that the ratio alone leaves to the average body.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from interaction_recon.body.model import BodyModel, BodyParams
from interaction_recon.fitting.losses import foot_height, spine_up


FOOT_ABOVE_FLOOR = 0.025  # m: a standing body's lowest foot joint (ankle or foot) above the floor


def foot_heights(joints: Tensor, valid: Tensor, min_frames: int = 8, up: np.ndarray | None = None) -> np.ndarray | None:
    """Median height [2] (m, up positive: negative below the camera) of each person's lowest
    foot joint relative to the camera, along ``up`` [3] (camera frame, e.g. the known floor's
    normal, :mod:`interaction_recon.fitting.floor`) or else the pair's mean spine direction.

    joints [2, T, 24, 3] camera frame; valid [T] frames where both people are observed. None
    with fewer than ``min_frames`` such frames.
    """
    if int(valid.sum()) < min_frames:
        return None
    with torch.no_grad():
        up = spine_up(joints, valid) if up is None else torch.as_tensor(up, dtype=joints.dtype, device=joints.device)
        height = foot_height(joints[:, valid], up)  # [2, n] lowest foot, up positive
    return height.median(dim=1).values.cpu().numpy().astype(np.float64)


def ground_ratio(joints: Tensor, valid: Tensor, min_height: float = 0.4, min_frames: int = 8,
                 tolerance_deg: float = 0.0, up: np.ndarray | None = None) -> float | None:
    """Size ratio (person 1 / person 0) that puts both people's feet on one floor.

    joints [2, T, 24, 3] camera frame; valid [T] frames where both people are observed; up [3]
    the floor's up in the camera frame (e.g. from an estimated pitch), else the pair's mean
    spine; tolerance_deg: how far off that up direction may be, about the camera's x axis.
    The ratio is measured with the up tilted by -tolerance, 0 and +tolerance and the one
    nearest 1 is kept: a size difference counts only as far as it survives that
    doubt, which grows with the people's distance from the camera and their distance apart in depth.
    None when it cannot be told: too few frames, or for any of the tilts the camera is near
    floor level (|foot height| below ``min_height`` m) or between the feet.
    """
    if int(valid.sum()) < min_frames:
        return None
    up = spine_up(joints, valid).cpu().numpy().astype(np.float64) if up is None else np.asarray(up, np.float64)
    ratios = []
    for angle in np.radians([0.0, -tolerance_deg, tolerance_deg] if tolerance_deg > 0 else [0.0]):
        c, s = np.cos(angle), np.sin(angle)
        h = foot_heights(joints, valid, min_frames, np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]) @ up)
        if np.abs(h).min() < min_height or h[0] * h[1] <= 0:
            return None
        ratios.append(float(h[0] / h[1]))
    return min(ratios, key=lambda r: abs(np.log(r)))


def height_factors(joints: Tensor, valid: Tensor, camera_height: float, min_height: float = 0.4,
                   min_frames: int = 8, limit: float = 1.6, up: np.ndarray | None = None) -> np.ndarray | None:
    """Per-person size factors [2] that stand both people on the floor ``camera_height`` m
    below the camera, each within [1/limit, limit]. Arguments as :func:`foot_heights`. None
    when the feet are not at least ``min_height`` m below the camera in the fit."""
    h = foot_heights(joints, valid, min_frames, up)
    if h is None or (-h).min() < min_height:
        return None
    return np.clip((camera_height - FOOT_ABOVE_FLOOR) / -h, 1.0 / limit, limit)


def split_ratio(ratio: float, limit: float = 1.35) -> np.ndarray:
    """Per-person factors [2] with factor1 / factor0 = ratio and product 1 (the average body
    stays the prior for the pair's overall size), each within [1/limit, limit]."""
    return np.clip(np.array([ratio ** -0.5, ratio ** 0.5]), 1.0 / limit, limit)


def rescale_about_camera(body: BodyModel, params: BodyParams, factors: np.ndarray) -> tuple[BodyParams, Tensor]:
    """Person p's body made ``factors[p]`` times taller and moved as many times farther along
    the camera rays (pelvis position scaled about the camera centre): the same 2D picture,
    another depth. params [2, T] in the camera frame. Returns the new params and the factors
    [2] reached (a shape space has limits)."""
    asked = torch.as_tensor(factors, dtype=params.shape.dtype, device=params.shape.device)
    shape = body.resized(params.shape, asked)
    ratio = body.stature(shape) / body.stature(params.shape)  # what the shape space could reach
    with torch.no_grad():
        rest_before = body.rest(params.shape).joints[:, 0, 0]  # [2, 3] rest pelvis
        rest_after = body.rest(shape).joints[:, 0, 0]
    pelvis = params.transl + rest_before[:, None]
    transl = ratio[:, None, None] * pelvis - rest_after[:, None]
    return BodyParams(params.global_orient, params.body_pose, transl, shape), ratio
