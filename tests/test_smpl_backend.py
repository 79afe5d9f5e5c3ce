"""The SMPL backend on a fake SMPL file: random arrays of the real shapes, never SMPL's data."""

import pickle
import sys
import types
from unittest import mock

import numpy as np
import pytest
import scipy.sparse
import torch
from smplx.lbs import lbs

from interaction_recon.body import skeleton
from interaction_recon.body.model import BodyParams
from interaction_recon.body.smpl_backend import (
    NUM_COLLISION, REQUIRED, VERTEX_LANDMARKS, SmplBody, resolve_model_file,
)

torch.set_num_threads(1)

V, F, B = 6890, 13776, 10
# A rough SMPL T-pose skeleton (metres, y up, facing +z, left at +x, feet at y = 0).
REST_JOINTS = np.array([
    (0, 0.95, 0), (0.09, 0.86, 0), (-0.09, 0.86, 0), (0, 1.06, -0.01), (0.10, 0.48, 0),
    (-0.10, 0.48, 0), (0, 1.20, 0), (0.10, 0.08, -0.02), (-0.10, 0.08, -0.02), (0, 1.26, 0),
    (0.11, 0.02, 0.10), (-0.11, 0.02, 0.10), (0, 1.48, -0.01), (0.08, 1.40, 0), (-0.08, 1.40, 0),
    (0, 1.56, 0.02), (0.18, 1.42, 0), (-0.18, 1.42, 0), (0.44, 1.42, 0), (-0.44, 1.42, 0),
    (0.70, 1.42, 0), (-0.70, 1.42, 0), (0.78, 1.42, 0), (-0.78, 1.42, 0),
])


def fake_chumpy_module():
    """A throwaway ``chumpy.ch`` whose ``Ch`` pickles like chumpy's (state dict with ``x``)."""
    module = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x
            self._dirty_vars = set()

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    module.Ch = Ch
    return module


def fake_smpl_arrays(seed: int = 0) -> dict:
    """Random SMPL-shaped arrays: a 1.7 m body-sized cloud around REST_JOINTS."""
    rng = np.random.default_rng(seed)
    child = rng.integers(1, 24, V)  # each vertex lies near a bone parent -> child
    parents = np.array(skeleton.SMPL_PARENTS)
    t = rng.random((V, 1))
    v = REST_JOINTS[parents[child]] * (1 - t) + REST_JOINTS[child] * t + rng.normal(0, 0.04, (V, 3))
    head = rng.random(V) < 0.1  # and a head
    v[head] = REST_JOINTS[15] + (0, 0.09, 0) + rng.normal(0, 0.06, (head.sum(), 3))
    d2 = ((v[:, None] - REST_JOINTS[None]) ** 2).sum(-1)
    weights = np.exp(-(d2 - d2.min(1, keepdims=True)) / (2 * 0.05**2))
    weights /= weights.sum(1, keepdims=True)
    near = np.argsort(d2, axis=0)[:30]  # [30, 24] nearest vertices of each joint
    J_regressor = scipy.sparse.csc_matrix(
        (np.full(near.size, 1 / 30), (np.tile(np.arange(24), 30), near.ravel())), shape=(24, V))
    kintree = np.stack([np.array(skeleton.SMPL_PARENTS) % 2**32, np.arange(24)])
    return {
        "v_template": v, "J_regressor": J_regressor, "weights": weights,
        "posedirs": rng.normal(0, 1e-3, (V, 3, 9 * 23)), "shapedirs": rng.normal(0, 0.01, (V, 3, B)),
        "kintree_table": kintree, "f": rng.integers(0, V, (F, 3)).astype(np.uint32), "bs_style": "lbs",
    }


def write_chumpy_pickle(path, arrays: dict) -> None:
    """Pickle like the official files: v_template and shapedirs as chumpy ``Ch`` objects."""
    module = fake_chumpy_module()
    with mock.patch.dict(sys.modules, {"chumpy": types.ModuleType("chumpy"), "chumpy.ch": module}):
        data = {k: module.Ch(a) if k in ("v_template", "shapedirs") else a for k, a in arrays.items()}
        with open(path, "wb") as f:
            pickle.dump(data, f, protocol=2)


@pytest.fixture(scope="module")
def arrays():
    return fake_smpl_arrays()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, arrays):
    root = tmp_path_factory.mktemp("smpl_models")
    (root / "smpl").mkdir()
    write_chumpy_pickle(root / "smpl" / "SMPL_NEUTRAL.pkl", arrays)
    return root


@pytest.fixture(scope="module")
def body(model_dir):
    assert "chumpy" not in sys.modules
    model = SmplBody(model_dir)  # resolves smpl/SMPL_NEUTRAL.pkl
    assert "chumpy" not in sys.modules, "loading must go through the stub"
    return model


