"""Optimising the appearance branch, alone and jointly with the motion branch.

    frames, masks, K = prepare_frames(rgb, labels, K, config.downscale)
    fit_appearance(model, vertices, frames, masks, K)        # stage 1: low-contact frames
    fit_joint(model, pose, motion_params, motion_lr, frames, masks, K)   # stage 2

``vertices`` are both people's posed full meshes [P, T, V, 3] in the camera frame; ``pose``
maps frame indices [n] to such vertices [P, n, V, 3] from the caller's motion parameters, so
the appearance loss reaches them through the rendering.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from interaction_recon.appearance import gaussians as gs
from interaction_recon.appearance.avatar import AppearanceModel
from interaction_recon.appearance.raster import rasterize
from interaction_recon.body.model import BodyModel, BodyParams
from interaction_recon.fitting.camera import project


def prepare_frames(frames: Tensor, masks: Tensor, K: Tensor, factor: int) -> tuple[Tensor, Tensor, Tensor]:
    """Area-downscale frames [T, H, W, 3] (uint8 or float 0..1) and masks [T, H, W] (labels,
    > 0 = a person, or bool) by ``factor`` (the size is cropped to a multiple of it).
    Returns frames float [T, h, w, 3], union masks bool [T, h, w] (half the area or more), K [3, 3]."""
    frames, masks, K = torch.as_tensor(frames), torch.as_tensor(masks), torch.as_tensor(K, dtype=torch.float32)
    if frames.dtype == torch.uint8:
        frames = frames.float() / 255.0
    union = (masks > 0).float()
    if factor > 1:
        H, W = (s - s % factor for s in frames.shape[1:3])
        frames = F.avg_pool2d(frames[:, :H, :W].permute(0, 3, 1, 2), factor).permute(0, 2, 3, 1)
        union = F.avg_pool2d(union[:, None, :H, :W], factor)[:, 0]
        K = K.clone()
        K[:2] /= factor  # pixel centres at +0.5 stay consistent under area averaging
    return frames.contiguous(), union >= 0.5, K


def separation(vertices: Tensor, stride: int = 16) -> Tensor:
    """[T] smallest distance (m) between the two people's vertices [2, T, V, 3] per frame
    (every ``stride``-th vertex)."""
    sub = vertices[:, :, ::stride].detach()
    return torch.stack([torch.cdist(sub[0, t], sub[1, t]).min() for t in range(sub.shape[1])])


def box_overlap(vertices: Tensor, K: Tensor) -> Tensor:
    """[T] overlap of the two people's image bounding boxes (intersection over the smaller box)
    from camera-frame vertices [2, T, V, 3]."""
    uv = project(vertices.detach(), torch.as_tensor(K).to(vertices))
    lo, hi = uv.amin(2), uv.amax(2)  # [2, T, 2]
    inter = (torch.minimum(hi[0], hi[1]) - torch.maximum(lo[0], lo[1])).clamp_min(0).prod(-1)
    return inter / (hi - lo).prod(-1).amin(0).clamp_min(1e-9)


def calm_frames(vertices: Tensor, K: Tensor, count: int) -> Tensor:
    """Indices (ascending) of ``count`` frames of the two people [2, T, V, 3] (camera frame)
    with little occlusion and contact, spread over time: the calmest quarter of the frames
    (least image-box overlap, then largest 3D separation; at least ``count``), evenly sampled."""
    order = torch.argsort(separation(vertices), descending=True)
    order = order[torch.argsort(box_overlap(vertices, K)[order], stable=True)]
    pool = torch.sort(order[:max(count, len(order) // 4)]).values
    pick = torch.linspace(0, len(pool) - 1, min(count, len(pool))).round().long()
    return pool[pick]


def appearance_term(model: AppearanceModel, vertices: Tensor, frames: Tensor, masks: Tensor, K: Tensor,
                    indices: Tensor) -> Tensor:
    """Mean appearance loss over frames ``indices`` [n]. vertices [P, n, V, 3] are those
    frames' meshes; frames [T, h, w, 3] and masks [T, h, w] are indexed by ``indices``."""
    H, W = frames.shape[1:3]
    total = 0.0
    for j, t in enumerate(indices.tolist()):
        total = total + model.loss(frames[t], masks[t], model.render(vertices[:, j], K, (W, H)))
    return total / len(indices)


