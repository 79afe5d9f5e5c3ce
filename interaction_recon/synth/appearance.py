"""What the synthetic world looks like: clothed, skinned people and a tiled room around them.

Everything is drawn from a ``numpy.random.Generator`` so a seed fixes the whole look. People
are coloured per vertex from their rest-pose geometry (so patterns move with the body); the
room is a triangle mesh in the world frame (y up) with per-vertex colours.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from interaction_recon.body import skeleton

# Monk Skin Tone scale (sRGB), light to dark: skin is drawn between neighbouring tones.
SKIN_TONES = np.array([
    [246, 237, 228], [243, 231, 219], [247, 234, 208], [234, 218, 186], [215, 189, 150],
    [160, 126, 86], [130, 92, 67], [96, 65, 52], [58, 49, 42], [41, 36, 32],
]) / 255.0
HAIR_COLORS = np.array([
    [0.05, 0.04, 0.03], [0.17, 0.11, 0.07], [0.33, 0.22, 0.13], [0.45, 0.20, 0.10],
    [0.72, 0.58, 0.36], [0.55, 0.55, 0.55],
])
MIN_TOP_DISTANCE = 0.35  # RGB distance between the tops of people 0 and 1
DARK_TOP, LIGHT_TOP = 0.48, 0.85  # HSV value bounds of even / odd people's tops


@dataclass
class PersonLook:
    """One person's clothing and colouring (RGB in 0..1).

    pattern applies to the top: "stripes" (bands along rest-pose height) or "checks"
    (squares in rest-pose x/y), alternating ``top`` with ``accent`` every ``period`` metres.
    """

    skin: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    shoe: np.ndarray
    sleeve: str  # "short" | "long"
    trousers: str  # "shorts" | "long"
    pattern: str  # "plain" | "stripes" | "checks"
    hair: np.ndarray
    accent: np.ndarray
    period: float


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v))


def _skin(rng: np.random.Generator) -> np.ndarray:
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    tone = SKIN_TONES[i] + (t - i) * (SKIN_TONES[i + 1] - SKIN_TONES[i])
    return np.clip(tone * rng.uniform(0.9, 1.0) + rng.normal(0, 0.01, 3), 0, 1)


def _top(rng: np.random.Generator, index: int) -> np.ndarray:
    """A garment colour of any hue: dark (HSV value <= DARK_TOP) for even ``index``, light
    (value >= LIGHT_TOP) for odd, so the brightest channels of two people's tops differ by
    at least LIGHT_TOP - DARK_TOP >= MIN_TOP_DISTANCE."""
    value = rng.uniform(0.12, DARK_TOP) if index % 2 == 0 else rng.uniform(LIGHT_TOP, 1.0)
    return _hsv(rng.uniform(), rng.uniform(0.2, 0.95), value)


def sample_look(rng: np.random.Generator, index: int) -> PersonLook:
    """Person ``index``'s look; people of different index parity have tops at least
    MIN_TOP_DISTANCE apart (even: dark top, odd: light top)."""
    top = _top(rng, index)
    dark = rng.uniform() < 0.6
    return PersonLook(
        skin=_skin(rng),
        top=top,
        bottom=_hsv(rng.uniform(), rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.35) if dark else rng.uniform(0.4, 0.85)),
        shoe=_hsv(rng.uniform(), rng.uniform(0, 0.4), rng.choice([0.08, 0.25, 0.9]) * rng.uniform(0.9, 1.0)),
        sleeve=str(rng.choice(["short", "long"])),
        trousers=str(rng.choice(["shorts", "long"], p=[0.3, 0.7])),
        pattern=str(rng.choice(["plain", "stripes", "checks"], p=[0.5, 0.3, 0.2])),
        hair=np.clip(HAIR_COLORS[rng.integers(len(HAIR_COLORS))] * rng.uniform(0.85, 1.15), 0, 1),
        accent=_accent(rng, top),
        period=float(rng.uniform(0.04, 0.1)),
    )


def _accent(rng: np.random.Generator, top: np.ndarray) -> np.ndarray:
    """The pattern's second colour: a darker shade or a washed-out tint of the top."""
    if rng.uniform() < 0.5:
        return top * rng.uniform(0.3, 0.6)
    return 1 - (1 - top) * rng.uniform(0.2, 0.5)


def sample_looks(rng: np.random.Generator, num_people: int = 2) -> list[PersonLook]:
    """Looks of people 0 .. num_people - 1 (see :func:`sample_look`)."""
    return [sample_look(rng, i) for i in range(num_people)]


