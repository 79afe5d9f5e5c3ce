"""The motion + appearance stage after the motion-only reconstruction.

    refined = refine_with_appearance(result, frames, masks, K, body, config.appearance)

Works on every ``config.every``-th frame (plus one per overlap stretch), ``config.downscale``
times smaller:

1. appearance fitted on the calmest of those frames, meshes held (:func:`fit_appearance`);
2. depth order, per contiguous stretch of frames where the two people overlap in the image
   (:func:`overlap_segments`): one person in front for the whole stretch, then the other,
   each rendered with the meshes scaled about the camera centre so that the pair's pelvis
   depths swap where that order needs it (the same outline in the image, the other occlusion).
   In the stretch's frames whose order it changes, both people move along their camera rays to
   the swapped pelvis depths (:func:`swap_depths` on the pelvis; the bodies keep their size); the
   order with the lower appearance loss plus ``config.penetration`` x the body-body penetration
   it adds to the stretch (over the order as given; never less than 0) is kept, so a swap that
   pushes the bodies into each other must be paid for by the image; where the two orders' losses
   differ by less than ``config.order_margin`` of the loss, the image cannot tell and nothing flips;
3. motion corrections and appearance together (:func:`fit_joint`, each with its own learning
   rate) on the rendered frames, the corrections interpolated linearly in time to every frame,
   with the penetration term on every frame where both people are known (through that
   interpolation).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from interaction_recon.appearance.avatar import AppearanceModel
from interaction_recon.appearance.fit import (
    appearance_term,
    body_motion,
    box_overlap,
    fit_appearance,
    fit_joint,
    prepare_frames,
)
from interaction_recon.body.collision import BodyCollider
from interaction_recon.body.model import BodyModel, BodyOutput, BodyParams
from interaction_recon.config import AppearanceConfig
from interaction_recon.fitting.camera import project
from interaction_recon.fitting.losses import penetration
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


def nearer(pelvis: Tensor) -> Tensor:
    """[n] the person in front (0 or 1) per frame, from pelvis [2, n, 3] camera frame."""
    return (pelvis[0, :, 2] > pelvis[1, :, 2]).long()


@torch.no_grad()
def order_losses(model: AppearanceModel, vertices: Tensor, pelvis: Tensor, frames: Tensor, masks: Tensor, K: Tensor
                 ) -> list[float]:
    """Appearance loss of a stretch of frames with person 0 in front in every frame, then
    person 1: vertices [2, n, V, 3] rendered with :func:`swap_depths` where the given order
    differs, against frames [n, h, w, 3] and masks [n, h, w]. pelvis [2, n, 3]."""
    index = torch.arange(pelvis.shape[1])
    return [appearance_term(model, swap_depths(vertices, pelvis, nearer(pelvis) != front), frames, masks, K, index).item()
            for front in (0, 1)]


@torch.no_grad()
def order_penetration(body: BodyModel, collider: BodyCollider, params: BodyParams, rest: BodyOutput, pelvis: Tensor
                      ) -> tuple[float, list[float]]:
    """Penetration term (:func:`~interaction_recon.fitting.losses.penetration`, m^2) of a stretch
    of frames, params [2, n] with pelvis [2, n, 3]: as given, and once both people are moved
    along their camera rays to put person 0 in front in every frame, then person 1."""
    def term(shift: Tensor) -> float:
        moved = BodyParams(params.global_orient, params.body_pose, params.transl + shift, params.shape)
        return penetration(collider, body(moved), rest, power=2).item()

    given = term(torch.zeros_like(pelvis))
    return given, [term(swap_depths(pelvis, pelvis, nearer(pelvis) != front) - pelvis) for front in (0, 1)]


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
                           info: dict | None = None, collider: BodyCollider | None = None) -> Reconstruction:
    """The appearance stage (module docstring) on a motion-only ``result`` of T frames.

    frames [T, H, W, 3] uint8 (or float 0..1) the images the result was fitted to; masks
    [T, H, W] the union of both people (bool, or labels with 0 = background); K [3, 3]
    their intrinsics. Only frames where both people are known are rendered. Returns a new
    :class:`Reconstruction` with the refined parameters and joints recomputed by ``body`` (NaN
    where the result's were; the result itself when no frame has both people); the rest is
    carried over.
    ``collider`` (built from ``body`` when not given) supplies the penetration term.
    ``info``, when given, receives the per-step losses, the seconds per stage, per overlap
    stretch its first and last frame, both orders' appearance losses, the penetration terms
    (as given, person 0 in front, person 1 in front), the person kept in front and the number
    of frames flipped, and ``picture``: the rendered frame where the two people's image boxes
    overlap most, as {"frame": index, "image" [h, w, 3], "mask" [h, w], "rendering" [h, w, 3]}
    (numpy: the downscaled frame and union mask, and the final rendering)."""
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
    collider = BodyCollider(body) if collider is None else collider
    rest = collider.rest(params)
    with torch.no_grad():
        pelvis = body(params, collision=False).joints[:, :, 0]  # [2, T, 3]
    transl = params.transl.clone()
    stretches = []
    for seg in segments:
        rows = np.flatnonzero(np.isin(work, seg))  # the stretch's rendered frames (positions in work)
        looks = order_losses(model, vertices[:, rows], pelvis[:, work[rows]], image[rows], union[rows], K_small)
        given, overlap = order_penetration(body, collider, _frames_of(params, seg), rest, pelvis[:, seg])
        added = np.maximum(np.subtract(overlap, given), 0.0)  # a swap may not buy its way out of the fit's overlap
        front = int(np.argmin(np.add(looks, config.penetration * added)))
        swap = nearer(pelvis[:, seg]) != front  # [len(seg)]
        if abs(looks[0] - looks[1]) < config.order_margin * min(looks):  # the image cannot tell: keep the fit's order
            swap = torch.zeros_like(swap)
        transl[:, seg] += swap_depths(pelvis[:, seg], pelvis[:, seg], swap) - pelvis[:, seg]
        stretches.append({"frames": [int(seg[0]), int(seg[-1])], "losses": looks, "penetration": [given, *overlap],
                          "front": front, "flipped": int(swap.sum())})
    params = BodyParams(params.global_orient, params.body_pose, transl, params.shape)
    clock.append(time.perf_counter())

    # 3. motion and appearance together on the rendered frames, the bodies kept apart in every known frame
    pose, deltas = body_motion(body, _frames_of(params, work))
    weights = _interpolation(work, T)
    seen = np.flatnonzero(known)
    dense = _frames_of(params, seen)
    fields = ("global_orient", "body_pose", "transl")

    def motion_loss() -> Tensor:
        moved = BodyParams(*(getattr(dense, name) + torch.einsum("tn,pn...->pt...", weights[seen], d)
                             for name, d in zip(fields, deltas)), dense.shape)
        return (config.motion_prior * sum((d ** 2).flatten(2).sum(-1).mean() for d in deltas)
                + config.penetration * penetration(collider, body(moved), rest, power=2))

    rows = torch.arange(len(work))
    joint = fit_joint(model, pose, deltas, config.motion_lr, image, union, K_small, indices=rows,
                      motion_loss=motion_loss)
    with torch.no_grad():
        full = [getattr(params, name) + torch.einsum("tn,pn...->pt...", weights, d) for name, d in zip(fields, deltas)]
        refined = BodyParams(*full, params.shape)
        joints = body(refined, collision=False).joints.numpy()
    joints[np.isnan(result.joints)] = np.nan
    clock.append(time.perf_counter())
    if info is not None:
        with torch.no_grad():
            final = pose(rows)
            row = int(box_overlap(final, K_small).argmax())
            rendering = model.render(final[:, row], K_small, (image.shape[2], image.shape[1])).rgb.clamp(0, 1)
        info.update(appearance_loss=fitted, joint_loss=joint, stretches=stretches, rendered_frames=len(work),
                    seconds=dict(zip(("appearance", "order", "joint"), np.diff(clock).round(2).tolist())),
                    picture={"frame": int(work[row]), "image": image[row].numpy(), "mask": union[row].numpy(),
                             "rendering": rendering.numpy()})
    return dataclasses.replace(result, global_orient=full[0].numpy(), body_pose=full[1].numpy(),
                               transl=full[2].numpy(), joints=joints.astype(np.float32))


def save_picture(path: str | Path, picture: dict, title: str) -> None:
    """Write ``info["picture"]`` of :func:`refine_with_appearance` as a PNG: the frame, the
    rendering, and |rendering - frame with its background blacked out|."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = picture["image"] * picture["mask"][..., None]
    panels = (picture["image"], picture["rendering"], np.abs(picture["rendering"] - target).clip(0, 1))
    titles = (f"{title} frame {picture['frame']}", "rendering", "|rendering - masked frame|")
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    for ax, img, name in zip(axes, panels, titles):
        ax.imshow(img)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
