"""On-disk format of synthetic clips, and its loader.

    DIR/index.json              {"format": FORMAT, "scenes": [{"name", "kind", "frames"}, ...]}
    DIR/<name>/meta.json        kind, seed, fps, width, height, body_model, contact_plan,
                                contact_parts, variation, camera_moving, format
    DIR/<name>/gt.npz           ground-truth arrays (see synth/groundtruth.py; person axis
                                first, camera frame unless named *_world), plus visibility
                                (visible_joints [2,T,24], visible_coco17, visible_blazepose33)
    DIR/<name>/masks.npz        labels uint8 [T, H, W]: 0 background, 1 person 0, 2 person 1
    DIR/<name>/frames/%06d.jpg  RGB frames (absent for clips generated without images)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = "interaction_recon.synth/1"


@dataclass
class Scene:
    """One synthetic clip. ``frames`` [T, H, W, 3] uint8 and ``masks`` [T, H, W] uint8 are in
    memory for a fresh clip; a loaded clip reads them from disk on first use."""

    name: str
    meta: dict
    gt: dict
    frames: np.ndarray | None = None
    masks: np.ndarray | None = None
    root: Path | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def num_frames(self) -> int:
        return int(self.gt["joints"].shape[1])

    def frame(self, t: int) -> np.ndarray:
        """RGB frame t, [H, W, 3] uint8."""
        if self.frames is not None:
            return self.frames[t]
        from PIL import Image

        path = self.root / "frames" / f"{t:06d}.jpg"
        if not path.exists():
            raise FileNotFoundError(f"{path}: this clip was generated without images (synth --no-images)")
        return np.asarray(Image.open(path).convert("RGB"))

    def load_masks(self) -> np.ndarray:
        if self.masks is None:
            with np.load(self.root / "masks.npz") as data:
                self.masks = data["labels"]
        return self.masks


def write_scene(scene: Scene, root: Path, jpeg_quality: int = 92) -> Path:
    """Write one clip under ``root/scene.name``; returns its folder."""
    from PIL import Image

    out = Path(root) / scene.name
    out.mkdir(parents=True, exist_ok=True)
    arrays = {k: v for k, v in scene.gt.items() if isinstance(v, np.ndarray)}
    np.savez_compressed(out / "gt.npz", **arrays)
    meta = {**scene.meta, "format": FORMAT, "contact_parts": scene.gt.get("contact_parts", [])}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    if scene.masks is not None:
        np.savez_compressed(out / "masks.npz", labels=scene.masks)
    if scene.frames is not None:
        (out / "frames").mkdir(exist_ok=True)
        for t, rgb in enumerate(scene.frames):
            Image.fromarray(rgb).save(out / "frames" / f"{t:06d}.jpg", quality=jpeg_quality)
    return out


def write_index(root: Path, scenes: list[Scene]) -> None:
    entries = [{"name": s.name, "kind": s.kind, "frames": s.num_frames} for s in scenes]
    (Path(root) / "index.json").write_text(json.dumps({"format": FORMAT, "scenes": entries}, indent=1))


def load_scene(path: Path) -> Scene:
    """A clip folder written by :func:`write_scene`."""
    path = Path(path)
    meta_file = path / "meta.json"
    if not meta_file.exists():
        raise FileNotFoundError(f"{path} is not a synthetic clip (no meta.json)")
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: format {meta.get('format')!r}, this reader knows {FORMAT!r}")
    with np.load(path / "gt.npz") as data:
        gt = {k: data[k] for k in data.files}
    gt["contact_parts"] = [tuple(row) for row in meta.get("contact_parts", [])]
    return Scene(name=path.name, meta=meta, gt=gt, root=path)


def load_dataset(root: Path) -> list[Scene]:
    """Every clip listed in ``root/index.json``."""
    index = Path(root) / "index.json"
    if not index.exists():
        raise FileNotFoundError(f"{index} not found: write a dataset with `interaction-recon synth --out {root}`")
    return [load_scene(Path(root) / entry["name"]) for entry in json.loads(index.read_text())["scenes"]]
