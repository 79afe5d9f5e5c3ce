"""The batch front end: a video file (or a folder of images) -> :class:`PeopleTrack`."""
from __future__ import annotations

from pathlib import Path

import cv2

from interaction_recon.config import PerceptionConfig
from interaction_recon.perception.pipeline import Perception
from interaction_recon.perception.types import PeopleTrack

MASK_SIDE = 160  # longer side of the masks kept in a PeopleTrack
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def read_frames(path, max_frames: int | None = None):
    """(fps, frame count or None, iterator of RGB frames [H,W,3] uint8) for a video file or a
    folder of images (sorted by name, 30 fps)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:max_frames]
        if not files:
            raise ValueError(f"{path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return 30.0, len(files), (cv2.imread(str(p), cv2.IMREAD_COLOR)[:, :, ::-1] for p in files)
    if not path.is_file():
        raise FileNotFoundError(f"video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: OpenCV cannot open this video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    if max_frames is not None:
        count = min(count, max_frames) if count else max_frames

    def frames():
        n = 0
        try:
            while max_frames is None or n < max_frames:
                ok, bgr = cap.read()
                if not ok:
                    break
                n += 1
                yield bgr[:, :, ::-1]
        finally:
            cap.release()

    return float(fps), count, frames()


def run_video(path, config: PerceptionConfig | None = None, progress: bool = True,
              max_frames: int | None = None) -> PeopleTrack:
    """Run :class:`Perception` over every frame of ``path`` (video file or image folder).
    Masks are kept at reduced resolution (longer side MASK_SIDE) in the returned track."""
    perception = Perception(config)
    fps, count, frames = read_frames(path, max_frames)
    if progress:
        from tqdm import tqdm

        frames = tqdm(frames, total=count, desc=f"perception {Path(path).name}", unit="frame")
    results = []
    mask_size = None
    for frame in frames:
        r = perception(frame)
        if r.masks is not None:
            if mask_size is None:
                h, w = r.image_size
                k = MASK_SIDE / max(h, w)
                mask_size = (max(1, round(h * k)), max(1, round(w * k)))
            r.masks = PeopleTrack.from_frames([r], fps, mask_size).masks[:, 0]  # shrink now: bounded memory
        results.append(r)
    if not results:
        raise ValueError(f"{path}: no frames could be read")
    return PeopleTrack.from_frames(results, fps, mask_size)
