"""Ground truth of a synthetic clip: everything the metrics and the prior's training need.

All arrays are numpy, person axis first ([2, T, ...]); 3D in metres, 2D in pixels.
"""
from __future__ import annotations

import numpy as np
import roma
import torch

from interaction_recon.body import BodyModel, BodyParams, skeleton
from interaction_recon.body.collision import BodyCollider
from interaction_recon.synth.camera import Camera

CONTACT_M = 0.02  # surfaces within 2 cm touch (METRICS.md)


def camera_params(params: BodyParams, camera: Camera, rest_pelvis: np.ndarray) -> dict:
    """SMPL-convention parameters re-expressed in the camera frame.

    The pelvis is the centre of global_orient, so rotating the world rotates global_orient
    and moves the pelvis: transl_cam = R (rest_pelvis + transl) + t - rest_pelvis.
    rest_pelvis [2, 3] per person.
    """
    R = torch.as_tensor(camera.R, dtype=torch.float32)  # [T,3,3]
    orient = roma.rotmat_to_rotvec(R @ roma.rotvec_to_rotmat(params.global_orient))
    pelvis_world = rest_pelvis[:, None] + params.transl.numpy()
    pelvis_cam = camera.to_camera(pelvis_world[:, :, None])[:, :, 0]
    return {"global_orient": orient.numpy(), "transl": (pelvis_cam - rest_pelvis[:, None]).astype(np.float32)}


def contacts(collision_vertices: torch.Tensor, collider: BodyCollider, body: BodyModel) -> dict:
    """Vertex- and part-level contacts between person 0 and 1 (collision mesh, within 2 cm).

    collision_vertices [2, T, Vc, 3] -> ``contact_vertices`` int32 [N, 3] (frame, vertex of
    person 0, vertex of person 1: every pair within 2 cm), ``contact_parts`` list of
    (frame, coarse part of person 0, coarse part of person 1) and ``contact_pairs`` int32
    [M, 3] (frame, SMPL joint of person 0, SMPL joint of person 1) of the touching parts.
    """
    parts = body.collision_coarse_parts.cpu().numpy()
    joints = body.collision_smpl_parts.cpu().numpy()
    rows = []
    for t in range(collision_vertices.shape[1]):
        d = torch.cdist(collision_vertices[0, t], collision_vertices[1, t])
        a, b = (d < CONTACT_M).nonzero(as_tuple=True)
        rows.append(np.stack([np.full(len(a), t), a.numpy(), b.numpy()], 1))
    pairs = np.concatenate(rows).astype(np.int32) if rows else np.zeros((0, 3), np.int32)
    part_rows = sorted({(int(t), skeleton.COARSE_PARTS[parts[a]], skeleton.COARSE_PARTS[parts[b]])
                        for t, a, b in pairs})
    joint_rows = sorted({(int(t), int(joints[a]), int(joints[b])) for t, a, b in pairs})
    return {
        "contact_vertices": pairs,
        "contact_parts": part_rows,
        "contact_pairs": np.asarray(joint_rows, dtype=np.int32).reshape(-1, 3),
    }


def ground_truth(params: BodyParams, camera: Camera, body: BodyModel, collider: BodyCollider) -> dict:
    """Per-frame ground truth of a two-person motion ([2, T] world-frame params) seen by ``camera``."""
    with torch.no_grad():
        out = body(params)
        rest = collider.rest(params)
        depth = collider.penetration(out, rest)
    rest_pelvis = rest.joints[:, 0, 0].numpy()
    joints_world = out.joints.numpy()
    cam = lambda x: camera.to_camera(x.numpy() if torch.is_tensor(x) else x)  # noqa: E731
    joints_cam = cam(joints_world)
    coco_cam, blaze_cam, coll_cam = cam(out.coco17), cam(out.blazepose33), cam(out.collision_vertices)
    uv_coll = camera.project(coll_cam)
    boxes = np.concatenate([uv_coll.min(2), uv_coll.max(2)], axis=-1)  # amodal, [2,T,4]
    cp = camera_params(params, camera, rest_pelvis)
    gt = {
        "global_orient_world": params.global_orient.numpy(),
        "transl_world": params.transl.numpy(),
        "global_orient": cp["global_orient"],
        "transl": cp["transl"],
        "body_pose": params.body_pose.numpy(),
        "shape": params.shape.numpy(),
        "joints_world": joints_world,
        "joints": joints_cam.astype(np.float32),
        "joints2d": camera.project(joints_cam).astype(np.float32),
        "coco17": coco_cam.astype(np.float32),
        "coco17_2d": camera.project(coco_cam).astype(np.float32),
        "blazepose33": blaze_cam.astype(np.float32),
        "blazepose33_2d": camera.project(blaze_cam).astype(np.float32),
        "boxes": boxes.astype(np.float32),
        "root_depth": joints_cam[:, :, [1, 2]].mean(2)[..., 2].astype(np.float32),
        "penetration_mm": (1000 * depth.numpy()).astype(np.float32),
        "K": camera.K,
        "R": camera.R,
        "t": camera.t,
    }
    gt["nearer_person"] = np.argmin(gt["root_depth"], axis=0).astype(np.int8)
    gt.update(contacts(out.collision_vertices, collider, body))
    return gt
