"""Pictures of a reconstruction: fitted bodies over the video frames, and a 3D preview."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from interaction_recon.body.model import BodyModel
from interaction_recon.fitting.result import Reconstruction

PERSON_COLORS = np.array([[0.95, 0.45, 0.2], [0.2, 0.55, 0.95]])  # slot 0 orange, slot 1 blue


def _meshes(body: BodyModel, result: Reconstruction, index: np.ndarray) -> np.ndarray:
    """Full-mesh vertices [2, n, V, 3] (camera frame) of the frames at positions ``index``."""
    with torch.no_grad():
        return body(result.select(index).params(body.faces.device), full_mesh=True).vertices.cpu().numpy()


def overlay(frame: np.ndarray, vertices: np.ndarray, faces: np.ndarray, K: np.ndarray, present: np.ndarray,
            alpha: float = 0.6) -> np.ndarray:
    """Blend both bodies (vertices [2, V, 3] camera frame) over an RGB frame [H, W, 3] uint8."""
    from interaction_recon.render.mesh import render

    H, W = frame.shape[:2]
    f = torch.as_tensor(faces)
    meshes = [(torch.as_tensor(vertices[p]), f, torch.as_tensor(PERSON_COLORS[p]).float().expand(len(vertices[p]), 3))
              for p in range(2) if present[p]]
    if not meshes:
        return frame
    out = render(meshes, torch.as_tensor(K, dtype=torch.float32), H, W)
    hit = (out.mesh_id >= 0).numpy()[..., None]
    blend = (1 - alpha) * frame + alpha * out.rgb.numpy()
    return np.where(hit, blend, frame).astype(np.uint8)


def write_overlay_video(path: Path, frames, body: BodyModel, result: Reconstruction, fps: float,
                        progress=None, chunk: int = 16) -> Path:
    """frames: iterable of RGB frames in the order of ``result.frames``; writes an MP4."""
    import cv2

    faces = body.faces.cpu().numpy()
    writer = None
    present = result.confidence > 0
    frames = iter(frames)
    for start in range(0, result.num_frames, chunk):
        index = np.arange(start, min(start + chunk, result.num_frames))
        verts = _meshes(body, result, index)
        for i, t in enumerate(index):
            frame = next(frames)
            img = overlay(frame, verts[:, i], faces, result.K, present[:, t])
            if writer is None:
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (img.shape[1], img.shape[0]))
            writer.write(img[..., ::-1])
            if progress:
                progress(1)
    if writer is not None:
        writer.release()
    return path


def preview(path: Path, body: BodyModel, result: Reconstruction, frame_index: int | None = None) -> Path:
    """A 3D picture of both bodies at one frame (default: the frame with the most contacts),
    seen from the camera and from the side, contacts as black dots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from interaction_recon.render.camera import look_at
    from interaction_recon.viz.mesh_render import render_meshes

    if frame_index is None:
        counts = np.bincount([np.searchsorted(result.frames, c.frame) for c in result.contacts],
                             minlength=result.num_frames)
        frame_index = int(counts.argmax()) if counts.any() else result.num_frames // 2
    verts = _meshes(body, result, np.array([frame_index]))[:, 0]
    faces = body.faces.cpu().numpy()
    present = result.confidence[:, frame_index] > 0
    centre = np.nanmean(result.joints[present, frame_index, 0], 0) if present.any() else np.array([0, 0, 3.0])
    W, H = 640, 640
    K = np.array([[700.0, 0, W / 2], [0, 700.0, H / 2], [0, 0, 1]])
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    views = {"camera view": centre + np.array([0, 0, -3.2]), "side view": centre + np.array([3.2, -0.3, 0])}
    for ax, (title, eye) in zip(axes, views.items()):
        R, t = look_at(eye, centre, up=(0.0, -1.0, 0.0))
        render_meshes(ax, [(verts[p], faces, PERSON_COLORS[p]) for p in range(2) if present[p]], K, R, t)
        pts = np.array([c.point for c in result.contacts_at(int(result.frames[frame_index]))]).reshape(-1, 3)
        if len(pts):
            uv = (pts @ R.T + t) @ K.T
            ax.scatter(uv[:, 0] / uv[:, 2], uv[:, 1] / uv[:, 2], c="k", s=12, zorder=5)
        ax.set_xlim(0, W)
        ax.set_ylim(H, 0)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title)
    fig.suptitle(f"frame {int(result.frames[frame_index])}: {len(result.contacts_at(int(result.frames[frame_index])))} contacts")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
