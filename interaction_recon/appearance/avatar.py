"""Gaussian avatars of both people, rendered together and compared with the frame.

    model = AppearanceModel.from_body(body, AppearanceConfig())
    out = model.render(vertices_cam, K, (W, H))          # vertices [2, V, 3] camera frame
    loss = model.loss(frame, union_mask, out)              # L1 + SSIM over the union mask

Each person has a learnable latent [Cl, R, R]; a U-Net (shared, or one per person) decodes it
into a Gaussian map on the body's UV layout (:mod:`gaussians`). Both people's Gaussians go
through one rasterization with a one-hot identity channel per person beside the colour, so
who occludes whom comes out of the rendering, and so does the identity map.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from interaction_recon.appearance import gaussians as gs
from interaction_recon.appearance.raster import rasterize
from interaction_recon.appearance.unet import UNet
from interaction_recon.config import AppearanceConfig


@dataclass
class Rendering:
    """rgb [..., H, W, 3] (black background), alpha [..., H, W], identity [..., H, W, P]
    (accumulated weight of each person's Gaussians)."""

    rgb: Tensor
    alpha: Tensor
    identity: Tensor


class AppearanceModel(nn.Module):
    """Gaussian avatars of ``num_people`` people on one UV layout (faces [F, 3], uv [Vt, 2],
    face_uv [F, 3]). Learnable: latents [P, Cl, R, R] and the decoder(s); buffer colour_base
    [P, 3, R, R] (colour logits read off frames by :func:`~interaction_recon.appearance.fit.init_colours`)."""

    def __init__(self, faces: Tensor, uv: Tensor, face_uv: Tensor, config: AppearanceConfig | None = None,
                 num_people: int = 2):
        super().__init__()
        self.config = cfg = config or AppearanceConfig()
        self.num_people = num_people
        self.attachment = gs.UVAttachment(faces, uv, face_uv, cfg.resolution)
        gen = torch.Generator().manual_seed(cfg.seed)
        R = cfg.resolution
        self.latents = nn.Parameter(torch.randn(num_people, cfg.latent_channels, R, R, generator=gen))
        # colour logits read off the frames (fit.init_colours), added to the decoded colour channels
        self.register_buffer("colour_base", torch.zeros(num_people, 3, R, R))
        count = 1 if cfg.shared_decoder else num_people
        self.decoders = nn.ModuleList(
            [UNet(cfg.latent_channels, gs.DECODED, cfg.unet_width, cfg.unet_levels) for _ in range(count)])

    @classmethod
    def from_body(cls, body, config: AppearanceConfig | None = None, num_people: int = 2) -> "AppearanceModel":
        """For a :class:`~interaction_recon.body.BodyModel` with a UV layout."""
        if body.uv is None:
            raise ValueError(f"body model {body.name!r} has no UV layout")
        return cls(body.faces.cpu(), body.uv.cpu(), body.face_uv.cpu(), config, num_people).to(body.faces.device)

    def gaussian_map(self) -> Tensor:
        """[P, 14, R, R] every person's Gaussian map (decoded channels + identity plane)."""
        if len(self.decoders) == 1:
            raw = self.decoders[0](self.latents)
        else:
            raw = torch.cat([dec(lat[None]) for dec, lat in zip(self.decoders, self.latents)])
        colour = gs.channels("colour")
        raw = torch.cat([raw[:, :colour.start], raw[:, colour] + self.colour_base, raw[:, colour.stop:]], 1)
        ident = torch.stack([gs.identity_plane(p, self.config.resolution, raw) for p in range(self.num_people)])
        return torch.cat([raw, ident], 1)

    def gaussians(self, vertices: Tensor, gmap: Tensor | None = None) -> gs.Gaussians:
        """Everyone's Gaussians on the posed meshes vertices [P, V, 3] (one frame)."""
        gmap = self.gaussian_map() if gmap is None else gmap
        cfg = self.config
        return gs.Gaussians.cat([gs.decode(gmap[p], self.attachment, vertices[p], cfg.max_offset,
                                           cfg.opacity_init, cfg.scale_init, cfg.thickness)
                                 for p in range(self.num_people)])

    def render(self, vertices: Tensor, K: Tensor, size: tuple[int, int], backend: str | None = None) -> Rendering:
        """Both people in one pass. vertices [P, V, 3] or [P, T, V, 3] camera frame (OpenCV),
        K [3, 3] for an image of size (W, H). Returns :class:`Rendering` ([T, ...] for [P, T, V, 3])."""
        gmap = self.gaussian_map()
        if vertices.dim() == 4:
            frames = [self._render_frame(vertices[:, t], K, size, backend, gmap) for t in range(vertices.shape[1])]
            return Rendering(*(torch.stack([getattr(f, k) for f in frames]) for k in ("rgb", "alpha", "identity")))
        return self._render_frame(vertices, K, size, backend, gmap)

    def _render_frame(self, vertices: Tensor, K: Tensor, size: tuple[int, int], backend: str | None,
                      gmap: Tensor) -> Rendering:
        g = self.gaussians(vertices, gmap)
        colors = torch.cat([g.colors, F.one_hot(g.person, self.num_people).to(g.colors)], 1)
        image, alpha, _ = rasterize(g.means, g.quats, g.scales, g.opacities, colors, torch.as_tensor(K).to(g.means),
                                    size[0], size[1], backend=backend or self.config.backend)
        return Rendering(rgb=image[..., :3], alpha=alpha, identity=image[..., 3:])

    def loss(self, frame: Tensor, union_mask: Tensor, rendered: Rendering) -> Tensor:
        """(1 - w) L1 + w (1 - SSIM) between the rendering and the frame with its background
        blacked out, averaged over the union mask dilated by ``mask_margin`` pixels.

        frame [..., H, W, 3] float in 0..1 (uint8 is scaled), union_mask [..., H, W] bool."""
        return appearance_loss(frame, union_mask, rendered.rgb, self.config.ssim_weight, self.config.mask_margin)


def appearance_loss(frame: Tensor, union_mask: Tensor, rgb: Tensor, ssim_weight: float = 0.2,
                    margin: int = 2) -> Tensor:
    """See :meth:`AppearanceModel.loss`; rgb [..., H, W, 3] rendered on black."""
    if frame.dtype == torch.uint8:
        frame = frame.float() / 255.0
    mask = union_mask.to(rgb)
    target = frame.to(rgb) * mask[..., None]
    region = mask
    if margin > 0:
        flat = mask.reshape(-1, 1, *mask.shape[-2:])
        region = F.max_pool2d(flat, 2 * margin + 1, stride=1, padding=margin).reshape(mask.shape)
    area = region.sum().clamp_min(1.0)
    l1 = ((rgb - target).abs().mean(-1) * region).sum() / area
    dssim = ((1.0 - ssim_map(rgb, target)) * region).sum() / area
    return (1.0 - ssim_weight) * l1 + ssim_weight * dssim


def ssim_map(x: Tensor, y: Tensor, window: int = 11, sigma: float = 1.5) -> Tensor:
    """Per-pixel SSIM (channel mean) of images [..., H, W, C] in 0..1 -> [..., H, W]
    (Gaussian window, zero padding, as in 3D Gaussian splatting)."""
    shape = x.shape
    C = shape[-1]
    a, b = (t.reshape(-1, *shape[-3:]).permute(0, 3, 1, 2) for t in (x, y))
    g = torch.exp(-0.5 * ((torch.arange(window, dtype=x.dtype, device=x.device) - window // 2) / sigma) ** 2)
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).expand(C, 1, window, window)

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, kernel, padding=window // 2, groups=C)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s.mean(1).reshape(shape[:-1])
