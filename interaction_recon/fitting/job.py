"""What one window's fit is given (:class:`WindowJob`), and whether it follows the last one."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from interaction_recon.fitting.result import Reconstruction


@dataclass
class WindowJob:
    """The observations of one window.

    frames [L] int64 absolute indices; stamps [L] float64 s; keypoints [2, L, K, 2] px (NaN
    allowed); confidence [2, L, K] (0 = missing); layout: "blazepose33" | "coco17" | "smpl24";
    track_ids [2]; K [3, 3]; external contacts: (absolute frame, part_a, part_b, confidence);
    world [2, L, 33, 3] m or None: the keypoint model's 3D landmarks (``PeopleFrame.world``);
    image_size (H, W) px or None: keypoints outside it count as unseen in the joint confidence;
    depth [2, L] m or None: each person's distance from an aligned depth sensor, the median of
    their visible surface (:mod:`interaction_recon.perception.depth`), NaN where none.
    """

    frames: np.ndarray
    stamps: np.ndarray
    keypoints: np.ndarray
    confidence: np.ndarray
    layout: str
    track_ids: np.ndarray
    K: np.ndarray
    fps: float = 30.0
    contacts: list[tuple[int, str, str, float]] = field(default_factory=list)
    world: np.ndarray | None = None
    image_size: tuple[int, int] | None = None
    depth: np.ndarray | None = None

    def swapped(self) -> WindowJob:
        """The same job with the two people's slots exchanged."""
        flip = lambda a: None if a is None else a[::-1].copy()  # noqa: E731
        return WindowJob(self.frames, self.stamps, flip(self.keypoints), flip(self.confidence), self.layout,
                         flip(self.track_ids), self.K, self.fps, self.contacts, flip(self.world), self.image_size,
                         flip(self.depth))


def shares_frames(job: WindowJob, previous: Reconstruction | None) -> bool:
    """Whether ``job`` overlaps ``previous`` (then its fit is warm-started from it)."""
    return previous is not None and bool(np.isin(job.frames, previous.frames).any())