def _part_mask(body, names) -> Tensor:
    """[V] bool: vertices whose coarse part is one of ``names``."""
    ids = torch.tensor([skeleton.COARSE_PARTS.index(n) for n in names], device=body.coarse_parts.device)
    return torch.isin(body.coarse_parts, ids)


def _sided(*parts: str) -> list[str]:
    return [f"{side} {p}" for p in parts for side in ("left", "right")]


def _fraction(values: Tensor, mask: Tensor) -> Tensor:
    """[V] where each value lies between the masked vertices' min (0) and max (1)."""
    lo, hi = values[mask].min(), values[mask].max()
    return (values - lo) / (hi - lo)


def hair_mask(body, rest: Tensor) -> Tensor:
    """[V] bool: head vertices above the eyes and behind the face, plus the back of the head
    down to about ear level (rest pose: y up, facing +z)."""
    head = _part_mask(body, ["head", "face"])
    y, z = rest[:, 1], rest[:, 2]
    top, chin = y[head].max(), y[head].min()
    eye = top - 0.46 * (top - chin)
    front = z[head].max()
    depth = front - z[head].min()
    above_eyes = (y > eye + 0.15 * (top - eye)) & (z < front - 0.28 * depth + 0.6 * (y - eye))
    back = (y > eye - 0.35 * (top - eye)) & (z < front - 0.65 * depth)
    return head & (above_eyes | back)


def vertex_colors(body, look: PersonLook, rest_vertices: Tensor) -> Tensor:
    """Per-vertex RGB [V, 3] in 0..1 of ``look`` on the body whose rest pose is ``rest_vertices`` [V, 3]."""
    rest = rest_vertices
    x, y = rest[:, 0], rest[:, 1]
    color = lambda rgb: torch.as_tensor(rgb, dtype=rest.dtype, device=rest.device)

    top = color(look.top).expand(len(rest), 3).clone()
    cell = torch.floor(y / look.period) + (torch.floor(x / look.period) if look.pattern == "checks" else 0)
    if look.pattern != "plain":
        top[cell.long() % 2 == 1] = color(look.accent)
    out = top
    waist = _part_mask(body, ["waist"])
    legs = _part_mask(body, _sided("thigh", "knee", "leg"))
    bottom = legs | (waist & (_fraction(y, waist) < 0.45))
    out[bottom] = color(look.bottom)
    out[_part_mask(body, _sided("foot"))] = color(look.shoe)

    skin = _part_mask(body, ["head", "face", "neck"] + _sided("hand"))
    if look.sleeve == "short":
        upper = _part_mask(body, _sided("upper arm"))
        skin |= _part_mask(body, _sided("forearm", "elbow")) | (upper & (_fraction(x.abs(), upper) > 0.5))
    if look.trousers == "shorts":
        thigh = _part_mask(body, _sided("thigh"))
        skin |= _part_mask(body, _sided("knee", "leg")) | (thigh & (_fraction(y, thigh) < 0.45))
    out[skin] = color(look.skin)
    out[hair_mask(body, rest)] = color(look.hair)
    return out


