"""Appearance branch: the splatting reference against a naive renderer, its gradients, Gaussians
on the surface, both people in one pass, and the depth-order property the branch exists for."""
import copy
import dataclasses

import numpy as np
import pytest
import roma
import torch

from interaction_recon.appearance import (
    AppearanceConfig,
    AppearanceModel,
    appearance_loss,
    fit_appearance,
    fit_joint,
    prepare_frames,
    raster,
)
from interaction_recon.appearance.fit import body_motion, calm_frames, init_colours
from interaction_recon.appearance.raster import rasterize
from interaction_recon.appearance.refine import (
    overlap_segments,
    refine_with_appearance,
    swap_depths,
)
from interaction_recon.body import skeleton
from interaction_recon.body.model import BodyParams
from interaction_recon.fitting.camera import project
from interaction_recon.fitting.losses import penetration
from interaction_recon.fitting.result import Reconstruction
from interaction_recon.render.mesh import render as render_mesh


# ----------------------------------------------------------------------------- helpers
def naive_splat(means, quats, scales, opacities, colors, K, width, height, background=None, eps2d=0.3, near=0.01):
    """The spec written out pixel by pixel, Gaussian by Gaussian, in float64 numpy."""
    means, quats, scales, opacities, colors, K = (np.asarray(t.detach(), np.float64) for t in
                                                  (means, quats, scales, opacities, colors, K))
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    splats = []
    for i in range(len(means)):
        x, y, z = means[i]
        if z <= near:
            continue
        w, qx, qy, qz = quats[i] / np.linalg.norm(quats[i])
        R = np.array([[1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - w * qz), 2 * (qx * qz + w * qy)],
                      [2 * (qx * qy + w * qz), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - w * qx)],
                      [2 * (qx * qz - w * qy), 2 * (qy * qz + w * qx), 1 - 2 * (qx * qx + qy * qy)]])
        cov3 = R @ np.diag(scales[i] ** 2) @ R.T
        tx = z * np.clip(x / z, -cx / fx - 0.15 * width / fx, (width - cx) / fx + 0.15 * width / fx)
        ty = z * np.clip(y / z, -cy / fy - 0.15 * height / fy, (height - cy) / fy + 0.15 * height / fy)
        J = np.array([[fx / z, 0, -fx * tx / z ** 2], [0, fy / z, -fy * ty / z ** 2]])
        cov2 = J @ cov3 @ J.T + eps2d * np.eye(2)
        splats.append((z, i, np.array([fx * x / z + cx, fy * y / z + cy]), np.linalg.inv(cov2)))
    splats.sort(key=lambda s: (s[0], s[1]))
    image = np.zeros((height, width, colors.shape[1]))
    acc = np.zeros((height, width))
    for r in range(height):
        for c in range(width):
            T = 1.0
            for _, i, m, conic in splats:
                d = np.array([c + 0.5, r + 0.5]) - m
                sigma = 0.5 * d @ conic @ d
                alpha = min(0.999, opacities[i] * np.exp(-sigma))
                if sigma < 0 or alpha < 1 / 255:
                    continue
                if T * (1 - alpha) <= 1e-4:
                    break
                image[r, c] += alpha * T * colors[i]
                acc[r, c] += alpha * T
                T *= 1 - alpha
    if background is not None:
        image += (1 - acc)[..., None] * np.asarray(background, np.float64)
    return image, acc


def random_splats(seed, n, dtype=torch.float64, spread=0.6):
    g = torch.Generator().manual_seed(seed)
    means = torch.cat([(torch.rand(n, 2, generator=g) * 2 - 1) * spread, 1.5 + 2 * torch.rand(n, 1, generator=g)], 1)
    quats = torch.randn(n, 4, generator=g)
    scales = 0.03 + 0.15 * torch.rand(n, 3, generator=g)
    opacities = 0.1 + 0.85 * torch.rand(n, generator=g)
    colors = torch.rand(n, 3, generator=g)
    return [t.to(dtype) for t in (means, quats, scales, opacities, colors)]


