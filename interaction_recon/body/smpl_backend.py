"""The ``smpl`` backend: SMPL (Loper et al. 2015) from model files the user owns.

SMPL's files are under a non-commercial licence and never ship with this package.
- Files: ``model_path`` is a model file (``.pkl`` or ``.npz``) or a folder holding
  ``SMPL_{NEUTRAL,MALE,FEMALE}.{pkl,npz}`` or the official ``basicmodel_{neutral,m,f}_lbs_*``
  names, directly or under ``smpl/``, ``models/`` or ``smpl/models/``.
- Loading: official pickles hold chumpy objects, and chumpy does not import on numpy 2. They
  are unpickled with a stub in place of every chumpy class; a stub's value is its ``x``.
  The sparse ``J_regressor`` is made dense.
- Posing: ``smplx.lbs.lbs`` on local rotations recovered from the global ones the base
  class passes in (local_j = G_parent^T G_j); ``transl`` is added to every point.
- Landmarks: face, feet and fingertip landmarks are SMPL vertices (smplx's SMPL-topology ids;
  BlazePose's pinky/index/thumb are fingertips, foot_index the big toe). Eye corners and
  mouth corners are the head vertices nearest fixed offsets from the eye and nose vertices
  on the template. Shoulders, elbows, wrists, hips, knees and ankles are SMPL joints.
- Collision set: SMPL has no low-poly mesh, so it is ``NUM_COLLISION`` template vertices
  chosen by farthest-point sampling, with no faces.
"""
from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import scipy.sparse
import torch
from smplx.lbs import lbs
from smplx.vertex_ids import vertex_ids
from torch import Tensor

from interaction_recon.body import parts, skeleton
from interaction_recon.body.model import BodyModel

log = logging.getLogger(__name__)

GET_SMPL = ("SMPL is not shipped (non-commercial licence): register and download SMPL from "
            "https://smpl.is.tue.mpg.de, then pass the folder with --body-model-path / body.model_path")
GENDER_TAGS = {"neutral": "neutral", "male": "m", "female": "f"}
SUBFOLDERS = (".", "smpl", "models", "smpl/models")
NUM_VERTICES, NUM_FACES = 6890, 13776
NUM_POSE_BASIS = 9 * skeleton.NUM_BODY_JOINTS
NUM_COLLISION = 1200

# key -> expected shape (None: any size; shapedirs may hold 10 or 300 betas).
REQUIRED = {
    "v_template": (NUM_VERTICES, 3),
    "shapedirs": (NUM_VERTICES, 3, None),
    "posedirs": (NUM_VERTICES, 3, NUM_POSE_BASIS),
    "J_regressor": (skeleton.NUM_JOINTS, NUM_VERTICES),
    "weights": (NUM_VERTICES, skeleton.NUM_JOINTS),
    "kintree_table": (2, skeleton.NUM_JOINTS),
    "f": (NUM_FACES, 3),
}

_IDS = vertex_ids["smplh"]  # SMPL and SMPL-H share the topology
_SIDES = (("left", "l", "L"), ("right", "r", "R"))
VERTEX_LANDMARKS = {
    "nose": _IDS["nose"],
    **{f"{side}_{n}": _IDS[s + k] for side, s, _ in _SIDES for n, k in (
        ("eye", "eye"), ("ear", "ear"), ("pinky", "pinky"), ("index", "index"), ("thumb", "thumb"))},
    **{f"{side}_{n}": _IDS[S + k] for side, _, S in _SIDES for n, k in (
        ("heel", "Heel"), ("foot_index", "BigToe"))},
}
# Left-side offsets (metres, SMPL axes; x is mirrored for the right) from the eye vertex for
# the eye corners and from the nose-tip vertex for the mouth corners.
EYE_OFFSETS = {"eye_inner": (-0.015, 0.0, -0.005), "eye_outer": (0.018, 0.0, -0.012)}
MOUTH_OFFSET = (0.024, -0.040, -0.025)
_PARENTS = list(skeleton.SMPL_PARENTS[1:])


class _ChumpyStub:
    """Stands in for any chumpy class while unpickling; keeps the pickled state."""

    def __setstate__(self, state):
        self.state = state


class _SmplUnpickler(pickle.Unpickler):
    """Unpickles SMPL files without chumpy; maps old scipy.sparse module paths."""

    def find_class(self, module: str, name: str):
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyStub
        if module.startswith("scipy.sparse"):
            return getattr(scipy.sparse, name)
        return super().find_class(module, name)