@torch.no_grad()
def init_colours(model: AppearanceModel, vertices: Tensor, frames: Tensor, masks: Tensor, K: Tensor,
                 indices: Tensor, tolerance: float = 0.05) -> Tensor:
    """Read the Gaussians' colours off frames ``indices``: each takes the mean colour of the
    pixel under its centre in the frames where it is visible (inside the union mask, its own
    person dominates the pixel, and it lies within ``tolerance`` m of the rendered depth);
    Gaussians never seen take their person's mean. Sets ``model.colour_base`` so that the
    decoded colours equal these. vertices [P, T, V, 3]. Returns the share seen per person [P]."""
    P, att = model.num_people, model.attachment
    H, W = frames.shape[1:3]
    K = torch.as_tensor(K).to(frames)
    gmap = model.gaussian_map()
    total, count = frames.new_zeros(P * len(att), 3), frames.new_zeros(P * len(att))
    for t in indices.tolist():
        g = model.gaussians(vertices[:, t], gmap)
        extra = torch.cat([g.means[:, 2:3], F.one_hot(g.person, P).to(g.means)], 1)
        image, alpha, _ = rasterize(g.means, g.quats, g.scales, g.opacities, extra, K, W, H,
                                    backend=model.config.backend)
        depth = (image[..., 0] / alpha.clamp_min(1e-6)).flatten()
        col, row = project(g.means, K).floor().long().unbind(-1)
        inside = (col >= 0) & (col < W) & (row >= 0) & (row < H)
        pix = row.clamp(0, H - 1) * W + col.clamp(0, W - 1)
        own = image[..., 1:].reshape(-1, P)[pix, g.person]
        seen = inside & masks[t].flatten()[pix] & (own > 0.5) & (g.means[:, 2] < depth[pix] + tolerance)
        total[seen] += frames[t].reshape(-1, 3)[pix[seen]]
        count[seen] += 1
    colour = (total / count.clamp_min(1)[:, None]).view(P, len(att), 3)
    seen = (count > 0).view(P, len(att))
    for p in range(P):
        fill = colour[p, seen[p]].mean(0) if seen[p].any() else colour.new_full((3,), 0.5)
        colour[p, ~seen[p]] = fill
    target = torch.logit(colour.clamp(0.02, 0.98)).transpose(1, 2)  # [P, 3, M]
    current = gmap[:, gs.channels("colour")].flatten(2)[..., att.texel]
    update = torch.zeros_like(model.colour_base).flatten(2)
    update[..., att.texel] = target - current
    model.colour_base += update.view_as(model.colour_base)
    return seen.float().mean(1)


def fit_appearance(model: AppearanceModel, vertices: Tensor, frames: Tensor, masks: Tensor, K: Tensor,
                   indices: Tensor | None = None, steps: int | None = None, frames_per_step: int = 2,
                   init: bool = True) -> list[float]:
    """Stage 1: fit the latents and decoder to frames ``indices`` (default: the config's
    ``appearance_frames`` calmest ones) with the meshes vertices [P, T, V, 3] held fixed,
    after reading the colours off those frames (:func:`init_colours`) unless ``init`` is False.
    Each step renders ``frames_per_step`` of them in turn. Returns the loss per step."""
    cfg = model.config
    vertices = vertices.detach()
    if indices is None:
        indices = calm_frames(vertices, K, cfg.appearance_frames)
    if init:
        init_colours(model, vertices, frames, masks, K, indices)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.appearance_lr)
    history = []
    for step in range(cfg.appearance_steps if steps is None else steps):
        pick = indices[(torch.arange(frames_per_step) + step * frames_per_step) % len(indices)]
        loss = appearance_term(model, vertices[:, pick], frames, masks, K, pick)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    return history


def body_motion(body: BodyModel, params: BodyParams, fields: tuple[str, ...] = ("global_orient", "body_pose", "transl")
                ) -> tuple[Callable[[Tensor], Tensor], list[Tensor]]:
    """Motion parameters for :func:`fit_joint` from camera-frame body parameters [P, T]:
    zero-initialised additive corrections to ``fields`` (each shaped like the field) and
    pose(indices [n]) -> the corrected full meshes [P, n, V, 3]."""
    deltas = {name: torch.zeros_like(getattr(params, name), requires_grad=True) for name in fields}

    def pose(indices: Tensor) -> Tensor:
        moving = {name: getattr(params, name)[:, indices] + (deltas[name][:, indices] if name in deltas else 0.0)
                  for name in ("global_orient", "body_pose", "transl")}
        return body(BodyParams(**moving, shape=params.shape), full_mesh=True, collision=False).vertices

    return pose, list(deltas.values())


def fit_joint(model: AppearanceModel, pose: Callable[[Tensor], Tensor], motion_params: list[Tensor],
              motion_lr: float, frames: Tensor, masks: Tensor, K: Tensor, indices: Tensor | None = None,
              steps: int | None = None, motion_loss: Callable[[], Tensor] | None = None) -> list[float]:
    """Stage 2: appearance and motion together, Adam with one learning rate per branch
    (``config.appearance_lr`` and ``motion_lr``). pose(indices [n]) -> vertices [P, n, V, 3]
    from ``motion_params``; frames ``indices`` default to every ``config.every``-th one;
    ``motion_loss()`` adds the caller's own terms. Returns the total loss per step."""
    cfg = model.config
    if indices is None:
        indices = torch.arange(0, frames.shape[0], cfg.every)
    opt = torch.optim.Adam([{"params": list(model.parameters()), "lr": cfg.appearance_lr},
                            {"params": list(motion_params), "lr": motion_lr}])
    history = []
    for _ in range(cfg.joint_steps if steps is None else steps):
        loss = cfg.weight * appearance_term(model, pose(indices), frames, masks, K, indices)
        if motion_loss is not None:
            loss = loss + motion_loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    return history
