"""The ``anny`` backend: NAVER LABS' Anny body (Apache-2.0 code, CC0 data), no files needed.

Retargeting to SMPL convention, and how exact it is:
- Axes: anny is z-up facing -y; SMPL is y-up facing +z. ``C`` maps anny -> SMPL
  (x, y, z) -> (x, z, -y); rotations are conjugated by it.
- Rig: each of anny's 104 bones follows one SMPL joint (``BONE_TO_JOINT``): the bone takes
  that joint's global rotation. Bones between two SMPL joints (upperleg02, spine04, neck02,
  ...) stay rigid with their joint; anny's finer spine and neck bend less smoothly than a
  real spine, and thumbs and metacarpals move with the wrist, fingers with SMPL's hand joint.
- Rest pose: anny rests in an A-pose with bent elbows, SMPL in a T-pose. For each arm joint
  (shoulder, elbow, wrist) a correction ``A_j`` (the smallest rotation that lays that
  segment along +-x, computed from the person's own rest skeleton, so it follows shape)
  is applied before the SMPL rotation: posed = G_smpl A_j rest. Zero parameters therefore
  give a T-pose with straight, horizontal arms. The roll of the forearm about its own axis
  is anny's (palms face forward-down rather than exactly down as in SMPL).
- Joints: SMPL-24 joints are anny bone heads (``JOINT_BONES``), not SMPL's regressor: they
  sit where anny's rig puts them, e.g. the pelvis joint at hip height (SMPL's is ~9 cm
  higher), so comparing against SMPL joints directly carries a few cm of convention offset.
- Rotations are exact: for a given body_pose every SMPL joint's global rotation is the one
  the anny bones get, so the angles a user reads back are the angles that posed the mesh.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import torch
from torch import Tensor

from interaction_recon.body import parts, skeleton
from interaction_recon.body.model import BodyModel, apply_transforms, blend_transforms, minimal_rotation

log = logging.getLogger(__name__)

# anny (x, y, z) -> SMPL (x, z, -y)
C = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

_J = {n: i for i, n in enumerate(skeleton.SMPL_JOINTS)}


def _bone_joint(label: str) -> str:
    """The SMPL joint whose rotation an anny bone follows."""
    side = {"L": "left_", "R": "right_"}.get(label[-1]) if label[-2:] in (".L", ".R") else None
    base = label[:-2] if side else label
    if base in ("root", "pelvis", "spine05", "spine04"):
        return "pelvis"
    central = {"spine03": "spine1", "spine02": "spine2", "spine01": "spine3",
               "neck01": "neck", "neck02": "neck", "neck03": "neck", "head": "head", "eye": "head"}
    if base in central:
        return central[base]
    sided = {"upperleg01": "hip", "upperleg02": "hip", "lowerleg01": "knee", "lowerleg02": "knee",
             "foot": "ankle", "clavicle": "collar", "shoulder01": "collar",
             "upperarm01": "shoulder", "upperarm02": "shoulder",
             "lowerarm01": "elbow", "lowerarm02": "elbow", "wrist": "wrist"}
    if base in sided:
        return side + sided[base]
    if base.startswith("toe"):
        return side + "foot"
    if base.startswith("metacarpal") or base.startswith("finger1-"):
        return side + "wrist"
    if base.startswith("finger"):
        return side + "hand"
    raise KeyError(f"anny bone {label!r} has no SMPL joint")


# SMPL-24 joint -> the anny bone heads whose mean is that joint.
JOINT_BONES = {
    "pelvis": ["root"], "spine1": ["spine03"], "spine2": ["spine02"], "spine3": ["spine01"],
    "neck": ["neck01"], "head": ["head"],
    **{f"{s}_{j}": [f"{b}.{S}"] for s, S in (("left", "L"), ("right", "R")) for j, b in (
        ("hip", "upperleg01"), ("knee", "lowerleg01"), ("ankle", "foot"), ("foot", "toe3-1"),
        ("shoulder", "upperarm01"), ("elbow", "lowerarm01"), ("wrist", "wrist"), ("hand", "finger3-1"))},
    **{f"{s}_collar": [f"clavicle.{S}", f"shoulder01.{S}"] for s, S in (("left", "L"), ("right", "R"))},
}

# Arm segments laid along +-x for the T-pose: (joint, from bone, to bone).
_ARM_SEGMENTS = [("shoulder", "upperarm01", "lowerarm01"), ("elbow", "lowerarm01", "wrist"),
                 ("wrist", "wrist", "finger3-1")]

# BlazePose landmarks anny's COCO-WholeBody regressor lacks: finger points are bone heads
# (MediaPipe puts index/pinky at the first knuckle and the thumb at its second), eye corners
# and mouth corners are the skin vertices nearest to offsets (metres, anny axes) from the
# eye bones and the nose.
_FINGER_BONES = {"index": "finger2-1", "pinky": "finger5-1", "thumb": "finger1-3"}
_FACE_OFFSETS = {"eye_inner": ("eye", (-0.016, -0.012, 0.0)), "eye_outer": ("eye", (0.018, -0.006, 0.0))}
_MOUTH_OFFSET = (0.024, 0.012, -0.042)  # from the nose landmark, for the left corner (+x)
_COCO_ALIASES = {"left_foot_index": "left_big_toe", "right_foot_index": "right_big_toe"}


def _dense_weights(model, num_bones: int) -> Tensor:
    """[V, B] skinning weights of an anny model."""
    idx, w = model.vertex_bone_indices.long(), model.vertex_bone_weights
    out = torch.zeros(idx.shape[0], num_bones, dtype=w.dtype)
    return out.scatter_add_(1, idx, w)


def _quiet_warp() -> None:
    """Keep the start-up banner of Warp (anny's skinning kernels) off stdout, which may carry
    a command's JSON; Warp's warnings still go to stderr."""
    import warp

    warp.config.log_level = max(warp.config.log_level, warp.LOG_WARNING)


def build_cache(cache_dir: Path) -> bool:
    """Build anny's model data into ``cache_dir`` once (about 2 minutes), then drop the
    ~750 MB of intermediate files that loading does not read. Returns whether it built."""
    if len(list(cache_dir.glob("v*/build_compact_model_data_*.safetensors"))) >= 2:
        return False
    AnnyBody(cache_dir=cache_dir)
    for intermediate in [*cache_dir.glob("v*/load_data_*"), *cache_dir.glob("v*/build_model_data_*")]:
        intermediate.unlink()
    return True


REST_CACHE = 4  # rest models kept for gradient-free shapes
_REST_LOCK = threading.Lock()


class AnnyBody(BodyModel):
    """Anny retargeted to SMPL convention. shape = 6 phenotypes in [0, 1]:
    (gender, age, muscle, weight, height, proportions); 0.5 is the average adult."""

    name = "anny"
    size_axes = ((4, 0.0, 1.0), (1, 0.12, 0.75))  # height phenotype, then age (children)
    num_shape = 6

    def __init__(self, cache_dir: str | Path, collision_topology: str = "notoes_collapse10pc"):
        super().__init__()
        cache_dir = Path(cache_dir)
        _quiet_warp()
        import anny
        import anny.paths
        from anny.utils import kinematics

        anny.paths.set_anny_cache_path(cache_dir)
        if len(list(cache_dir.glob("v*/build_compact_model_data_*.safetensors"))) < 2:
            log.warning("building the anny model cache in %s (first time only, ~2 min)", cache_dir)
        full = anny.Anny().to(torch.float32)
        coll = anny.Anny(topology=collision_topology).to(torch.float32)
        assert full.bone_labels == coll.bone_labels, "collision mesh must share the rig"
        self._full, self._coll = full, coll  # kept for their blendshape bases
        self._kinematics = kinematics
        self._chain = (full.kinematic_chain_levels, full.kinematic_chain_indices)
        labels = list(full.bone_labels)
        B = len(labels)
        bone = {n: i for i, n in enumerate(labels)}
        self.register_buffer("C", C.clone(), persistent=False)
        self.register_buffer("bone_joint", torch.tensor([_J[_bone_joint(n)] for n in labels]), persistent=False)
        joint_bones = torch.zeros(skeleton.NUM_JOINTS, B)
        for j, names in JOINT_BONES.items():
            for n in names:
                joint_bones[_J[j], bone[n]] = 1.0 / len(names)
        self.register_buffer("joint_bones", joint_bones, persistent=False)
        self._arm = [(_J[f"{s}_{j}"], bone[f"{a}.{S}"], bone[f"{b}.{S}"], 1.0 if s == "left" else -1.0)
                     for s, S in (("left", "L"), ("right", "R")) for j, a, b in _ARM_SEGMENTS]

        self.register_buffer("weights", _dense_weights(full, B), persistent=False)
        self.register_buffer("collision_weights", _dense_weights(coll, B), persistent=False)
        self.register_buffer("faces", full.get_triangular_faces().long(), persistent=False)
        self.register_buffer("collision_faces", coll.get_triangular_faces().long(), persistent=False)
        self.register_buffer("collision_index", torch.full((coll.template_vertices.shape[0],), -1), persistent=False)
        self.register_buffer("uv", full.texture_coordinates.float(), persistent=False)
        self.register_buffer("face_uv", full.face_texture_coordinate_indices.long(), persistent=False)
        self._build_landmarks(anny, bone)
        self._register_landmark_layouts()
        self._build_parts(B)

    # -- rest model -----------------------------------------------------------------
    def default_shape(self, num_people: int) -> Tensor:
        return self.faces.new_full((num_people, self.num_shape), 0.5, dtype=torch.float32)

    def _rest(self, shape: Tensor) -> dict:
        """Per-person rest model in anny axes for shape [P, 6]. The last REST_CACHE ones
        computed for shapes that need no gradient are reused when the same shape comes again
        (per-frame fits with fixed shapes, beside the average shape of the initialisation: the
        rest model is most of a small forward's cost)."""
        if shape.requires_grad and torch.is_grad_enabled():
            return self._rest_model(shape)
        cache = self.__dict__.setdefault("_rest_cache", [])  # [(shape, rest)], newest last
        with _REST_LOCK:  # the live node's estimate thread and an in-process window fit share the body
            for i, (known, rest) in enumerate(cache):
                if known.shape == shape.shape and torch.equal(known, shape):
                    cache.append(cache.pop(i))
                    return rest
        with torch.no_grad():
            rest = self._rest_model(shape)
        with _REST_LOCK:
            cache.append((shape.detach().clone(), rest))
            del cache[:-REST_CACHE]
        return rest

    def _rest_model(self, shape: Tensor) -> dict:
        shape = shape.clamp(0.0, 1.0)
        full, coll = self._full, self._coll
        zeros = shape.new_zeros(shape.shape[0], 0)
        coeffs = full._get_phenotype_blendshape_coefficients(shape, zeros, zeros)
        rest = full.get_rest_model(coeffs)
        coll_coeffs = coll._get_phenotype_blendshape_coefficients(shape, zeros, zeros)
        rest["collision_vertices"] = coll.get_rest_vertices(coll_coeffs)
        heads = rest["rest_bone_heads"]
        A = torch.eye(3, dtype=shape.dtype, device=shape.device).repeat(shape.shape[0], skeleton.NUM_JOINTS, 1, 1)
        for j, a, b, sign in self._arm:  # shoulder, elbow, wrist in tree order
            parent = A[:, skeleton.SMPL_PARENTS[j]]  # the collar's correction is the identity
            seg = heads[:, b] - heads[:, a]
            seg = (parent @ (seg / seg.norm(dim=-1, keepdim=True)).unsqueeze(-1)).squeeze(-1)
            target = seg.new_tensor([sign, 0.0, 0.0]).expand_as(seg)
            A = A.clone()
            A[:, j] = minimal_rotation(seg, target) @ parent
        hand = (_J["left_hand"], _J["left_wrist"]), (_J["right_hand"], _J["right_wrist"])
        for j, w in hand:
            A[:, j] = A[:, w]
        rest["arm_correction"] = A
        return rest

    # -- posing -----------------------------------------------------------------------
    def _pose(self, rotations: Tensor, transl: Tensor, shape: Tensor, full_mesh: bool, collision: bool = True) -> dict:
        P, T = rotations.shape[:2]
        rest = self._rest(shape)
        Ct = self.C.T
        G = Ct @ rotations @ self.C  # [P,T,24,3,3] in anny axes
        rest_poses = rest["rest_bone_poses"]  # [P,B,4,4]
        A = rest["arm_correction"][:, None, self.bone_joint]  # [P,1,B,3,3]
        D = G[:, :, self.bone_joint] @ A @ rest_poses[:, None, :, :3, :3]  # world orientations
        delta = torch.zeros(P, T, D.shape[2], 4, 4, dtype=D.dtype, device=D.device)
        delta[..., :3, :3] = D
        delta[..., 0, :3, 3] = rest_poses[:, None, 0, :3, 3] + transl @ self.C  # C^T transl
        delta[..., 3, 3] = 1.0
        transforms, poses = self._kinematics.forward_kinematic(
            self._chain, rest_poses[:, None].expand_as(delta), delta, "world-orient")
        transforms = transforms[..., :3, :]  # [P,T,B,3,4]
        to_smpl = lambda x: x @ Ct  # noqa: E731  (row vectors: v_smpl = C v)
        heads = poses[..., :3, 3]  # [P,T,B,3]
        support = rest["rest_vertices"][:, self.landmark_support]  # [P,S,3]
        support_posed = apply_transforms(blend_transforms(self.landmark_skin, transforms), support[:, None])
        out = {
            "joints": to_smpl(torch.einsum("jb,ptbd->ptjd", self.joint_bones, heads)),
            "landmark_points": to_smpl(torch.cat([support_posed, heads], dim=2)),
        }
        if collision:
            out["collision_vertices"] = to_smpl(apply_transforms(
                blend_transforms(self.collision_weights, transforms), rest["collision_vertices"][:, None]))
        if full_mesh:
            out["vertices"] = to_smpl(apply_transforms(
                blend_transforms(self.weights, transforms), rest["rest_vertices"][:, None]))
        return out

    # -- tables built once ----------------------------------------------------------------
    def _build_landmarks(self, anny, bone: dict) -> None:
        """landmark_weights [L, S + B] over support vertices then bone heads."""
        full = self._full
        coco = anny.KeypointsRegressor.coco(full)
        reg = coco.regression_weights.float()  # [23, V]
        kept = torch.zeros_like(reg)
        for k in range(reg.shape[0]):  # keep the vertices that carry 99.9% of each weight
            w, order = reg[k].sort(descending=True)
            n = int((w.cumsum(0) < 0.999 * w.sum()).sum()) + 1
            kept[k, order[:n]] = w[:n] / w[:n].sum()
        rows = {label: kept[i] for i, label in enumerate(coco.labels)}
        with torch.no_grad():
            rest = full()  # default phenotype, rest pose, anny axes
        verts, heads = rest["vertices"][0].float(), rest["bone_poses"][0, :, :3, 3].float()
        head_skin = self.weights.argmax(1) == bone["head"]

        def nearest_skin_vertex(point):
            d = (verts - point).norm(dim=-1)
            d[~head_skin] = float("inf")
            row = torch.zeros(verts.shape[0])
            row[d.argmin()] = 1.0
            return row

        nose = rows["nose"] @ verts
        for side, S, sign in (("left", "L", 1.0), ("right", "R", -1.0)):
            for name, (b, off) in _FACE_OFFSETS.items():
                rows[f"{side}_{name}"] = nearest_skin_vertex(heads[bone[f"{b}.{S}"]] + torch.tensor(off) * torch.tensor([sign, 1, 1]))
            rows[f"mouth_{side}"] = nearest_skin_vertex(nose + torch.tensor(_MOUTH_OFFSET) * torch.tensor([sign, 1, 1]))
        finger = {n: n.split("_", 1)[1] for n in skeleton.LANDMARKS if n.split("_", 1)[-1] in _FINGER_BONES}
        vertex_rows = torch.stack([torch.zeros(verts.shape[0]) if n in finger else rows[_COCO_ALIASES.get(n, n)]
                                   for n in skeleton.LANDMARKS])
        support = vertex_rows.abs().sum(0).nonzero().squeeze(1)
        B = len(bone)
        bone_rows = torch.zeros(len(skeleton.LANDMARKS), B)
        for i, n in enumerate(skeleton.LANDMARKS):
            if n in finger:
                bone_rows[i, bone[f"{_FINGER_BONES[finger[n]]}.{'L' if n.startswith('left') else 'R'}"]] = 1.0
        self.register_buffer("landmark_support", support, persistent=False)
        self.register_buffer("landmark_skin", self.weights[support], persistent=False)
        self.register_buffer("landmark_weights", torch.cat([vertex_rows[:, support], bone_rows], 1), persistent=False)

    def _build_parts(self, num_bones: int) -> None:
        to_joint = torch.zeros(num_bones, skeleton.NUM_JOINTS)
        to_joint[torch.arange(num_bones), self.bone_joint] = 1.0
        with torch.no_grad():
            rest = self(self.neutral_params(1, 1), full_mesh=True)
        joints = rest.joints[0, 0]
        for prefix, w, v in (("", self.weights, rest.vertices), ("collision_", self.collision_weights, rest.collision_vertices)):
            smpl = parts.smpl_parts_from_weights(w @ to_joint)
            self.register_buffer(f"{prefix}smpl_parts", smpl, persistent=False)
            self.register_buffer(f"{prefix}coarse_parts", parts.coarse_parts(v[0, 0], joints, smpl), persistent=False)