def intrinsics(f, width, height, dtype=torch.float64):
    return torch.tensor([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]], dtype=dtype)


def plane(n, centre, size):
    """A square grid mesh facing the camera: vertices [n*n, 3], faces [F, 3], uv [n*n, 2]
    (u along +x, v = 1 at the top row, so UV row r lies at y = top + (r + 0.5) / R * size)."""
    s = torch.linspace(0.0, 1.0, n)
    gy, gx = torch.meshgrid(s, s, indexing="ij")
    verts = torch.stack([gx.flatten() - 0.5, gy.flatten() - 0.5, torch.zeros(n * n)], 1) * size
    verts = verts + torch.as_tensor(centre, dtype=torch.float32)
    uv = torch.stack([gx.flatten(), 1.0 - gy.flatten()], 1)
    i = torch.arange(n - 1)
    a = (i[:, None] * n + i[None, :]).flatten()
    faces = torch.cat([torch.stack([a, a + n, a + 1], 1), torch.stack([a + 1, a + n, a + n + 1], 1)])
    return verts, faces, uv


TOY = AppearanceConfig(resolution=16, latent_channels=4, unet_width=8, unet_levels=2, appearance_lr=0.02,
                       mask_margin=1)


def toy_model(config=TOY):
    torch.manual_seed(0)  # the decoder's default init draws from the global generator
    _, faces, uv = plane(9, (0, 0, 0), 1.0)
    return AppearanceModel(faces, uv, faces, config)


def two_planes(frames):
    """Vertices [2, T, V, 3] of two planes at (x0, z0, x1, z1) per frame; sizes scale with depth
    so each covers 0.3 of the focal length in the image."""
    verts = [[plane(9, (x, 0.0, z), 0.3 * z)[0] for x, z in ((x0, z0), (x1, z1))] for x0, z0, x1, z1 in frames]
    return torch.stack([torch.stack([v[p] for v in verts]) for p in range(2)])


def photograph(vertices, colors, K, size):
    """Flat-shaded mesh rendering (an independent renderer) of both planes per frame:
    frames [T, H, W, 3] float, union masks [T, H, W] bool."""
    _, faces, _ = plane(9, (0, 0, 0), 1.0)
    W, H = size
    frames, masks = [], []
    for t in range(vertices.shape[1]):
        meshes = [(vertices[p, t], faces, torch.as_tensor(colors[p]).expand(len(vertices[p, t]), 3)) for p in range(2)]
        r = render_mesh(meshes, K.float(), H, W, ambient=1.0)
        frames.append(r.rgb.float() / 255)
        masks.append(r.mesh_id >= 0)
    return torch.stack(frames), torch.stack(masks)


# ----------------------------------------------------------------------------- rasterizer
@pytest.mark.parametrize("seed,n,width,height,opaque", [(0, 12, 16, 16, False), (1, 6, 16, 16, False),
                                                         (2, 25, 20, 13, False), (8, 20, 16, 16, True)])
def test_reference_matches_naive_per_pixel_renderer(seed, n, width, height, opaque):
    means, quats, scales, opacities, colors = random_splats(seed, n)
    if opaque:  # transmittance runs out: the early stop at 1e-4 matters
        opacities, scales = torch.full_like(opacities, 0.9995), 4 * scales
    K = intrinsics(16.0, width, height)
    background = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    image, alpha, meta = rasterize(means, quats, scales, opacities, colors, K, width, height, backend="torch",
                                   background=background)
    ref_image, ref_alpha = naive_splat(means, quats, scales, opacities, colors, K, width, height, background)
    assert image.shape == (height, width, 3) and alpha.shape == (height, width)
    assert ref_alpha.max() > 0.5  # the scene is not empty
    np.testing.assert_allclose(image.numpy(), ref_image, atol=1e-10)
    np.testing.assert_allclose(alpha.numpy(), ref_alpha, atol=1e-10)