def resolve_model_file(model_path: str | Path, gender: str = "neutral") -> Path:
    """The SMPL file for ``gender`` that ``model_path`` names (a file is taken as is).

    Raises ``FileNotFoundError`` naming the places tried and where to get SMPL.
    """
    if gender not in GENDER_TAGS:
        raise ValueError(f"SMPL gender must be one of {tuple(GENDER_TAGS)}, got {gender!r}")
    path = Path(model_path).expanduser()
    if path.is_file():
        return path
    exact = (f"SMPL_{gender.upper()}.pkl", f"SMPL_{gender.upper()}.npz")
    official = f"basicmodel_{GENDER_TAGS[gender]}_lbs_"
    for folder in (path / sub for sub in SUBFOLDERS if (path / sub).is_dir()):
        for name in exact:
            if (folder / name).is_file():
                return folder / name
        for f in sorted(folder.iterdir(), key=lambda f: f.name.lower(), reverse=True):  # newest first
            if f.name.lower().startswith(official) and f.suffix in (".pkl", ".npz") and f.is_file():
                return f
    names = ", ".join(exact + (official + "*.pkl",))
    where = f"in {path} or its {', '.join(s + '/' for s in SUBFOLDERS[1:])}" if path.is_dir() else f"at {path}"
    raise FileNotFoundError(f"no SMPL {gender} model {where} (looked for {names}). {GET_SMPL}")


def _as_array(key: str, value) -> np.ndarray:
    """A loaded SMPL value as a dense numpy array (chumpy stubs: their ``x``)."""
    if isinstance(value, _ChumpyStub):
        if not isinstance(getattr(value, "state", None), dict) or "x" not in value.state:
            raise ValueError(f"{key} is a chumpy expression, not a stored array")
        value = value.state["x"]
    if hasattr(value, "toarray"):  # scipy sparse
        value = value.toarray()
    return np.asarray(value)