def random_params(P=2, T=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return BodyParams(
        global_orient=torch.randn(P, T, 3, generator=g) * 0.5,
        body_pose=torch.randn(P, T, 23, 3, generator=g) * 0.3,
        transl=torch.randn(P, T, 3, generator=g),
        shape=torch.randn(P, B, generator=g),
    )


def test_loads_the_chumpy_pickle(body, arrays):
    assert body.name == "smpl" and body.num_shape == B
    assert torch.allclose(body.v_template, torch.as_tensor(arrays["v_template"], dtype=torch.float32))
    assert torch.allclose(body.shapedirs, torch.as_tensor(arrays["shapedirs"], dtype=torch.float32))
    J = torch.as_tensor(arrays["J_regressor"].toarray(), dtype=torch.float32)
    assert torch.allclose(body.J_regressor, J)
    assert body.parents.tolist() == list(skeleton.SMPL_PARENTS)


def test_output_shapes_and_dtypes(body):
    out = body(random_params(), full_mesh=True)
    assert out.joints.shape == (2, 3, 24, 3)
    assert out.rotations.shape == (2, 3, 24, 3, 3)
    assert out.coco17.shape == (2, 3, 17, 3)
    assert out.blazepose33.shape == (2, 3, 33, 3)
    assert out.collision_vertices.shape == (2, 3, NUM_COLLISION, 3)
    assert out.vertices.shape == (2, 3, V, 3)
    for t in (out.joints, out.coco17, out.blazepose33, out.collision_vertices, out.vertices):
        assert t.dtype == torch.float32 and torch.isfinite(t).all()
    assert body(random_params()).vertices is None
    assert torch.equal(out.collision_vertices, out.vertices[:, :, body.collision_index])


def test_buffers(body):
    assert body.faces.shape == (F, 3) and body.faces.dtype == torch.long
    assert body.collision_faces.shape == (0, 3) and body.collision_faces.dtype == torch.long
    index = body.collision_index
    assert index.shape == (NUM_COLLISION,) and index.unique().numel() == NUM_COLLISION
    assert 0 <= index.min() and index.max() < V
    assert body.smpl_parts.shape == body.coarse_parts.shape == (V,)
    assert torch.equal(body.collision_smpl_parts, body.smpl_parts[index])
    assert torch.equal(body.collision_coarse_parts, body.coarse_parts[index])
    assert body.uv is None and body.face_uv is None
    w = body.landmark_weights
    assert w.shape == (len(skeleton.LANDMARKS), body.landmark_support.numel() + 24)
    assert torch.equal(w.sum(1), torch.ones(len(w))) and ((w == 0) | (w == 1)).all()
    assert torch.equal(body.default_shape(3), torch.zeros(3, B))


def test_gradients_reach_every_parameter(body):
    params = random_params().map(lambda t: t.requires_grad_())
    out = body(params, full_mesh=True)
    (out.vertices.sum() + out.joints.sum() + out.blazepose33.sum()).backward()
    for name in ("global_orient", "body_pose", "transl", "shape"):
        grad = getattr(params, name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_zero_pose_is_template_plus_shape(body, arrays):
    params = body.neutral_params(2, 2)
    params.shape = torch.randn(2, B, generator=torch.Generator().manual_seed(1))
    out = body(params, full_mesh=True)
    betas = params.shape.double().numpy()
    v = arrays["v_template"] + np.einsum("vdb,pb->pvd", arrays["shapedirs"], betas)  # no posedirs term
    j = np.einsum("jv,pvd->pjd", arrays["J_regressor"].toarray(), v)
    for t in range(2):
        torch.testing.assert_close(out.vertices[:, t].double(), torch.from_numpy(v), atol=1e-5, rtol=0)
        torch.testing.assert_close(out.joints[:, t].double(), torch.from_numpy(j), atol=1e-5, rtol=0)


def test_matches_smplx_lbs_on_axis_angle(body):
    params = random_params(P=2, T=2)
    out = body(params, full_mesh=True)
    pose = torch.cat([params.global_orient.unsqueeze(-2), params.body_pose], dim=-2).reshape(4, 72)
    verts, joints = lbs(params.shape.repeat_interleave(2, 0), pose, body.v_template, body.shapedirs,
                        body.posedirs, body.J_regressor, body.parents, body.weights)
    transl = params.transl.reshape(4, 1, 3)
    torch.testing.assert_close(out.vertices.reshape(4, V, 3), verts + transl, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.joints.reshape(4, 24, 3), joints + transl, atol=1e-5, rtol=1e-5)


def test_pelvis_sits_at_rest_pelvis_plus_transl(body):
    params = random_params()
    rest = body(BodyParams(torch.zeros_like(params.global_orient), torch.zeros_like(params.body_pose),
                           torch.zeros_like(params.transl), params.shape))
    out = body(params)
    torch.testing.assert_close(out.joints[..., 0, :], rest.joints[..., 0, :] + params.transl, atol=1e-5, rtol=0)


def test_transl_moves_everything(body):
    params = random_params()
    shift = torch.tensor([0.3, -1.2, 2.5])
    moved = BodyParams(params.global_orient, params.body_pose, params.transl + shift, params.shape)
    a, b = body(params, full_mesh=True), body(moved, full_mesh=True)
    for name in ("joints", "coco17", "blazepose33", "collision_vertices", "vertices"):
        delta = getattr(b, name) - getattr(a, name)
        torch.testing.assert_close(delta, shift.expand_as(delta), atol=1e-5, rtol=0)
    torch.testing.assert_close(b.rotations, a.rotations)


def test_landmarks_are_smpl_vertices_and_joints(body):
    out = body(random_params(), full_mesh=True)
    blaze = {n: out.blazepose33[..., i, :] for i, n in enumerate(skeleton.BLAZEPOSE33)}
    coco = {n: out.coco17[..., i, :] for i, n in enumerate(skeleton.COCO17)}
    for name in ("nose", "left_eye", "right_heel", "left_pinky", "right_thumb", "left_foot_index"):
        torch.testing.assert_close(blaze[name], out.vertices[..., VERTEX_LANDMARKS[name], :])
    torch.testing.assert_close(coco["right_ear"], out.vertices[..., VERTEX_LANDMARKS["right_ear"], :])
    for name in ("left_shoulder", "right_elbow", "left_wrist", "right_hip", "left_knee", "right_ankle"):
        torch.testing.assert_close(coco[name], out.joints[..., skeleton.SMPL_JOINTS.index(name), :])
        torch.testing.assert_close(blaze[name], coco[name])
    head = skeleton.SMPL_JOINTS.index("head")
    for name in ("left_eye_inner", "right_eye_outer", "mouth_left", "mouth_right"):
        i = skeleton.LANDMARKS.index(name)
        column = int(body.landmark_weights[i].argmax())
        assert body.smpl_parts[body.landmark_support[column]] == head, name


def test_missing_file_names_path_and_source(tmp_path):
    missing = tmp_path / "nowhere" / "SMPL_NEUTRAL.pkl"
    with pytest.raises(FileNotFoundError) as err:
        SmplBody(missing)
    assert str(missing) in str(err.value) and "smpl.is.tue.mpg.de" in str(err.value)
    with pytest.raises(FileNotFoundError) as err:
        SmplBody(tmp_path, gender="female")
    assert str(tmp_path) in str(err.value) and "SMPL_FEMALE.pkl" in str(err.value)
    assert "--body-model-path" in str(err.value)


def test_missing_key_raises_value_error(tmp_path):
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    with open(path, "wb") as f:
        pickle.dump({k: np.zeros(1) for k in REQUIRED if k != "weights"}, f)
    with pytest.raises(ValueError, match="weights") as err:
        SmplBody(path)
    assert str(path) in str(err.value) and "smpl.is.tue.mpg.de" in str(err.value)


def test_wrong_shapes_and_garbage_raise_value_error(tmp_path):
    path = tmp_path / "SMPL_MALE.pkl"
    with open(path, "wb") as f:
        pickle.dump({k: np.zeros(1) for k in REQUIRED}, f)
    with pytest.raises(ValueError, match="v_template has shape"):
        SmplBody(tmp_path, gender="male")
    path.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="not a readable SMPL model") as err:
        SmplBody(path)
    assert err.value.__cause__ is not None and "smpl.is.tue.mpg.de" in str(err.value)


def test_file_resolution(tmp_path):
    for rel in ("SMPL_NEUTRAL.pkl", "smpl/SMPL_MALE.npz", "smpl/models/basicmodel_f_lbs_10_207_0_v1.1.0.pkl",
                "models/basicModel_f_lbs_10_207_0_v1.0.0.pkl", "smpl/basicmodel_m_lbs_10_207_0_v1.1.0.pkl"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()
    assert resolve_model_file(tmp_path) == tmp_path / "SMPL_NEUTRAL.pkl"
    assert resolve_model_file(tmp_path, "male") == tmp_path / "smpl/SMPL_MALE.npz"  # SMPL_* first
    assert resolve_model_file(tmp_path, "female") == tmp_path / "models/basicModel_f_lbs_10_207_0_v1.0.0.pkl"
    assert resolve_model_file(tmp_path / "smpl/models", "female").name == "basicmodel_f_lbs_10_207_0_v1.1.0.pkl"
    assert resolve_model_file(tmp_path / "smpl/SMPL_MALE.npz", "female").name == "SMPL_MALE.npz"  # taken as is
    with pytest.raises(ValueError, match="gender"):
        resolve_model_file(tmp_path, "other")


def test_npz_loads_like_the_pickle(tmp_path, arrays, body):
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", **{**arrays, "J_regressor": arrays["J_regressor"].toarray()})
    other = SmplBody(tmp_path, num_betas=4)
    assert other.num_shape == 4 and other.shapedirs.shape == (V, 3, 4)
    assert torch.equal(other.v_template, body.v_template)
    assert torch.equal(other.collision_index, body.collision_index)