def test_reference_drops_gaussians_behind_the_near_plane():
    means, quats, scales, opacities, colors = random_splats(3, 8)
    means[:4, 2] = -means[:4, 2]
    K = intrinsics(16.0, 16, 16)
    image, _, _ = rasterize(means, quats, scales, opacities, colors, K, 16, 16, backend="torch")
    kept, _, _ = rasterize(means[4:], quats[4:], scales[4:], opacities[4:], colors[4:], K, 16, 16, backend="torch")
    assert torch.equal(image, kept)


def test_reference_gradcheck_float64():
    means, quats, scales, opacities, colors = random_splats(4, 6, spread=0.5)
    K = intrinsics(16.0, 20, 18)
    background = torch.tensor([0.2, 0.3, 0.4], dtype=torch.float64)

    def render(m, q, s, o, c):
        image, alpha, _ = rasterize(m, q, s, o, c, K, 20, 18, backend="torch", background=background)
        return image, alpha

    inputs = [t.clone().requires_grad_() for t in (means, quats, scales, opacities, colors)]
    assert torch.autograd.gradcheck(render, inputs, eps=1e-6, atol=1e-6)


def test_chunked_reference_matches_single_pass(monkeypatch):
    means, quats, scales, opacities, colors = random_splats(5, 40, spread=0.5)
    means.requires_grad_()
    colors.requires_grad_()
    K = intrinsics(16.0, 24, 20)

    def run():
        image, alpha, meta = rasterize(means, quats, scales, opacities, colors, K, 24, 20, backend="torch")
        grads = torch.autograd.grad((image ** 2).sum() + alpha.sum(), [means, colors])
        return image, grads, meta["chunks"]

    image, grads, chunks = run()
    monkeypatch.setattr(raster, "CHUNK", 37)
    image_c, grads_c, chunks_c = run()
    assert chunks == 1 and chunks_c > 10
    torch.testing.assert_close(image_c, image, atol=1e-12, rtol=0)
    for g, gc in zip(grads, grads_c):
        torch.testing.assert_close(gc, g, atol=1e-10, rtol=0)


def test_front_gaussian_occludes_the_one_behind_whatever_the_input_order():
    means = torch.tensor([[0.0, 0.0, 4.0], [0.0, 0.0, 2.0]])
    quats = torch.tensor([[1.0, 0, 0, 0]]).repeat(2, 1)
    scales = torch.tensor([[0.6, 0.6, 0.6], [0.3, 0.3, 0.3]])  # same size in the image
    opacities = torch.tensor([0.99, 0.99])
    colors = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])  # back blue, front red
    K = intrinsics(16.0, 16, 16, torch.float32)
    image, _, _ = rasterize(means, quats, scales, opacities, colors, K, 16, 16, backend="torch")
    swapped, _, _ = rasterize(means.flip(0), quats, scales.flip(0), opacities, colors.flip(0), K, 16, 16,
                              backend="torch")
    centre = image[8, 8]
    assert centre[0] > 0.9 and centre[2] < 0.05
    torch.testing.assert_close(swapped, image)


def test_gsplat_backend_refuses_cpu_tensors():
    means, quats, scales, opacities, colors = random_splats(6, 4, torch.float32)
    with pytest.raises(ValueError, match="CUDA"):
        rasterize(means, quats, scales, opacities, colors, intrinsics(16.0, 16, 16, torch.float32), 16, 16,
                  backend="gsplat")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="gsplat renders on CUDA only")
