"""The motion + appearance stage after the motion-only reconstruction.

    refined = refine_with_appearance(result, frames, masks, K, body, config.appearance)

Works on every ``config.every``-th frame (plus one per overlap stretch), ``config.downscale``
times smaller:

1. appearance fitted on the calmest of those frames, meshes held (:func:`fit_appearance`);
2. depth order, per contiguous stretch of frames where the two people overlap in the image
   (:func:`overlap_segments`): one person in front for the whole stretch, then the other,
   each rendered with the meshes scaled about the camera centre so that the pair's pelvis
   depths swap where that order needs it (the same outline in the image, the other occlusion);
   the order with the lower appearance loss is kept. In the stretch's frames whose order it
   changes, both people move along their camera rays to the swapped pelvis depths
   (:func:`swap_depths` on the pelvis; the bodies keep their size);
3. motion corrections and appearance together (:func:`fit_joint`, each with its own learning
   rate), the corrections interpolated linearly in time to every frame.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
from torch import Tensor

from interaction_recon.appearance.avatar import AppearanceModel
from interaction_recon.appearance.fit import appearance_term, body_motion, fit_appearance, fit_joint, prepare_frames
from interaction_recon.body.model import BodyModel, BodyParams
from interaction_recon.config import AppearanceConfig
from interaction_recon.fitting.camera import project
from interaction_recon.fitting.result import Reconstruction


def overlap_segments(joints: np.ndarray, K: np.ndarray) -> list[np.ndarray]:
    """Contiguous runs of frames [n_i] in which the two people's 2D joint boxes overlap
    (positive intersection area; frames with unknown joints break a run). joints [2, T, J, 3]
    camera frame, K [3, 3]."""
    uv = project(torch.as_tensor(joints, dtype=torch.float64), torch.as_tensor(K, dtype=torch.float64)).numpy()
    lo, hi = uv.min(2), uv.max(2)  # [2, T, 2], NaN where unknown
    inter = np.minimum(hi[0], hi[1]) - np.maximum(lo[0], lo[1])
    overlap = np.nan_to_num(inter, nan=-1.0).min(-1) > 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], overlap.astype(np.int8), [0]])))
    return [np.arange(a, b) for a, b in zip(edges[::2], edges[1::2])]


def swap_depths(points: Tensor, pelvis: Tensor, swap: Tensor) -> Tensor:
    """Points [2, n, ..., 3] of both people scaled about the camera centre, in frames where
    ``swap`` [n] (bool), by other pelvis depth / own pelvis depth: the pair's pelvis depths trade
    places and every point keeps its image position. pelvis [2, n, 3] camera frame."""
    z = pelvis[..., 2]
    scale = torch.where(swap, z.flip(0) / z, torch.ones_like(z))  # [2, n]
    return points * scale.view(*scale.shape, *([1] * (points.dim() - 2)))


@torch.no_grad()
def choose_order(model: AppearanceModel, vertices: Tensor, pelvis: Tensor, frames: Tensor, masks: Tensor, K: Tensor
                 ) -> tuple[int, list[float]]:
    """Which person is in front over a stretch of frames: renders vertices [2, n, V, 3] with
    person 0 in front in every frame, then person 1 (:func:`swap_depths` where the given order
    differs), against frames [n, h, w, 3] and masks [n, h, w]. pelvis [2, n, 3].
    Returns (the person in front with the lower loss, the two losses)."""
    nearer = (pelvis[0, :, 2] > pelvis[1, :, 2]).long()  # [n] the given order's person in front
    index = torch.arange(len(nearer))
    losses = [appearance_term(model, swap_depths(vertices, pelvis, nearer != front), frames, masks, K, index).item()
              for front in (0, 1)]
    return int(np.argmin(losses)), losses


def _frames_of(params: BodyParams, index: np.ndarray) -> BodyParams:
    """Body parameters [P, n] of frames ``index`` [n] of params [P, T]."""
    return BodyParams(params.global_orient[:, index], params.body_pose[:, index], params.transl[:, index], params.shape)


def _interpolation(times: np.ndarray, T: int) -> Tensor:
    """[T, n] weights of linear interpolation in time from samples at frames ``times`` [n]
    (held constant beyond the ends)."""
    eye = np.eye(len(times))
    return torch.as_tensor(np.stack([np.interp(np.arange(T), times, eye[j]) for j in range(len(times))], 1),
                           dtype=torch.float32)


def refine_with_appearance(result: Reconstruction, frames: np.ndarray | Tensor, masks: np.ndarray | Tensor,
                           K: np.ndarray | Tensor, body: BodyModel, config: AppearanceConfig,
                           info: dict | None = None) -> Reconstruction:
    """The appearance stage (module docstring) on a motion-only ``result`` of T frames.

    frames [T, H, W, 3] uint8 (or float 0..1) the images the result was fitted to; masks
    [T, H, W] the union of both people (bool, or labels with 0 = background); K [3, 3]
    their intrinsics. Only frames where both people are known are rendered. Returns a new
    :class:`Reconstruction` with the refined parameters and joints recomputed by ``body`` (NaN
    where the result's were; the result itself when no frame has both people); the rest is
    carried over.
    ``info``, when given, receives the per-step losses, the seconds per stage and, per
    overlap stretch, its first and last frame, both orders' losses, the person kept in front
    and the number of frames flipped."""
    clock = [time.perf_counter()]
    T = result.num_frames
    K = torch.as_tensor(K, dtype=torch.float32)
    segments = overlap_segments(result.joints, K.numpy())
    known = np.isfinite(result.joints).all((0, 2, 3))  # [T] both people known
    work = np.unique(np.concatenate([np.arange(0, T, config.every), [s[len(s) // 2] for s in segments]]).astype(np.int64))
    work = work[known[work]]
    if len(work) == 0:
        return result
    image, union, K_small = prepare_frames(torch.as_tensor(np.asarray(frames)[work]),
                                           torch.as_tensor(np.asarray(masks)[work]), K, config.downscale)
    params = result.params()
    with torch.no_grad():
        vertices = body(_frames_of(params, work), full_mesh=True, collision=False).vertices
    model = AppearanceModel.from_body(body, config)
    fitted = fit_appearance(model, vertices, image, union, K_small)
    clock.append(time.perf_counter())

    # 2. depth order per overlap stretch
    with torch.no_grad():
        pelvis = body(params, collision=False).joints[:, :, 0]  # [2, T, 3]
    transl = params.transl.clone()
    stretches = []
    for seg in segments:
        rows = np.flatnonzero(np.isin(work, seg))  # the stretch's rendered frames (positions in work)
        front, losses = choose_order(model, vertices[:, rows], pelvis[:, work[rows]], image[rows], union[rows], K_small)
        swap = (pelvis[0, seg, 2] > pelvis[1, seg, 2]).long() != front  # [len(seg)]
        moved = swap_depths(pelvis[:, seg], pelvis[:, seg], swap)
        transl[:, seg] += moved - pelvis[:, seg]
        stretches.append({"frames": [int(seg[0]), int(seg[-1])], "losses": losses, "front": front,
                          "flipped": int(swap.sum())})
    params = BodyParams(params.global_orient, params.body_pose, transl, params.shape)
    clock.append(time.perf_counter())

    # 3. motion and appearance together on the rendered frames
    pose, deltas = body_motion(body, _frames_of(params, work))
    prior = lambda: config.motion_prior * sum((d ** 2).flatten(2).sum(-1).mean() for d in deltas)
    joint = fit_joint(model, pose, deltas, config.motion_lr, image, union, K_small,
                      indices=torch.arange(len(work)), motion_loss=prior)
    weights = _interpolation(work, T)
    with torch.no_grad():
        full = [getattr(params, name) + torch.einsum("tn,pn...->pt...", weights, d)
                for name, d in zip(("global_orient", "body_pose", "transl"), deltas)]
        refined = BodyParams(*full, params.shape)
        joints = body(refined, collision=False).joints.numpy()
    joints[np.isnan(result.joints)] = np.nan
    clock.append(time.perf_counter())
    if info is not None:
        info.update(appearance_loss=fitted, joint_loss=joint, stretches=stretches, rendered_frames=len(work),
                    seconds=dict(zip(("appearance", "order", "joint"), np.diff(clock).round(2).tolist())))
    return dataclasses.replace(result, global_orient=full[0].numpy(), body_pose=full[1].numpy(),
                               transl=full[2].numpy(), joints=joints.astype(np.float32))