@dataclass
class Backdrop:
    """A room in the world frame (y up): a tiled square floor at y = floor_y, four walls, a ceiling.

    vertices [V, 3] metres, faces [F, 3] long, colors [V, 3] RGB in 0..1. Tiles own their
    vertices, so each tile is one flat colour; walls carry a smooth colour gradient.
    """

    vertices: Tensor
    faces: Tensor
    colors: Tensor

    def to_camera(self, R: Tensor, t: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The mesh in a camera frame, x_cam = R @ x_world + t: (vertices, faces, colors)."""
        R, t = R.to(self.vertices), t.to(self.vertices)
        return self.vertices @ R.T + t, self.faces, self.colors


def _quads(corners: Tensor) -> Tensor:
    """Faces [2Q, 3] of Q quads whose 4 vertices are stored consecutively from ``corners`` [Q]."""
    c = corners[:, None]
    return torch.cat([c + torch.tensor([0, 1, 2]), c + torch.tensor([0, 2, 3])])


def floor_mesh(floor_y: float, tile: float, tile_colors: np.ndarray):
    """Tiled horizontal plane at height floor_y: n x n tiles of side ``tile`` centred at the
    origin, tile i, j coloured tile_colors [n, n, 3]."""
    n = tile_colors.shape[0]
    half = n * tile / 2
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    x0 = -half + i.flatten() * tile
    z0 = -half + j.flatten() * tile
    dx = torch.tensor([0.0, 0.0, 1.0, 1.0]) * tile
    dz = torch.tensor([0.0, 1.0, 1.0, 0.0]) * tile
    xs, zs = x0[:, None] + dx, z0[:, None] + dz  # [Q, 4]
    vertices = torch.stack([xs, torch.full_like(xs, floor_y), zs], -1).reshape(-1, 3)
    colors = torch.as_tensor(tile_colors, dtype=torch.float32).reshape(-1, 1, 3).expand(-1, 4, 3).reshape(-1, 3)
    return vertices.float(), _quads(torch.arange(0, 4 * n * n, 4)), colors


def wall_mesh(floor_y: float, half: float, height: float, cell: float, corner_colors: np.ndarray):
    """Four walls of a square room, gridded every ``cell`` metres; corner_colors [4, 2, 3] is
    each wall's colour pair, blended from its bottom start corner to its top end corner."""
    n_u, n_v = max(1, round(2 * half / cell)), max(1, round(height / cell))
    u, v = torch.meshgrid(torch.linspace(0, 1, n_u + 1), torch.linspace(0, 1, n_v + 1), indexing="ij")
    grid = torch.arange((n_u + 1) * (n_v + 1)).view(n_u + 1, n_v + 1)
    quad = torch.stack([grid[:-1, :-1], grid[1:, :-1], grid[1:, 1:], grid[:-1, 1:]], -1).reshape(-1, 4)
    quad_faces = torch.cat([quad[:, [0, 1, 2]], quad[:, [0, 2, 3]]])
    vertices, faces, colors = [], [], []
    for w, (dir_x, dir_z) in enumerate([(1, 0), (0, 1), (-1, 0), (0, -1)]):
        # wall w runs along direction d, starting at the corner -half*(d + normal)
        a = -half * torch.tensor([dir_x - dir_z, dir_z + dir_x], dtype=torch.float32)
        along = 2 * half * u.flatten()
        pos = torch.stack([a[0] + dir_x * along, floor_y + height * v.flatten(), a[1] + dir_z * along], -1)
        c = torch.as_tensor(corner_colors[w], dtype=torch.float32)
        blend = (0.7 * v.flatten() + 0.3 * u.flatten())[:, None]
        faces.append(quad_faces + sum(len(p) for p in vertices))
        vertices.append(pos)
        colors.append(c[0] + blend * (c[1] - c[0]))
    return torch.cat(vertices), torch.cat(faces), torch.cat(colors)


def make_backdrop(*parts) -> Backdrop:
    """Join (vertices, faces, colors) triples (floor, walls, ceiling) into one :class:`Backdrop`."""
    offsets = np.cumsum([0] + [len(v) for v, _, _ in parts[:-1]])
    return Backdrop(
        torch.cat([v for v, _, _ in parts]),
        torch.cat([f + int(o) for (_, f, _), o in zip(parts, offsets)]),
        torch.cat([c for _, _, c in parts]),
    )


def sample_backdrop(rng: np.random.Generator, floor_y: float = 0.0) -> Backdrop:
    """A random room around the origin: 4-7 m half size, 0.3-0.9 m tiles in one or two colours
    with per-tile brightness jitter, 2.6-3.5 m walls with random two-colour gradients, a pale
    ceiling (1 m cells)."""
    tile = rng.uniform(0.3, 0.9)
    n = int(np.ceil(2 * rng.uniform(4.0, 7.0) / tile))
    half = n * tile / 2
    base = _hsv(rng.uniform(), rng.uniform(0, 0.5), rng.uniform(0.25, 0.9))
    second = _hsv(rng.uniform(), rng.uniform(0, 0.5), rng.uniform(0.25, 0.9)) if rng.uniform() < 0.5 else base
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    checker = ((i + j) % 2)[..., None]
    tiles = np.where(checker == 1, second, base) * rng.uniform(0.85, 1.15, (n, n, 1))
    wall = lambda hue: _hsv(hue, rng.uniform(0, 0.45), rng.uniform(0.35, 0.95))
    walls = np.stack([[wall(h), wall(h + rng.normal(0, 0.08))] for h in rng.uniform(0, 1, 4)])
    height = rng.uniform(2.6, 3.5)
    n_ceiling = int(np.ceil(2 * half))
    ceiling = np.empty((n_ceiling, n_ceiling, 3))
    ceiling[:] = _hsv(rng.uniform(), rng.uniform(0, 0.15), rng.uniform(0.7, 0.95))
    return make_backdrop(
        floor_mesh(floor_y, tile, np.clip(tiles, 0, 1)),
        wall_mesh(floor_y, half, height, 0.5, walls),
        floor_mesh(floor_y + height, 1.0, ceiling),
    )
