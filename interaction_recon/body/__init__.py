"""Body models behind one interface: SMPL-convention parameters -> posed geometry.

    body = create(BodyConfig())              # anny, no files needed
    out = body(body.neutral_params(2, 128))  # [person, frame] batched
"""
from __future__ import annotations

from interaction_recon.body.model import BodyModel, BodyOutput, BodyParams
from interaction_recon.config import BodyConfig
from interaction_recon.paths import cache_dir

__all__ = ["BodyModel", "BodyOutput", "BodyParams", "create"]


def create(config: BodyConfig | None = None) -> BodyModel:
    """Build the configured body model on its device."""
    config = config or BodyConfig()
    if config.backend == "anny":
        from interaction_recon.body.anny_backend import AnnyBody

        model = AnnyBody(cache_dir=cache_dir() / "anny")
    elif config.backend == "smpl":
        from interaction_recon.body.smpl_backend import SmplBody

        if not config.model_path:
            raise ValueError(
                "body.backend 'smpl' needs body.model_path: the SMPL_NEUTRAL.pkl file or its folder "
                "(register and download SMPL from https://smpl.is.tue.mpg.de)")
        model = SmplBody(config.model_path, gender=config.gender)
    else:
        raise ValueError(f"unknown body backend {config.backend!r}; choose 'anny' or 'smpl'")
    return model.to(config.device)