def test_gsplat_matches_reference():
    pytest.importorskip("gsplat")
    means, quats, scales, opacities, colors = (t.cuda() for t in random_splats(7, 300, torch.float32, spread=0.8))
    scales = scales * 0.5
    K = intrinsics(64.0, 64, 48, torch.float32).cuda()
    background = torch.tensor([0.1, 0.2, 0.3], device="cuda")
    params = [t.clone().requires_grad_() for t in (means, colors, opacities)]
    out = {}
    for backend in ("torch", "gsplat"):
        m, c, o = (p.detach().clone().requires_grad_() for p in params)
        image, alpha, _ = rasterize(m, quats, scales, o, c, K, 64, 48, backend=backend, background=background)
        grads = torch.autograd.grad((image * torch.linspace(0, 1, 3, device="cuda")).sum() + alpha.sum(), [m, c, o])
        out[backend] = (image, alpha, grads)
    (img_t, alpha_t, grads_t), (img_g, alpha_g, grads_g) = out["torch"], out["gsplat"]
    assert (img_t - img_g).abs().max() < 5e-2 and (img_t - img_g).abs().mean() < 2e-3
    assert (alpha_t - alpha_g).abs().max() < 5e-2
    for gt, gg in zip(grads_t, grads_g):
        cos = torch.nn.functional.cosine_similarity(gt.flatten(), gg.flatten(), dim=0)
        assert cos > 0.98


