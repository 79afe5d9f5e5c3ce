"""Synthetic-data renderer: z-buffer rasterizer, appearance, shading, masks, visibility."""
import numpy as np
import pytest
import torch

from interaction_recon.synth.appearance import (
    MIN_TOP_DISTANCE,
    hair_mask,
    sample_backdrop,
    sample_look,
    sample_looks,
    vertex_colors,
)
from interaction_recon.render.raster import INSIDE_EPS, project, rasterize
from interaction_recon.render.mesh import person_masks, render, visible_points
from interaction_recon.render.camera import look_at

torch.set_num_threads(1)
K_TINY = torch.tensor([[20.0, 0, 12], [0, 20.0, 10], [0, 0, 1]])


def _naive(vertices, faces, K, height, width):
    """Per-pixel, per-triangle reference: (face [H, W], depth [H, W]) in float64."""
    uv, z = project(vertices.double(), K.double()), vertices[:, 2].double()
    face = torch.full((height, width), -1)
    depth = torch.full((height, width), float("inf"), dtype=torch.float64)

    def cross(u, v):
        return u[0] * v[1] - u[1] * v[0]

    for y in range(height):
        for x in range(width):
            p = torch.tensor([x + 0.5, y + 0.5], dtype=torch.float64)
            for i, (a, b, c) in enumerate(faces.tolist()):
                area = cross(uv[b] - uv[a], uv[c] - uv[a])
                if area == 0 or min(z[a], z[b], z[c]) < 0.01:
                    continue
                w = torch.stack([cross(uv[c] - uv[b], p - uv[b]), cross(uv[a] - uv[c], p - uv[c]),
                                 cross(uv[b] - uv[a], p - uv[a])]) / area
                if (w >= -INSIDE_EPS).all():
                    d = 1 / (w / z[[a, b, c]]).sum()
                    if d < depth[y, x]:
                        face[y, x], depth[y, x] = i, d
    return face, depth


def _random_scene(seed, num_faces=12):
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(3 * num_faces, 3, generator=g) * 0.6
    v[:, 2] = v[:, 2].abs() * 2 + 1.0
    return v, torch.arange(3 * num_faces).view(num_faces, 3)


@pytest.mark.parametrize("seed", range(4))
def test_rasterizer_matches_brute_force(seed):
    v, f = _random_scene(seed)
    frags = rasterize(v, f, K_TINY, 20, 24)
    face, depth = _naive(v, f, K_TINY, 20, 24)
    assert (frags.face >= 0).sum() > 50
    differ = frags.face != face
    # a differing pixel must be an exact tie: the rasterizer's face is as near as the naive one
    assert torch.allclose(frags.depth[differ].double(), depth[differ], atol=1e-5, rtol=0)
    hit = face >= 0
    assert torch.allclose(frags.depth[hit].double(), depth[hit], atol=1e-5, rtol=0)
    assert torch.isinf(frags.depth[~hit]).all() and (frags.bary[~hit] == 0).all()


def _triangle(z=2.0, shift=0.0):
    return torch.tensor([[-0.5 + shift, -0.4, z], [0.5 + shift, -0.4, z], [shift, 0.5, z]])


def test_both_windings_render():
    v = _triangle()
    front = rasterize(v, torch.tensor([[0, 1, 2]]), K_TINY, 20, 24)
    back = rasterize(v, torch.tensor([[0, 2, 1]]), K_TINY, 20, 24)
    assert (front.face == 0).sum() > 20
    assert torch.equal(front.face, back.face) and torch.equal(front.depth, back.depth)


def test_nearer_triangle_wins_and_near_plane_drops():
    v = torch.cat([_triangle(3.0), _triangle(2.0, shift=0.1)])
    for faces in (torch.tensor([[0, 1, 2], [3, 4, 5]]), torch.tensor([[3, 4, 5], [0, 1, 2]])):
        frags = rasterize(v, faces, K_TINY, 20, 24)
        near = int((faces == 3).any(1).nonzero())
        assert frags.face[10, 12] == near and abs(frags.depth[10, 12] - 2.0) < 1e-5
    behind = _triangle(2.0)
    behind[0, 2] = 0.005
    assert (rasterize(behind, torch.tensor([[0, 1, 2]]), K_TINY, 20, 24).face == -1).all()


def test_perspective_correct_barycentrics():
    v = torch.tensor([[-0.6, -0.5, 1.0], [0.8, -0.3, 4.0], [0.0, 0.7, 2.0]])
    f = torch.tensor([[0, 1, 2]])
    frags = rasterize(v, f, K_TINY, 20, 24)
    hit = frags.face >= 0
    bary = frags.bary[hit]
    assert hit.sum() > 30 and torch.allclose(bary.sum(1), torch.ones(len(bary)))
    assert torch.allclose((bary * v[:, 2]).sum(1), frags.depth[hit], atol=1e-5)
    # the interpolated 3-D point lies on the pixel's ray
    uv = project(bary @ v, K_TINY)
    ys, xs = torch.nonzero(hit, as_tuple=True)
    assert torch.allclose(uv, torch.stack([xs, ys], 1) + 0.5, atol=1e-3)


@pytest.fixture(scope="module")
def two_people(anny_body):
    """Rest vertices [2, V, 3] and world vertices [2, V, 3]: feet on y=0, person 1 behind 0."""
    params = anny_body.neutral_params(2, 1)
    rest = anny_body(params, full_mesh=True).vertices[:, 0]
    params.transl[:, 0] = torch.tensor([[0.0, 0.82, 0.0], [0.1, 0.82, -1.0]])
    params.body_pose[:, 0, 15:17, 2] = torch.tensor([-1.2, 1.2])  # arms down
    return rest, anny_body(params, full_mesh=True).vertices[:, 0]


