"""The embedded-default demo until the end-to-end pipeline lands: two anny bodies shaking
hands, posed through the SMPL-convention interface, with their contact and penetration
measured, rendered to a picture."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import roma
import torch

from interaction_recon.body import create, skeleton
from interaction_recon.body.collision import BodyCollider
from interaction_recon.config import Config
from interaction_recon.render.camera import look_at
from interaction_recon.viz.mesh_render import render_meshes

_J = {n: i for i, n in enumerate(skeleton.SMPL_JOINTS)}


def _aim(body_pose, joint: str, rest_dir, world_dir, parent_rot):
    """Set a joint's local rotation so its T-pose bone direction points along world_dir."""
    local_dir = parent_rot.T @ world_dir
    a, b = torch.as_tensor(rest_dir, dtype=torch.float32), local_dir / local_dir.norm()
    axis = torch.linalg.cross(a, b)
    angle = torch.atan2(axis.norm(), a @ b)
    body_pose[_J[joint] - 1] = axis / axis.norm() * angle


def handshake_params(body, gap: float = 0.95, drop: float = 0.3):
    """Two people facing each other ``gap`` metres apart along x, each right arm aimed so
    that the hand reaches the midpoint ``drop`` metres below shoulder height; left arms down."""
    params = body.neutral_params(2, 1)
    for p, (x, yaw) in enumerate(((-gap / 2, math.pi / 2), (gap / 2, -math.pi / 2))):
        params.global_orient[p, 0] = torch.tensor([0.0, yaw, 0.0])
        params.transl[p, 0] = torch.tensor([x, 0.0, 0.0])
    with torch.no_grad():
        shoulders = body(params).joints[:, 0, _J["right_shoulder"]]
    for p in range(2):
        R = roma.rotvec_to_rotmat(params.global_orient[p, 0])
        side = -math.copysign(0.03, float(shoulders[p, 0]))  # the two hands stop 6 cm apart in x
        target = torch.tensor([side, float(shoulders[p, 1]) - drop, 0.0])
        _aim(params.body_pose[p, 0], "right_shoulder", [-1.0, 0, 0], target - shoulders[p], R)
        _aim(params.body_pose[p, 0], "left_shoulder", [1.0, 0, 0], R @ torch.tensor([0.15, -1.0, 0.0]), R)
    return params


def run(out_dir: Path, config: Config) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    body = create(config.body)
    collider = BodyCollider(body, spacing=config.body.collision_spacing)
    t_load = time.perf_counter() - t0
    params = handshake_params(body)
    with torch.no_grad():
        t1 = time.perf_counter()
        out = body(params, full_mesh=True)
        depth = collider.penetration(out, collider.rest(params))
        hand_gap = collider.contact_distance(out, "right hand", "right hand")
        t_pose = time.perf_counter() - t1
    summary = {
        "body_model": body.name,
        "vertices": int(out.vertices.shape[2]),
        "collision_vertices": int(out.collision_vertices.shape[2]),
        "collision_spheres": int(collider.sphere_radius.shape[0]),
        "right_hand_gap_m": round(float(hand_gap[0]), 4),
        "penetration_max_mm": round(1000 * float(depth.max()), 1),
        "penetrating_vertices": int((depth > 0).sum()),
        "load_s": round(t_load, 2),
        "pose_and_query_s": round(t_pose, 3),
    }
    _picture(out_dir / "bodies.png", body, out, params)
    summary["picture"] = str(out_dir / "bodies.png")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _picture(path: Path, body, out, params) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    W, H = 960, 640
    K = np.array([[900.0, 0, W / 2], [0, 900.0, H / 2], [0, 0, 1]])
    R, t = look_at(eye=(0.9, 0.5, 3.2), target=(0.0, 0.0, 0.0))
    cmap = plt.get_cmap("tab20")
    faces = body.faces.cpu().numpy()
    part_of_face = body.coarse_parts.cpu().numpy()[faces[:, 0]]
    tint = (np.array([0.85, 0.55, 0.45]), np.array([0.45, 0.6, 0.9]))
    fig = plt.figure(figsize=(W / 100, H / 100), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    meshes = []
    for p in range(2):
        colors = 0.55 * np.asarray(cmap(part_of_face % 20))[:, :3] + 0.45 * tint[p]
        meshes.append((out.vertices[p, 0].cpu().numpy(), faces, colors))
    render_meshes(ax, meshes, K, R, t)
    for p in range(2):
        uv = (out.joints[p, 0].cpu().numpy() @ R.T + t) @ K.T
        uv = uv[:, :2] / uv[:, 2:]
        for j, parent in enumerate(skeleton.SMPL_PARENTS[1:], start=1):
            ax.plot(*uv[[j, parent]].T, color="k", lw=1.2)
        ax.scatter(*uv.T, s=8, color="k", zorder=3)
    ax.set_xlim(0, W)
    ax.set_ylim(H, 0)
    ax.axis("off")
    ax.text(10, 25, f"{body.name}: two people shaking hands (parts coloured, SMPL-24 skeleton)", fontsize=11)
    fig.savefig(path)
    plt.close(fig)
