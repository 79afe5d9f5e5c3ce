"""Interpenetration and contact-distance queries between two bodies."""
import math

import torch


def _facing_pair(body, gap):
    """Two T-posed people facing each other along z, pelvises ``gap`` metres apart."""
    params = body.neutral_params(2, 1)
    params.global_orient[1, 0, 1] = math.pi
    params.transl[1, 0, 2] = gap
    return params


def test_penetration_is_zero_for_separated_bodies(anny_body, anny_collider):
    params = _facing_pair(anny_body, 1.0)
    depth = anny_collider.penetration(anny_body(params), anny_collider.rest(params))
    assert depth.shape == (2, 1, 1229)
    assert depth.max() == 0


def test_penetration_grows_with_overlap(anny_body, anny_collider):
    totals = []
    for gap in (0.3, 0.25, 0.2, 0.15):  # shallow to ~10 cm overlap
        params = _facing_pair(anny_body, gap)
        depth = anny_collider.penetration(anny_body(params), anny_collider.rest(params))
        totals.append(float(depth.sum()))
        assert depth[0].max() > 0 and depth[1].max() > 0  # both directions
    assert all(b > a for a, b in zip(totals, totals[1:])), totals


def test_penetration_gradient_pushes_bodies_apart(anny_body, anny_collider):
    params = _facing_pair(anny_body, 0.2).map(lambda t: t.clone().requires_grad_(True))
    depth = anny_collider.penetration(anny_body(params), anny_collider.rest(params))
    depth.square().sum().backward()
    # descending the loss moves person 1 (at +z) further to +z and person 0 to -z
    assert params.transl.grad[1, 0, 2] < 0 < params.transl.grad[0, 0, 2]


def test_contact_distance_matches_part_geometry(anny_body, anny_collider):
    params = anny_body.neutral_params(2, 2)
    params.transl[1, :, 0] = torch.tensor([1.6, 2.0])  # side by side: person 0's left hand vs person 1's right
    out = anny_body(params)
    d = anny_collider.contact_distance(out, "left hand", "right hand")
    hand = lambda p, side: out.collision_vertices[p, :, anny_collider.part_mask(f"{side} hand")]  # noqa: E731
    brute = torch.stack([torch.cdist(hand(0, "left")[t], hand(1, "right")[t]).min() for t in range(2)])
    assert torch.allclose(d, brute)
    assert d[1] > d[0] + 0.35
    soft = anny_collider.contact_distance(out, "left arm", "right arm", softness=0.01)
    exact = anny_collider.contact_distance(out, "left arm", "right arm")
    assert (soft <= exact + 1e-6).all() and (exact - soft < 0.01 * math.log(1e7)).all()


def test_collision_queries_are_cheap_enough_for_a_window(anny_body, anny_collider):
    params = _facing_pair(anny_body, 0.2)
    params = params.map(lambda t: t.expand(2, 16, *t.shape[2:]).clone() if t.dim() > 2 else t)
    depth = anny_collider.penetration(anny_body(params), anny_collider.rest(params))
    assert depth.shape == (2, 16, 1229) and torch.isfinite(depth).all()


def test_vectorised_deepest_sphere_matches_the_per_frame_loop(anny_body, anny_collider):
    torch.manual_seed(3)
    params = _facing_pair(anny_body, 0.2)
    params = params.map(lambda t: t.expand(2, 12, *t.shape[2:]).clone() if t.dim() > 2 else t)
    params.body_pose.normal_(0.0, 0.3)
    params.transl[1, :, 2] = torch.linspace(0.05, 1.2, 12)  # deep overlap to apart
    params.transl[1, :, 0] = torch.rand(12) * 0.3
    with torch.no_grad():
        out = anny_body(params)
        centres, radii = anny_collider.spheres(out, anny_collider.rest(params))
    points = out.collision_vertices.flip(0)
    fast = anny_collider._deepest_sphere(points, centres, radii)
    loop = anny_collider._deepest_sphere_loop(points, centres, radii)

    def depth(idx):
        c = torch.gather(centres, 2, idx.unsqueeze(-1).expand(*idx.shape, 3))
        r = torch.gather(radii, 1, idx.flatten(1)).view_as(idx)
        return r - (points - c).norm(dim=-1)

    inside = depth(loop) > 0
    assert inside.sum() > 200 and not inside[:, -1].any()  # deep frames and a separated one
    assert torch.equal(fast[inside], loop[inside])
    assert (fast[~inside] == 0).all()  # documented: 0 where a point is in no sphere
    assert torch.equal(depth(fast).clamp_min(0), depth(loop).clamp_min(0))
