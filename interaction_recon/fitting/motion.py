"""How a window's motion is parameterised: the frozen frames, a smooth correction on a
low-frequency cosine basis over the optimised ones, rotations in 6D, and the seam where a
network's motion (the prior) joins the frozen frames."""
from __future__ import annotations

import roma
import torch

CONTEXT = 2  # frozen frames before the optimised ones that the loss still sees
SEAM_FADE = 8.0  # closeapp: frames (e-folding) over which the prior's motion joins the frozen ones


def motion_basis(n: int, per_frame: float, device=None) -> torch.Tensor:
    """[n, nb] low-frequency cosine (DCT-II) basis, unit RMS per column, nb = per_frame * n
    (at least 4, at most n): the optimised motion is the start plus a smooth correction."""
    nb = int(min(n, max(4, round(per_frame * n))))
    t = torch.arange(n, device=device, dtype=torch.float32)[:, None] + 0.5
    k = torch.arange(nb, device=device, dtype=torch.float32)[None]
    basis = torch.cos(torch.pi * t * k / n)
    return basis / basis.pow(2).mean(0, keepdim=True).sqrt()


def to6d(rotvec: torch.Tensor) -> torch.Tensor:
    """Rotation vectors [..., 3] -> the first two columns of their matrices [..., 6]."""
    return roma.rotvec_to_rotmat(rotvec)[..., :2].flatten(-2)


def from6d(m: torch.Tensor) -> torch.Tensor:
    """[..., 6] -> rotation vectors [..., 3] (Gram-Schmidt onto a rotation first)."""
    return roma.rotmat_to_rotvec(roma.special_gramschmidt(m.unflatten(-1, (3, 2))))