def _camera(eye=(0.0, 0.9, 2.5), target=(0.0, 0.9, 0.0)):
    return tuple(torch.tensor(a, dtype=torch.float32) for a in look_at(eye, target))


K_IMG = torch.tensor([[300.0, 0, 96], [0, 300.0, 128], [0, 0, 1]])


def test_person_mask_matches_projected_height(anny_body):
    vertices = anny_body(anny_body.neutral_params(1, 1), full_mesh=True).vertices[0, 0]
    R, t = _camera(eye=(0.0, 0.0, 2.5), target=(0.0, 0.0, 0.0))
    cam = vertices @ R.T + t
    gray = torch.full_like(cam, 0.5)
    out = render([(cam, anny_body.faces, gray)], K_IMG, 256, 192)
    mask = person_masks(out, 1)[0]
    rows = torch.nonzero(mask.any(1)).squeeze(1)
    v = project(cam, K_IMG)[:, 1]
    assert abs((rows.max() - rows.min() + 1) - (v.max() - v.min())) <= 2
    assert out.rgb[mask].float().mean() > 40 and (out.rgb[~mask] == 0).all()
    assert torch.isfinite(out.depth[mask]).all() and (out.depth[mask] - 2.5).abs().max() < 0.3


def test_front_person_occludes_back_person(anny_body, two_people):
    _, world = two_people
    R, t = _camera()
    cams = [w @ R.T + t for w in world]
    meshes = [(c, anny_body.faces, torch.full_like(c, 0.5)) for c in cams]
    both = person_masks(render(meshes, K_IMG, 256, 192))
    alone = person_masks(render(meshes[1:], K_IMG, 256, 192), 1)[0]
    assert not (both[0] & both[1]).any()
    assert both[1].sum() < 0.5 * alone.sum()  # mostly hidden behind person 0
    assert (both[0] | both[1]).sum() >= alone.sum()
    out = render(meshes, K_IMG, 256, 192)
    pelvis = torch.stack([c[anny_body.coarse_parts == 21].mean(0) for c in cams])[:, None]  # waist
    visible = visible_points(out, pelvis, torch.tensor([0, 1]), K_IMG)
    assert visible.tolist() == [[True], [False]]
    offscreen = torch.tensor([[[5.0, 0.0, 2.0]], [[0.0, 0.0, -1.0]]])
    assert not visible_points(out, offscreen, torch.tensor([0, 1]), K_IMG).any()


def test_vertex_colors_skin_hair_clothes(anny_body, two_people):
    from interaction_recon.body import skeleton

    rest = two_people[0][0]
    rng = np.random.default_rng(3)
    for look in sample_looks(rng, 2):
        colors = vertex_colors(anny_body, look, rest)
        assert colors.shape == rest.shape and colors.min() >= 0 and colors.max() <= 1
        skin = torch.as_tensor(look.skin, dtype=colors.dtype)
        part = lambda name: anny_body.coarse_parts == skeleton.COARSE_PARTS.index(name)
        assert torch.allclose(colors[part("left hand") | part("right hand")], skin)
        nose = rest[part("face")][:, 2].argmax()
        assert torch.allclose(colors[part("face")][nose], skin)
        hair = hair_mask(anny_body, rest)
        assert hair.sum() > 100 and torch.allclose(colors[hair], torch.as_tensor(look.hair, dtype=colors.dtype))
        assert rest[hair][:, 1].max() == rest[part("head") | part("face")][:, 1].max()
        chest = colors[part("chest")]
        tops = torch.as_tensor(np.stack([look.top, look.accent]), dtype=colors.dtype)
        assert (chest[:, None] - tops).abs().amax(-1).min(1).values.max() < 1e-6


def test_looks_distinct_and_deterministic():
    for seed in range(50):
        a, b = sample_look(np.random.default_rng(seed), 0), sample_look(np.random.default_rng(seed + 99), 1)
        assert np.linalg.norm(a.top - b.top) >= MIN_TOP_DISTANCE
        assert 0.1 < a.skin.mean() < 0.97
    one, two = sample_looks(np.random.default_rng(7)), sample_looks(np.random.default_rng(7))
    assert all(np.array_equal(x.top, y.top) and x.pattern == y.pattern for x, y in zip(one, two))


def test_scene_render_is_deterministic(anny_body, two_people):
    rest, world = two_people
    R, t = _camera(eye=(0.5, 1.4, 3.0))

    def frame(seed):
        rng = np.random.default_rng(seed)
        colors = [vertex_colors(anny_body, look, r) for look, r in zip(sample_looks(rng), rest)]
        meshes = [(w @ R.T + t, anny_body.faces, c) for w, c in zip(world, colors)]
        meshes.append(sample_backdrop(rng).to_camera(R, t))
        return render(meshes, K_IMG, 256, 192, noise=0.01, seed=seed)

    a, b, c = frame(1), frame(1), frame(2)
    assert torch.equal(a.rgb, b.rgb) and torch.equal(a.mesh_id, b.mesh_id)
    assert not torch.equal(a.rgb, c.rgb)
    assert (a.mesh_id >= 0).all()  # the room fills the frame
    assert set(torch.unique(a.mesh_id).tolist()) == {0, 1, 2}
    assert a.rgb.dtype == torch.uint8 and a.mesh_id.dtype == torch.int16 and a.depth.dtype == torch.float32
