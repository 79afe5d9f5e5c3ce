"""Appearance branch: Gaussian avatars of both people on the body's UV layout, rendered
together against the frame (CloseApp's appearance branch).

    model = AppearanceModel.from_body(body, AppearanceConfig())
    out = model.render(vertices_cam, K, (W, H))     # rgb, alpha, identity map, one pass
    loss = model.loss(frame, union_mask, out)
    refined = refine_with_appearance(result, frames, masks, K, body, config.appearance)  # after the motion-only fit

:func:`rasterize` is the one splatting entry point (PyTorch reference or gsplat on CUDA).
"""
from interaction_recon.appearance.avatar import AppearanceConfig, AppearanceModel, Rendering, appearance_loss
from interaction_recon.appearance.fit import calm_frames, fit_appearance, fit_joint, prepare_frames
from interaction_recon.appearance.raster import Splats, rasterize
from interaction_recon.appearance.refine import refine_with_appearance

__all__ = ["AppearanceConfig", "AppearanceModel", "Rendering", "Splats", "appearance_loss", "calm_frames",
           "fit_appearance", "fit_joint", "prepare_frames", "rasterize", "refine_with_appearance"]
