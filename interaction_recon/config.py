"""Typed configuration, loaded from YAML; every tunable lives here, not in module constants."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass
class BodyConfig:
    """Body model. backend: "anny" (embedded default) or "smpl" (user's SMPL files)."""

    backend: str = "anny"
    model_path: str | None = None  # smpl: SMPL_NEUTRAL.pkl or the folder holding it
    gender: str = "neutral"  # smpl only
    collision_spacing: float = 0.02  # metres between candidate collision-sphere centres
    device: str = "cpu"


@dataclass
class Config:
    body: BodyConfig = field(default_factory=BodyConfig)


def _build(cls, data: dict, where: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    defaults = cls()
    kwargs = {}
    for name, value in data.items():
        default = getattr(defaults, name)
        kwargs[name] = _build(type(default), value or {}, f"{where}.{name}") if dataclasses.is_dataclass(default) else value
    return cls(**kwargs)


def load_config(path: str | Path | None = None) -> Config:
    """Defaults, overridden by a YAML file whose layout mirrors :class:`Config`."""
    if path is None:
        return Config()
    data = yaml.safe_load(Path(path).read_text()) or {}
    return _build(Config, data, str(path))
