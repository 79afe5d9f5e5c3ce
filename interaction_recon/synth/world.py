"""One synthetic clip end to end: motion -> camera -> ground truth -> rendered frames and masks.

    scene = make_scene("hug", seed=3, body=body, collider=collider)
    write_dataset(root, [("hug", 3), ("handshake", 4)])    # what `interaction-recon synth` does

A clip is a pure function of (kind, seed, size, images): generation is deterministic, and the
same on every machine, because :func:`write_dataset` builds the body model and the motions at a
fixed thread count (GENERATION_THREADS).
"""
from __future__ import annotations

import time
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from interaction_recon.body import BodyModel, skeleton
from interaction_recon.body.collision import BodyCollider
from interaction_recon.render import mesh as render
from interaction_recon.synth import appearance, dataset, motions, specs
from interaction_recon.synth.camera import sample_camera
from interaction_recon.synth.groundtruth import ground_truth

# The body model's construction and the motion refinement's Adam steps follow float summation
# order, which depends on torch's thread count (one thread instead of two moves a joint by up to
# 0.24 rad): every machine generates at this count, the one the dev suite's clips and results were
# made with.
GENERATION_THREADS = 2
VISIBILITY_SCALE = 4  # clips without images find occlusion on a 4x smaller rendering
MOVING_CAMERA_SHARE = 0.3


def _rng(kind: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(kind.encode())])


@contextmanager
def _threads(count: int):
    """torch's intra-op thread count set to ``count`` inside the block, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _labels(mesh_id: np.ndarray) -> np.ndarray:
    """Rendered mesh ids -> mask labels: 0 background, 1 person 0, 2 person 1."""
    labels = mesh_id.astype(np.int16) + 1
    labels[(mesh_id < 0) | (mesh_id > 1)] = 0
    return labels.astype(np.uint8)


def make_scene(kind: str, seed: int, body: BodyModel, collider: BodyCollider,
               size: tuple[int, int] = (512, 512), images: bool = True) -> dataset.Scene:
    """Generate one clip of interaction ``kind`` (see specs.INTERACTIONS)."""
    if kind not in specs.INTERACTIONS:
        raise ValueError(f"unknown interaction {kind!r}; choose from {specs.INTERACTIONS}")
    rng = _rng(kind, seed)
    clock = [time.perf_counter()]
    motion = motions.generate_motion(kind, rng, body, collider)
    clock.append(time.perf_counter())
    params = motion.params
    with torch.no_grad():
        out = body(params, full_mesh=True)
        rest = body.rest(params.shape, full_mesh=True)
    chest = out.joints[:, :, skeleton.SMPL_JOINTS.index("spine3")].mean(0).numpy()  # [T,3]
    moving = bool(rng.random() < MOVING_CAMERA_SHARE)
    camera = sample_camera(rng, chest, size=size, moving=moving)
    gt = ground_truth(params, camera, body, collider)
    clock.append(time.perf_counter())
    looks = [appearance.sample_look(rng, i) for i in rng.permutation(2)]  # either may wear the dark top
    colors = [appearance.vertex_colors(body, look, rest.vertices[p, 0]) for p, look in enumerate(looks)]
    backdrop = _room_around(appearance.sample_backdrop(rng), chest.mean(0), camera)
    frames, masks, visible = _render_clip(out.vertices.numpy(), body.faces, colors, backdrop, camera, gt, images)
    gt.update(visible)
    clock.append(time.perf_counter())
    meta = {"kind": kind, "seed": seed, "fps": motion.fps, "width": size[0], "height": size[1],
            "body_model": body.name, "contact_plan": [list(c) for c in motion.contact_plan],
            "variation": motion.variation, "camera_moving": moving,
            "seconds": dict(zip(("motion", "ground_truth", "render"), np.diff(clock).round(3).tolist())),
            "looks": [{k: np.asarray(v).tolist() for k, v in look.__dict__.items()} for look in looks]}
    return dataset.Scene(name=f"{kind}-{seed:04d}", meta=meta, gt=gt, frames=frames, masks=masks)


def _room_around(room: appearance.Backdrop, centre: np.ndarray, camera) -> appearance.Backdrop:
    """Centre the room on the pair and widen it so that every camera position is inside."""
    v = room.vertices
    half = float(v[:, [0, 2]].abs().max(0).values.min())
    eyes = -np.einsum("tji,tj->ti", camera.R, camera.t)  # camera centres in the world
    reach = float(np.abs(eyes[:, [0, 2]] - centre[[0, 2]]).max()) + 1.0
    scale = max(1.0, reach / half)
    moved = v * v.new_tensor([scale, 1.0, scale]) + v.new_tensor([centre[0], 0.0, centre[2]])
    return appearance.Backdrop(vertices=moved, faces=room.faces, colors=room.colors)


def _render_clip(vertices: np.ndarray, faces: torch.Tensor, colors, backdrop, camera, gt: dict, images: bool):
    """Frames [T,H,W,3] and mask labels [T,H,W] (None without images), and per-joint visibility.

    vertices [2, T, V, 3] world. Without images, occlusion is found on a smaller rendering of
    the two people alone.
    """
    scale = 1 if images else VISIBILITY_SCALE
    W, H = camera.width // scale, camera.height // scale
    K = torch.as_tensor(camera.K, dtype=torch.float32).clone()
    K[:2] /= scale
    verts_cam = torch.as_tensor(camera.to_camera(vertices), dtype=torch.float32)
    points = {name: torch.as_tensor(gt[key], dtype=torch.float32)
              for name, key in (("visible_joints", "joints"), ("visible_coco17", "coco17"),
                                ("visible_blazepose33", "blazepose33"))}
    T = vertices.shape[1]
    visible = {name: np.zeros(p.shape[:3], dtype=bool) for name, p in points.items()}
    frames = np.zeros((T, H, W, 3), np.uint8) if images else None
    masks = np.zeros((T, H, W), np.uint8) if images else None
    people = torch.arange(2)
    for t in range(T):
        meshes = [(verts_cam[p, t], faces, colors[p]) for p in range(2)]
        if images:
            meshes.append(backdrop.to_camera(torch.as_tensor(camera.R[t]), torch.as_tensor(camera.t[t])))
        r = render.render(meshes, K, H, W)
        for name, p in points.items():
            visible[name][:, t] = render.visible_points(r, p[:, t], people, K).numpy()
        if images:
            frames[t], masks[t] = r.rgb.numpy(), _labels(r.mesh_id.numpy())
    return frames, masks, visible


def write_dataset(root: Path, jobs: list[tuple[str, int]], size: tuple[int, int] = (512, 512),
                  images: bool = True, progress=None) -> list[dataset.Scene]:
    """Generate the (kind, seed) clips into ``root`` with an index; returns the scenes
    (their frames are dropped from memory once written)."""
    from interaction_recon.body import create

    root = Path(root)
    scenes = []
    with _threads(GENERATION_THREADS):
        body = create()
        collider = BodyCollider(body)
        for kind, seed in jobs:
            scene = make_scene(kind, seed, body, collider, size=size, images=images)
            dataset.write_scene(scene, root)
            scene.frames, scene.masks, scene.root = None, None, root / scene.name
            scenes.append(scene)
            if progress:
                progress(1)
    dataset.write_index(root, scenes)
    return scenes
