"""The anny backend through the SMPL-convention interface."""
import math

import pytest
import roma
import torch

from interaction_recon.body import BodyParams, skeleton

J = {n: i for i, n in enumerate(skeleton.SMPL_JOINTS)}
COCO = {n: i for i, n in enumerate(skeleton.COCO17)}
BLAZE = {n: i for i, n in enumerate(skeleton.BLAZEPOSE33)}


def test_outputs_have_person_frame_batching_and_float32(anny_body):
    out = anny_body(anny_body.neutral_params(2, 3), full_mesh=True)
    assert out.joints.shape == (2, 3, 24, 3)
    assert out.rotations.shape == (2, 3, 24, 3, 3)
    assert out.coco17.shape == (2, 3, 17, 3)
    assert out.blazepose33.shape == (2, 3, 33, 3)
    assert out.vertices.shape == (2, 3, 13718, 3)
    assert out.collision_vertices.shape == (2, 3, 1229, 3)
    for t in (out.joints, out.coco17, out.blazepose33, out.vertices, out.collision_vertices):
        assert t.dtype == torch.float32 and torch.isfinite(t).all()
    assert anny_body(anny_body.neutral_params(2, 3)).vertices is None


def test_gradients_reach_every_parameter(anny_body):
    params = anny_body.neutral_params(2, 2)
    params.body_pose.normal_(0, 0.2)
    params = params.map(lambda t: t.clone().requires_grad_(True))
    out = anny_body(params)
    (out.joints.square().sum() + out.collision_vertices.square().sum() + out.blazepose33.sum()).backward()
    for name in ("global_orient", "body_pose", "transl", "shape"):
        grad = getattr(params, name).grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_t_pose_faces_plus_z_with_left_side_at_plus_x(anny_body):
    j = anny_body(anny_body.neutral_params(1, 1)).joints[0, 0]
    kp = anny_body(anny_body.neutral_params(1, 1)).coco17[0, 0]
    assert j[J["left_wrist"], 0] > 0.5 and j[J["right_wrist"], 0] < -0.5
    assert j[J["left_hip"], 0] > 0.05 and j[J["right_hip"], 0] < -0.05
    assert j[J["head"], 1] > j[J["pelvis"], 1] + 0.5 > j[J["left_ankle"], 1] + 1.0
    # arms straight and horizontal in the T-pose
    for side in ("left", "right"):
        arm = j[[J[f"{side}_shoulder"], J[f"{side}_elbow"], J[f"{side}_wrist"]]]
        assert (arm[:, 1] - arm[0, 1]).abs().max() < 1e-4 and (arm[:, 2] - arm[0, 2]).abs().max() < 1e-4
    assert kp[COCO["nose"], 2] > j[J["head"], 2] + 0.05  # the nose is in front
    assert kp[COCO["left_eye"], 0] > 0 > kp[COCO["right_eye"], 0]


def test_keypoint_layouts_are_mirror_symmetric(anny_body):
    out = anny_body(anny_body.neutral_params(1, 1))
    for points, names in ((out.coco17, skeleton.COCO17), (out.blazepose33, skeleton.BLAZEPOSE33)):
        p = points[0, 0]
        mirrored = p[skeleton.flip_permutation(names)] * torch.tensor([-1.0, 1.0, 1.0])
        assert (mirrored - p).norm(dim=-1).max() < 0.01
    joints = out.joints[0, 0]
    mirrored = joints[skeleton.flip_permutation(skeleton.SMPL_JOINTS)] * torch.tensor([-1.0, 1.0, 1.0])
    assert (mirrored - joints).norm(dim=-1).max() < 0.01


def test_keypoints_sit_near_their_joints(anny_body):
    out = anny_body(anny_body.neutral_params(1, 1))
    j, blaze = out.joints[0, 0], out.blazepose33[0, 0]
    for name in ("left_shoulder", "left_elbow", "left_wrist", "left_knee", "left_ankle", "right_hip"):
        assert (blaze[BLAZE[name]] - j[J[name]]).norm() < 0.06, name
    assert (blaze[BLAZE["left_index"]] - j[J["left_hand"]]).norm() < 0.05