# ----------------------------------------------------------------------------- Gaussians on the surface
def test_zero_offset_gaussians_sit_at_their_texels_surface_points():
    model = toy_model()
    R = TOY.resolution
    verts, faces, uv = plane(9, (0.1, -0.2, 2.0), 0.8)
    g = model.gaussians(torch.stack([verts, verts + torch.tensor([0.0, 0.0, 1.0])]))
    M = len(model.attachment)
    assert M == R * R  # the plane's UV layout covers the unit square
    row, col = model.attachment.texel // R, model.attachment.texel % R
    expected = torch.stack([0.1 - 0.4 + (col + 0.5) / R * 0.8, -0.2 - 0.4 + (row + 0.5) / R * 0.8,
                            torch.full((M,), 2.0)], 1)
    torch.testing.assert_close(g.means[:M], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(g.means[M:], expected + torch.tensor([0.0, 0.0, 1.0]), atol=1e-5, rtol=0)
    assert torch.equal(g.person, torch.arange(2).repeat_interleave(M))


def test_gaussians_follow_a_rigid_motion_of_the_mesh():
    model = toy_model()
    with torch.no_grad():
        model.decoders[0].out.bias.normal_(0.0, 0.5)  # non-zero offsets, rotations and scales
    verts = plane(9, (0.0, 0.0, 2.0), 0.8)[0] + 0.01 * torch.randn(81, 3, generator=torch.Generator().manual_seed(0))
    Rm = roma.rotvec_to_rotmat(torch.tensor([0.3, -0.5, 0.2]))
    t = torch.tensor([0.2, -0.1, 0.5])
    pair = lambda v: torch.stack([v, v])  # noqa: E731
    g, moved = model.gaussians(pair(verts)), model.gaussians(pair(verts @ Rm.T + t))
    torch.testing.assert_close(moved.means, g.means @ Rm.T + t, atol=1e-5, rtol=0)

    def cov(x):
        M = raster.quat_to_rotmat(x.quats) * x.scales[:, None]
        return M @ M.transpose(1, 2)

    torch.testing.assert_close(cov(moved), Rm @ cov(g) @ Rm.T, atol=1e-7, rtol=1e-4)
    torch.testing.assert_close(moved.colors, g.colors)


def test_anny_gaussians_lie_on_the_posed_mesh_and_move_with_the_pose(anny_body):
    model = AppearanceModel.from_body(anny_body, AppearanceConfig(resolution=32))
    att = model.attachment
    assert 0.5 * 32 ** 2 < len(att) < 0.8 * 32 ** 2  # anny's charts cover ~62% of the UV square
    assert (att.bary >= -1e-6).all() and torch.allclose(att.bary.sum(1), torch.ones(len(att)))
    params = anny_body.neutral_params(2, 2)
    params.body_pose[:, 1, skeleton.SMPL_JOINTS.index("right_elbow") - 1, 2] = 1.0  # frame 1: elbow bent
    with torch.no_grad():
        verts = anny_body(params, full_mesh=True).vertices
        rest, bent = model.gaussians(verts[:, 0]), model.gaussians(verts[:, 1])
    corners = verts[0, 1][att.corners]  # [M, 3, 3]
    torch.testing.assert_close(bent.means[:len(att)], (att.bary[..., None] * corners).sum(1), atol=1e-5, rtol=0)
    moved = (bent.means - rest.means).norm(dim=1)
    part = anny_body.smpl_parts[att.corners[:, 0]].repeat(2)
    hand = (part == skeleton.SMPL_JOINTS.index("right_wrist")) | (part == skeleton.SMPL_JOINTS.index("right_hand"))
    legs = (part == skeleton.SMPL_JOINTS.index("left_knee")) | (part == skeleton.SMPL_JOINTS.index("right_knee"))
    assert hand.sum() > 10 and legs.sum() > 10
    assert moved[hand].min() > 0.05 and moved[legs].max() < 1e-5


# ----------------------------------------------------------------------------- both people, one pass
SIZE = (48, 48)
K48 = intrinsics(48.0, *SIZE, torch.float32)
RED, BLUE = (0.9, 0.2, 0.2), (0.2, 0.3, 0.9)
OVERLAP = (-0.06, 2.0, 0.09, 3.0)  # person 0 at z = 2 in front of person 1 at z = 3, overlapping in the image
SWAPPED = (-0.09, 3.0, 0.06, 2.0)  # the same image footprints with the depth order reversed
CALM = [(-0.45, 2.0, 0.65, 3.0), (-0.40, 2.5, 0.55, 2.5)]  # side by side


def test_one_pass_identity_map_lets_the_front_person_win():
    model = toy_model()
    verts = two_planes([OVERLAP, SWAPPED])
    out = model.render(verts, K48, SIZE, backend="torch")
    assert out.rgb.shape == (2, 48, 48, 3) and out.identity.shape == (2, 48, 48, 2)
    row = 24
    both = (out.identity[0, row, :, 0] > 0.5) | (out.identity[0, row, :, 1] > 0.5)
    cols = torch.nonzero(both).squeeze(1)
    left, right, middle = cols.min(), cols.max(), (cols.min() + cols.max()) // 2
    assert out.identity[0, row, left, 0] > 0.9 and out.identity[0, row, right, 1] > 0.9  # each alone
    assert out.identity[0, row, middle, 0] > 0.95 and out.identity[0, row, middle, 1] < 0.05  # person 0 in front
    assert out.identity[1, row, middle, 1] > 0.95 and out.identity[1, row, middle, 0] < 0.05  # swapped order
    torch.testing.assert_close(out.alpha, out.identity.sum(-1))


def test_appearance_loss_is_zero_for_the_masked_frame_and_ignores_the_background():
    g = torch.Generator().manual_seed(9)
    frame = torch.rand(20, 24, 3, generator=g)
    mask = torch.zeros(20, 24, dtype=torch.bool)
    mask[5:15, 6:18] = True
    rendered = frame * mask[..., None]
    assert appearance_loss(frame, mask, rendered) < 1e-6
    other = frame.clone()
    other[~mask] = torch.rand(int((~mask).sum()), 3, generator=g)  # another background
    assert appearance_loss(other, mask, rendered) < 1e-6
    assert appearance_loss(frame, mask, rendered.roll(1, 1)) > 0.05


@pytest.fixture(scope="module")
def calm_toy():
    """Two calm (side-by-side) frames and one overlapping frame of a red and a blue plane."""
    verts = two_planes(CALM + [OVERLAP])
    frames, masks = photograph(verts, [RED, BLUE], K48, SIZE)
    return verts, frames, masks


@pytest.fixture(scope="module")
def fitted_toy(calm_toy):
    """The toy model fitted (colours read off, then 30 steps) on the calm frames."""
    verts, frames, masks = calm_toy
    model = toy_model()
    fit_appearance(model, verts, frames, masks, K48, indices=calm_frames(verts, K48, 2), steps=30)
    return model, verts, frames, masks


def test_calm_frames_pick_the_side_by_side_frames(calm_toy):
    verts, _, _ = calm_toy
    assert calm_frames(verts, K48, 2).tolist() == [0, 1]
    assert calm_frames(verts, K48, 1).tolist() == [0]


def test_init_colours_reads_each_persons_colours_off_the_frames(calm_toy):
    verts, frames, masks = calm_toy
    model = toy_model()
    seen = init_colours(model, verts, frames, masks, K48, torch.tensor([0, 1]))
    with torch.no_grad():
        colors = model.gaussians(verts[:, 0]).colors.view(2, -1, 3)
    assert (seen > 0.95).all()
    torch.testing.assert_close(colors[0], torch.tensor(RED).expand_as(colors[0]), atol=0.02, rtol=0)
    torch.testing.assert_close(colors[1], torch.tensor(BLUE).expand_as(colors[1]), atol=0.02, rtol=0)


def test_fitting_the_latent_lowers_the_loss(calm_toy):
    verts, frames, masks = calm_toy
    history = fit_appearance(toy_model(), verts, frames, masks, K48, indices=torch.tensor([0, 1]), steps=60,
                             init=False)
    assert history[-1] < 0.5 * history[0]


def test_loss_prefers_the_correct_depth_order(fitted_toy):
    model, verts, frames, masks = fitted_toy
    swapped = two_planes([SWAPPED])
    with torch.no_grad():
        right = model.loss(frames[2], masks[2], model.render(verts[:, 2], K48, SIZE))
        wrong = model.loss(frames[2], masks[2], model.render(swapped[:, 0], K48, SIZE))
    assert right < 0.7 * wrong


def test_joint_fit_moves_the_motion_towards_the_image(fitted_toy):
    model = copy.deepcopy(fitted_toy[0])
    truth = two_planes([OVERLAP])
    frames, masks = photograph(truth, [RED, BLUE], K48, SIZE)
    shift = torch.tensor([0.06, 0.0, 0.0], requires_grad=True)  # person 0 starts 6 cm too far right

    def pose(indices):
        return torch.stack([truth[0] + shift, truth[1]])[:, indices]

    history = fit_joint(model, pose, [shift], 0.005, frames, masks, K48, indices=torch.tensor([0]), steps=15)
    assert abs(shift[0].item()) < 0.03 and history[-1] < history[0]


def test_body_motion_poses_the_chosen_frames_and_passes_gradients(anny_body):
    params = anny_body.neutral_params(2, 4)
    params.transl[1] = torch.tensor([0.5, 0.0, 0.3])
    pose, motion = body_motion(anny_body, params, fields=("transl",))
    indices = torch.tensor([1, 3])
    verts = pose(indices)
    with torch.no_grad():
        expected = anny_body(params, full_mesh=True).vertices[:, indices]
    torch.testing.assert_close(verts, expected)
    verts[..., 2].sum().backward()
    grad = motion[0].grad
    assert grad[:, indices, 2].abs().min() > 0 and grad[:, [0, 2]].abs().max() == 0


def test_prepare_frames_keeps_projections_consistent():
    K = intrinsics(100.0, 64, 48, torch.float32)
    frames = torch.zeros(1, 48, 64, 3, dtype=torch.uint8)
    labels = torch.zeros(1, 48, 64, dtype=torch.uint8)
    labels[0, 8:24, 16:40] = 2
    point = torch.tensor([0.1, -0.05, 2.0])
    small, union, Ks = prepare_frames(frames, labels, K, 4)
    assert small.shape == (1, 12, 16, 3) and small.dtype == torch.float32 and union.shape == (1, 12, 16)
    assert union[0].sum() == (16 // 4) * (24 // 4)
    full = K @ point
    torch.testing.assert_close((Ks @ point)[:2] / point[2], full[:2] / point[2] / 4)


# ----------------------------------------------------------------------------- appearance stage
def test_overlap_segments_are_the_runs_of_overlapping_joint_boxes():
    K = intrinsics(100.0, 200, 200, torch.float32).numpy()
    x = np.array([-1.0, -1.0, 0.05, 0.05, -1.0, 0.05, 0.05, 0.05])  # person 0's offset per frame
    joints = np.zeros((2, len(x), 2, 3))
    joints[0, :, :, 0] = x[:, None] + np.array([-0.2, 0.2])
    joints[1, :, :, 0] = np.array([0.0, 0.4])
    joints[..., 1] = np.array([-0.5, 0.5])
    joints[..., 2] = 3.0
    joints[1, 6] = np.nan  # unknown: breaks the run
    segments = overlap_segments(joints, K)
    assert [s.tolist() for s in segments] == [[2, 3], [5], [7]]


def test_swap_depths_trades_pelvis_depths_and_keeps_the_picture():
    pelvis = torch.tensor([[[0.1, 0.0, 2.0], [0.1, 0.0, 2.0]], [[-0.2, 0.1, 3.0], [-0.2, 0.1, 3.0]]])  # [2, 2, 3]
    points = pelvis[:, :, None] + torch.tensor([[0.0, -0.5, 0.1], [0.2, 0.3, -0.1]])  # [2, 2, 2, 3]
    moved = swap_depths(points, pelvis, torch.tensor([False, True]))
    torch.testing.assert_close(moved[:, 0], points[:, 0])
    centre = swap_depths(pelvis, pelvis, torch.tensor([False, True]))
    torch.testing.assert_close(centre[:, 1, 2], torch.tensor([3.0, 2.0]))
    K = intrinsics(100.0, 64, 64, torch.float32)
    torch.testing.assert_close(project(moved, K), project(points, K))


TWO_PEOPLE = [(-0.9, 2.6, 0.9, 3.2)] * 2 + [(-0.12, 2.6, 0.12, 3.2)] * 4  # apart, then person 0 in front, overlapping
STAGE = AppearanceConfig(resolution=32, latent_channels=4, unet_width=8, unet_levels=2, downscale=1, every=1,
                         appearance_frames=2, appearance_steps=20, joint_steps=3, appearance_lr=0.02)


def photographed(body, rows, bent_forward: float = 0.0):
    """Two flat-coloured anny bodies placed at ``rows`` ((x0, z0, x1, z1) per frame), person 1's
    spine bent forward by ``bent_forward`` rad, photographed in 96 x 96 frames: the true body
    parameters [2, T], frames [T, H, W, 3] uint8, labels [T, H, W], K."""
    T, K = len(rows), intrinsics(96.0, 96, 96, torch.float32)
    params = body.neutral_params(2, T)
    params.global_orient[..., 0] = np.pi  # upright in the camera frame (y down)
    params.body_pose[1, :, [2, 5, 8], 0] = bent_forward
    params.transl = torch.tensor([[[x, 0.1, z] for x, z in zip(row[::2], row[1::2])] for row in rows]).transpose(0, 1)
    with torch.no_grad():
        vertices = body(params, full_mesh=True).vertices
    frames, labels = [], []
    for t in range(T):
        r = render_mesh([(vertices[p, t], body.faces, torch.tensor(c).expand(vertices.shape[2], 3))
                         for p, c in enumerate((RED, BLUE))], K, 96, 96, ambient=1.0)
        frames.append(r.rgb)
        labels.append((r.mesh_id + 1).to(torch.uint8))
    return params, torch.stack(frames).numpy(), torch.stack(labels).numpy(), K


@pytest.fixture(scope="module")
def two_people(anny_body):
    """TWO_PEOPLE photographed (see :func:`photographed`)."""
    return photographed(anny_body, TWO_PEOPLE)


def reconstruction(body, params, transl, K):
    """A :class:`Reconstruction` of params [2, T] with this translation [2, T, 3]."""
    moved = BodyParams(params.global_orient, params.body_pose, transl, params.shape)
    with torch.no_grad():
        joints = body(moved).joints.numpy()
    T = transl.shape[1]
    return Reconstruction(frames=np.arange(T), stamps=np.arange(T) / 30.0, global_orient=params.global_orient.numpy(),
                          body_pose=params.body_pose.numpy(), transl=transl.numpy(), shape=params.shape.numpy(),
                          joints=joints, confidence=np.ones((2, T), np.float32), track_ids=np.array([0, 1]),
                          K=K.double().numpy(), fps=30.0, body_model=body.name)


@pytest.mark.parametrize("swapped", [True, False])
def test_appearance_stage_puts_the_person_in_front_back_in_front(anny_body, anny_collider, two_people, swapped):
    params, frames, labels, K = two_people
    with torch.no_grad():
        pelvis = anny_body(params).joints[:, :, 0]
    swap = torch.tensor([False, False, True, True, True, True]) & swapped  # the overlapping frames' order reversed
    start = reconstruction(anny_body, params, params.transl + swap_depths(pelvis, pelvis, swap) - pelvis, K)
    info = {}
    refined = refine_with_appearance(start, frames, labels, K.numpy(), anny_body, STAGE, info=info, collider=anny_collider)
    assert [s["frames"] for s in info["stretches"]] == [[2, 5]]
    assert info["stretches"][0]["flipped"] == (4 if swapped else 0)
    assert info["picture"]["frame"] in range(2, 6) and info["picture"]["rendering"].shape == (96, 96, 3)
    depth = refined.joints[:, :, 0, 2]
    assert (depth[0] < depth[1] - 0.4).all()  # person 0 in front, as photographed
    np.testing.assert_allclose(depth, pelvis[..., 2].numpy(), atol=0.05)
    np.testing.assert_allclose(refined.joints[:, :, 0, :2] / depth[..., None],
                               pelvis[..., :2].numpy() / pelvis[..., 2:].numpy(), atol=0.01)


LEANING = [(-0.9, 2.6, 0.9, 3.2)] * 2 + [(-0.08, 2.6, 0.08, 2.85)] * 4  # apart, then person 1 close behind, leaning in


@pytest.fixture(scope="module")
def leaning_pair(anny_body):
    """LEANING photographed: person 1 close behind person 0, its upper body bent forward into
    person 0's back (~6 cm deep); see :func:`photographed`."""
    return photographed(anny_body, LEANING, bent_forward=0.3)


@pytest.mark.parametrize("weight", [STAGE.penetration, 0.0])
def test_appearance_stage_does_not_swap_the_bodies_into_each_other(anny_body, anny_collider, leaning_pair, weight):
    """The start has the order reversed in the overlapping frames (person 1 in front, bent away
    from person 0: no overlap); the image asks for the swap, which would put the bodies into each
    other. With the penetration term the refined bodies overlap no more than the start's;
    without it (weight 0) they do, so the toy bites."""
    params, frames, labels, K = leaning_pair
    with torch.no_grad():
        pelvis = anny_body(params).joints[:, :, 0]
    swap = torch.tensor([False, False, True, True, True, True])
    start = reconstruction(anny_body, params, params.transl + swap_depths(pelvis, pelvis, swap) - pelvis, K)

    def overlap(result: Reconstruction) -> float:
        with torch.no_grad():
            out = result.params()
            return penetration(anny_collider, anny_body(out), anny_collider.rest(out)).item()

    refined = refine_with_appearance(start, frames, labels, K.numpy(), anny_body,
                                     dataclasses.replace(STAGE, penetration=weight), collider=anny_collider)
    if weight:
        assert overlap(refined) <= overlap(start) + 1e-4
    else:
        assert overlap(refined) > overlap(start) + 1e-3