def load_model_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of ``REQUIRED`` from an SMPL ``.pkl`` or ``.npz``, shape-checked.

    Raises ``ValueError`` naming the file, and the key at fault where one is.
    """
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                raw = {k: data[k] for k in REQUIRED if k in data.files}
        else:
            with open(path, "rb") as f:
                raw = _SmplUnpickler(f, encoding="latin1").load()
        if not isinstance(raw, dict):
            raise ValueError(f"expected a dict of arrays, got {type(raw).__name__}")
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        arrays = {k: _as_array(k, raw[k]) for k in REQUIRED}
    except Exception as e:
        raise ValueError(f"{path} is not a readable SMPL model: {e}. {GET_SMPL}") from e
    for key, shape in REQUIRED.items():
        got = arrays[key].shape
        if len(got) != len(shape) or any(s is not None and g != s for g, s in zip(got, shape)):
            raise ValueError(f"{path} is not an SMPL model: {key} has shape {got}, expected "
                             f"{tuple('*' if s is None else s for s in shape)}. {GET_SMPL}")
    parents = arrays["kintree_table"][0, 1:].astype(np.int64)
    if parents.tolist() != _PARENTS:
        raise ValueError(f"{path}: kintree_table is not SMPL's kinematic tree. {GET_SMPL}")
    return arrays


def farthest_point_sample(points: Tensor, count: int) -> Tensor:
    """[count] sorted indices of points [N, 3] spread by farthest-point sampling from point 0."""
    index = torch.zeros(count, dtype=torch.long, device=points.device)
    dist = (points - points[0]).norm(dim=-1)
    for i in range(1, count):
        index[i] = dist.argmax()
        dist = torch.minimum(dist, (points - points[index[i]]).norm(dim=-1))
    return index.sort().values


class SmplBody(BodyModel):
    """SMPL from the user's files. shape = ``num_betas`` betas; 0 is the average body."""

    name = "smpl"
    num_shape = 10
    size_axes = ((0, -3.0, 3.0),)  # the first beta is mostly stature

    def __init__(self, model_path: str | Path, gender: str = "neutral", num_betas: int = 10):
        super().__init__()
        path = resolve_model_file(model_path, gender)
        arrays = load_model_arrays(path)
        available = arrays["shapedirs"].shape[-1]
        if num_betas > available:
            log.warning("%s has %d betas; using %d, not %d", path, available, available, num_betas)
        self.num_shape = min(num_betas, available)
        log.info("SMPL %s model from %s (%d betas)", gender, path, self.num_shape)
        f32 = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
        self.register_buffer("v_template", f32(arrays["v_template"]), persistent=False)
        self.register_buffer("shapedirs", f32(arrays["shapedirs"][:, :, :self.num_shape]), persistent=False)
        self.register_buffer("posedirs", f32(arrays["posedirs"].reshape(-1, NUM_POSE_BASIS).T), persistent=False)
        self.register_buffer("J_regressor", f32(arrays["J_regressor"]), persistent=False)
        self.register_buffer("weights", f32(arrays["weights"]), persistent=False)
        self.register_buffer("parents", torch.tensor(skeleton.SMPL_PARENTS), persistent=False)
        self.register_buffer("faces", torch.as_tensor(arrays["f"].astype(np.int64)), persistent=False)
        self.register_buffer("uv", None)
        self.register_buffer("face_uv", None)
        self.register_buffer("smpl_parts", parts.smpl_parts_from_weights(self.weights), persistent=False)
        self._build_landmarks()
        self._register_landmark_layouts()
        self._build_collision()

    def default_shape(self, num_people: int) -> Tensor:
        return self.v_template.new_zeros(num_people, self.num_shape)

    # -- posing -----------------------------------------------------------------------
    def _pose(self, rotations: Tensor, transl: Tensor, shape: Tensor, full_mesh: bool, collision: bool = True) -> dict:
        P, T = rotations.shape[:2]
        local = torch.cat([rotations[:, :, :1],
                           rotations[:, :, _PARENTS].transpose(-1, -2) @ rotations[:, :, 1:]], dim=2)
        verts, joints = lbs(shape.repeat_interleave(T, dim=0), local.flatten(0, 1), self.v_template,
                            self.shapedirs, self.posedirs, self.J_regressor, self.parents,
                            self.weights, pose2rot=False)
        verts = verts.unflatten(0, (P, T)) + transl.unsqueeze(-2)  # [P,T,V,3]
        joints = joints.unflatten(0, (P, T)) + transl.unsqueeze(-2)  # [P,T,24,3]
        out = {
            "joints": joints,
            "landmark_points": torch.cat([verts[:, :, self.landmark_support], joints], dim=2),
            "collision_vertices": verts[:, :, self.collision_index],
        }
        if full_mesh:
            out["vertices"] = verts
        return out

    # -- tables built once ----------------------------------------------------------------
    def _build_landmarks(self) -> None:
        """landmark_weights [L, S + 24] over support vertices then SMPL joints."""
        verts = self.v_template
        head = self.smpl_parts == skeleton.SMPL_JOINTS.index("head")

        def nearest_head_vertex(point: Tensor) -> int:
            d = (verts - point).norm(dim=-1)
            d[~head] = float("inf")
            return int(d.argmin())

        index = dict(VERTEX_LANDMARKS)
        for side, _, _ in _SIDES:
            mirror = verts.new_tensor([1.0 if side == "left" else -1.0, 1.0, 1.0])
            eye = verts[VERTEX_LANDMARKS[f"{side}_eye"]]
            for name, offset in EYE_OFFSETS.items():
                index[f"{side}_{name}"] = nearest_head_vertex(eye + verts.new_tensor(offset) * mirror)
            index[f"mouth_{side}"] = nearest_head_vertex(
                verts[VERTEX_LANDMARKS["nose"]] + verts.new_tensor(MOUTH_OFFSET) * mirror)
        support = sorted(set(index.values()))
        column = {v: i for i, v in enumerate(support)}
        weights = torch.zeros(len(skeleton.LANDMARKS), len(support) + skeleton.NUM_JOINTS)
        for i, name in enumerate(skeleton.LANDMARKS):
            if name in index:
                weights[i, column[index[name]]] = 1.0
            else:  # shoulders, elbows, wrists, hips, knees, ankles
                weights[i, len(support) + skeleton.SMPL_JOINTS.index(name)] = 1.0
        self.register_buffer("landmark_support", torch.tensor(support), persistent=False)
        self.register_buffer("landmark_weights", weights, persistent=False)

    def _build_collision(self) -> None:
        """Coarse parts, and the collision set: NUM_COLLISION template vertices by FPS."""
        rest_joints = self.J_regressor @ self.v_template
        coarse = parts.coarse_parts(self.v_template, rest_joints, self.smpl_parts)
        index = farthest_point_sample(self.v_template, NUM_COLLISION)
        self.register_buffer("coarse_parts", coarse, persistent=False)
        self.register_buffer("collision_index", index, persistent=False)
        self.register_buffer("collision_faces", torch.zeros(0, 3, dtype=torch.long), persistent=False)
        self.register_buffer("collision_smpl_parts", self.smpl_parts[index], persistent=False)
        self.register_buffer("collision_coarse_parts", coarse[index], persistent=False)