def test_elbow_rotation_bends_the_forearm_as_smpl_would(anny_body):
    params = anny_body.neutral_params(1, 1)
    params.body_pose[0, 0, J["left_elbow"] - 1] = torch.tensor([0.0, math.pi / 2, 0.0])
    out = anny_body(params)
    j = out.joints[0, 0]
    forearm = j[J["left_wrist"]] - j[J["left_elbow"]]
    # R_y(90 deg) takes the T-pose forearm direction +x to -z
    assert torch.allclose(forearm / forearm.norm(), torch.tensor([0.0, 0.0, -1.0]), atol=1e-4)
    expected = roma.rotvec_to_rotmat(torch.tensor([0.0, math.pi / 2, 0.0]))
    assert torch.allclose(out.rotations[0, 0, J["left_wrist"]], expected, atol=1e-5)
    # the upper arm did not move
    rest = anny_body(anny_body.neutral_params(1, 1)).joints[0, 0]
    assert torch.allclose(j[J["left_elbow"]], rest[J["left_elbow"]], atol=1e-5)


def test_global_orient_turns_the_body_and_transl_moves_the_pelvis(anny_body):
    params = anny_body.neutral_params(1, 1)
    rest = anny_body(params).joints[0, 0]
    params.global_orient[0, 0] = torch.tensor([0.0, math.pi, 0.0])
    params.transl[0, 0] = torch.tensor([0.3, -0.2, 2.0])
    j = anny_body(params).joints[0, 0]
    assert torch.allclose(j[J["pelvis"]], rest[J["pelvis"]] + params.transl[0, 0], atol=1e-5)
    assert j[J["left_wrist"], 0] < 0.3 - 0.5  # turned around: left hand now at -x


def test_height_phenotype_makes_a_taller_body(anny_body):
    params = anny_body.neutral_params(2, 1)
    params.shape[0, 4], params.shape[1, 4] = 0.2, 0.9
    v = anny_body(params).collision_vertices[:, 0]
    height = v[..., 1].max(-1).values - v[..., 1].min(-1).values
    assert height[1] > height[0] + 0.05


def test_bad_parameters_raise_clear_errors(anny_body):
    params = anny_body.neutral_params(2, 4)
    with pytest.raises(ValueError, match="body_pose"):
        anny_body(BodyParams(params.global_orient, params.body_pose[:, :, :10], params.transl, params.shape))
    params.transl[0, 1, 0] = float("nan")
    with pytest.raises(ValueError, match="transl contains NaN"):
        anny_body(params)


def test_every_part_has_vertices_on_the_right_side(anny_body):
    out = anny_body(anny_body.neutral_params(1, 1), full_mesh=True)
    v = out.vertices[0, 0]
    for labels, names in ((anny_body.smpl_parts, skeleton.SMPL_PARTS), (anny_body.coarse_parts, skeleton.COARSE_PARTS),
                          (anny_body.collision_coarse_parts, skeleton.COARSE_PARTS)):
        counts = torch.bincount(labels, minlength=len(names))
        assert (counts > 0).all(), [n for n, c in zip(names, counts) if c == 0]
    left_hand = anny_body.coarse_parts == skeleton.COARSE_PARTS.index("left hand")
    assert (v[left_hand, 0] > 0.5).all()
    face = anny_body.coarse_parts == skeleton.COARSE_PARTS.index("face")
    back = anny_body.coarse_parts == skeleton.COARSE_PARTS.index("back")
    assert v[face, 2].mean() > v[back, 2].mean() + 0.1


def test_uv_layout_covers_the_mesh(anny_body):
    assert anny_body.face_uv.shape == anny_body.faces.shape
    assert anny_body.uv.min() >= 0 and anny_body.uv.max() <= 1
    assert anny_body.face_uv.max() < anny_body.uv.shape[0]


def test_coarse_part_names_resolve_groups_and_sides():
    assert skeleton.coarse_part_members("left arm") == ("left upper arm", "left elbow", "left forearm")
    assert skeleton.coarse_part_members("hand") == ("left hand", "right hand")
    with pytest.raises(KeyError, match="unknown body part"):
        skeleton.coarse_part_members("tail")
