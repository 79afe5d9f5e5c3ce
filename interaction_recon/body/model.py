"""The body-model interface: SMPL-convention parameters in, posed geometry out.

Every backend (``anny``, ``smpl``) is a :class:`BodyModel`. Parameters are batched over
``[person P, frame T]``; outputs keep that batching. The frame of the outputs is whatever
frame ``global_orient`` and ``transl`` are expressed in; the rest pose is a T-pose standing
along +y, facing +z, with its left side at +x (SMPL's convention).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import roma
import torch
from torch import Tensor

from interaction_recon.body import skeleton


@dataclass
class BodyParams:
    """SMPL-convention parameters of P people over T frames.

    global_orient: [P, T, 3] axis-angle of the pelvis.
    body_pose:     [P, T, 23, 3] axis-angle of joints 1..23 relative to their parent,
                   zero = SMPL's T-pose rest.
    transl:        [P, T, 3] metres; the posed pelvis joint sits at rest_pelvis + transl.
    shape:         [P, S] one shape per person (anny: 6 phenotypes in [0, 1]; smpl: betas).
    """

    global_orient: Tensor
    body_pose: Tensor
    transl: Tensor
    shape: Tensor

    @property
    def batch(self) -> tuple[int, int]:
        return tuple(self.global_orient.shape[:2])

    def map(self, fn) -> "BodyParams":
        """Apply ``fn`` to every tensor (e.g. ``.detach()``, ``.to(device)``)."""
        return replace(self, **{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def validate(self, num_shape: int) -> None:
        """Raise ``ValueError`` naming the first tensor whose shape or values are wrong."""
        P, T = self.batch
        expected = {
            "global_orient": (P, T, 3),
            "body_pose": (P, T, skeleton.NUM_BODY_JOINTS, 3),
            "transl": (P, T, 3),
            "shape": (P, num_shape),
        }
        for name, shape in expected.items():
            value = getattr(self, name)
            if tuple(value.shape) != shape:
                raise ValueError(f"BodyParams.{name}: expected shape {shape}, got {tuple(value.shape)}")
            if not torch.isfinite(value).all():
                raise ValueError(f"BodyParams.{name} contains NaN or inf")


@dataclass
class BodyOutput:
    """Posed geometry of P people over T frames (metres, the parameters' frame).

    joints:             [P, T, 24, 3] SMPL-24 joints.
    rotations:          [P, T, 24, 3, 3] each joint's global rotation (rest -> posed).
    coco17:             [P, T, 17, 3] COCO-17 keypoints.
    blazepose33:        [P, T, 33, 3] BlazePose GHUM keypoints.
    collision_vertices: [P, T, Vc, 3] the low-resolution collision mesh on the same rig (None when
                        not asked for and the backend would have to skin it separately).
    vertices:           [P, T, V, 3] the full mesh, or None unless asked for.
    """

    joints: Tensor
    rotations: Tensor
    coco17: Tensor
    blazepose33: Tensor
    collision_vertices: Tensor | None
    vertices: Tensor | None = None


def minimal_rotation(a: Tensor, b: Tensor) -> Tensor:
    """[..., 3, 3] the smallest rotation taking unit direction a [..., 3] onto b [..., 3]."""
    axis = torch.linalg.cross(a, b)
    angle = torch.atan2(axis.norm(dim=-1), (a * b).sum(-1))
    return roma.rotvec_to_rotmat(axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-9) * angle.unsqueeze(-1))


def global_rotations(local: Tensor) -> Tensor:
    """Chain local joint rotations [..., 24, 3, 3] down the SMPL tree into global ones."""
    out = [local[..., 0, :, :]]
    for j in range(1, skeleton.NUM_JOINTS):
        out.append(out[skeleton.SMPL_PARENTS[j]] @ local[..., j, :, :])
    return torch.stack(out, dim=-3)


def blend_transforms(weights: Tensor, transforms: Tensor) -> Tensor:
    """Linear-blend-skinning transforms: weights [V, B] x transforms [..., B, 3, 4] -> [..., V, 3, 4]."""
    flat = transforms.flatten(-2)  # [..., B, 12]
    return torch.matmul(weights, flat).unflatten(-1, (3, 4))


def apply_transforms(transforms: Tensor, points: Tensor) -> Tensor:
    """Apply per-point rigid/affine transforms [..., V, 3, 4] to points [..., V, 3]."""
    return (transforms[..., :3] @ points.unsqueeze(-1)).squeeze(-1) + transforms[..., 3]


class BodyModel(torch.nn.Module):
    """Common front of every backend; subclasses implement :meth:`_pose` and the tables.

    Buffers every backend provides:
        faces [F, 3], collision_faces [Fc, 3] (or an empty [0, 3] for point-only collision
        sets), collision_index [Vc] (full-mesh vertex each collision vertex stands for, or -1),
        smpl_parts [V] and coarse_parts [V] (indices into skeleton.SMPL_PARTS / COARSE_PARTS),
        collision_smpl_parts [Vc], collision_coarse_parts [Vc],
        landmark_weights [L, S + NB] mapping landmark-support vertices and skeleton bones
        to skeleton.LANDMARKS.
    uv [Vt, 2] with face_uv [F, 3] (None where the model has no UV layout).
    """

    name: str = "body"
    num_shape: int = 0
    # Shape coordinates that change stature, tried in order by :meth:`resized`: (index, low, high).
    size_axes: tuple[tuple[int, float, float], ...] = ()

    def default_shape(self, num_people: int) -> Tensor:
        """[P, S] the average body of this model."""
        raise NotImplementedError

    def neutral_params(self, num_people: int = 2, num_frames: int = 1) -> BodyParams:
        """T-posed average bodies at the origin, [P, T] batched, on the model's device."""
        P, T = num_people, num_frames
        z = self.faces.new_zeros((), dtype=torch.float32)
        return BodyParams(
            global_orient=z.new_zeros(P, T, 3),
            body_pose=z.new_zeros(P, T, skeleton.NUM_BODY_JOINTS, 3),
            transl=z.new_zeros(P, T, 3),
            shape=self.default_shape(P),
        )

    def rest(self, shape: Tensor, full_mesh: bool = False) -> BodyOutput:
        """T-posed bodies [P, 1] of these shapes [P, S] at the origin."""
        params = self.neutral_params(shape.shape[0], 1).map(lambda t: t.to(shape))
        params.shape = shape
        return self(params, full_mesh=full_mesh)

    def stature(self, shape: Tensor) -> Tensor:
        """[P] head-joint-to-ankle height (m) of T-posed bodies of shapes [P, S]."""
        with torch.no_grad():
            joints = self.rest(shape).joints[:, 0]
        head, ankles = skeleton.SMPL_JOINTS.index("head"), [skeleton.SMPL_JOINTS.index(n) for n in ("left_ankle", "right_ankle")]
        return joints[:, head, 1] - joints[:, ankles, 1].mean(-1)

    def height(self, shape: Tensor) -> Tensor:
        """[P] standing height (m, crown to soles) of T-posed bodies of shapes [P, S]: their
        meshes' extent along the rest pose's up axis (y)."""
        with torch.no_grad():
            up = self.rest(shape, full_mesh=True).vertices[:, 0, :, 1]
        return up.amax(-1) - up.amin(-1)

    def resized(self, shape: Tensor, ratio: Tensor, steps: int = 14) -> Tensor:
        """Shapes [P, S] whose stature is ``ratio`` [P] times that of ``shape``, found by
        bisection along :attr:`size_axes` (the next axis takes over where one saturates); the
        nearest reachable size where the ratio is out of the model's range."""
        shape = shape.detach().clone()
        target = self.stature(shape) * ratio.to(shape)
        for index, low, high in self.size_axes:
            lo, hi = torch.full_like(target, low), torch.full_like(target, high)
            grows = self.stature(_with(shape, index, hi)) > self.stature(_with(shape, index, lo))
            lo, hi = torch.where(grows, lo, hi), torch.where(grows, hi, lo)  # stature rises from lo to hi
            start = shape[:, index].clone()
            for _ in range(steps):
                mid = 0.5 * (lo + hi)
                short = self.stature(_with(shape, index, mid)) < target
                lo, hi = torch.where(short, mid, lo), torch.where(short, hi, mid)
            shape[:, index] = torch.where(ratio.to(shape) == 1, start, 0.5 * (lo + hi))
        return shape

    def _pose(self, rotations: Tensor, transl: Tensor, shape: Tensor, full_mesh: bool, collision: bool = True) -> dict:
        """Backend core. rotations [P, T, 24, 3, 3] global; returns a dict with
        ``joints`` [P,T,24,3], ``landmark_points`` [P,T,S+NB,3], ``collision_vertices``
        [P,T,Vc,3] (may be left out unless ``collision``) and ``vertices`` [P,T,V,3] (only
        when ``full_mesh``)."""
        raise NotImplementedError

    def forward(self, params: BodyParams, full_mesh: bool = False, collision: bool = True) -> BodyOutput:
        """Pose the bodies; ``collision=False`` may skip the collision mesh (joints and
        keypoints only: about half the cost for anny)."""
        params.validate(self.num_shape)
        local = roma.rotvec_to_rotmat(
            torch.cat([params.global_orient.unsqueeze(-2), params.body_pose], dim=-2)
        )
        rotations = global_rotations(local)
        posed = self._pose(rotations, params.transl, params.shape, full_mesh, collision)
        landmarks = torch.einsum("ls,ptsd->ptld", self.landmark_weights, posed["landmark_points"])
        return BodyOutput(
            joints=posed["joints"],
            rotations=rotations,
            coco17=landmarks[..., self._coco_index, :],
            blazepose33=landmarks[..., self._blaze_index, :],
            collision_vertices=posed.get("collision_vertices"),
            vertices=posed.get("vertices"),
        )

    def _register_landmark_layouts(self) -> None:
        index = {n: i for i, n in enumerate(skeleton.LANDMARKS)}
        self.register_buffer("_coco_index", torch.tensor([index[n] for n in skeleton.COCO17]), persistent=False)
        self.register_buffer("_blaze_index", torch.tensor([index[n] for n in skeleton.BLAZEPOSE33]), persistent=False)


def _with(shape: Tensor, index: int, value: Tensor) -> Tensor:
    out = shape.clone()
    out[:, index] = value
    return out
