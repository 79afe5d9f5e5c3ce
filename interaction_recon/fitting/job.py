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
    their visible surface (:mod:`interaction_recon.perception.depth`), NaN where none;
    everyone: per frame (track ids [M], boxes [M, 4] px) of everyone seen (the pair too) over
    the last fitting.horizon_memory s, the window's frames and the ones before, or None.
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
    everyone: list[tuple[np.ndarray, np.ndarray]] | None = None

    def swapped(self) -> WindowJob:
        """The same job with the two people's slots exchanged."""
        flip = lambda a: None if a is None else a[::-1].copy()  # noqa: E731
        return WindowJob(self.frames, self.stamps, flip(self.keypoints), flip(self.confidence), self.layout,
                         flip(self.track_ids), self.K, self.fps, self.contacts, flip(self.world), self.image_size,
                         flip(self.depth), self.everyone)


def shares_frames(job: WindowJob, previous: Reconstruction | None, cold_on_new_person: bool = False) -> bool:
    """Whether ``job`` overlaps ``previous`` (then its fit is warm-started from it); with
    ``cold_on_new_person`` not when the job holds a person ``previous`` did not (:func:`new_person`)."""
    overlaps = previous is not None and bool(np.isin(job.frames, previous.frames).any())
    return overlaps and not (cold_on_new_person and new_person(job, previous))


def new_person(job: WindowJob, previous: Reconstruction) -> bool:
    """Whether a slot of ``job`` holds a tracker id (>= 0) that neither slot of ``previous``
    held: someone the previous fit never sized (whichever slot the tracker put them in)."""
    known = set(int(i) for i in previous.track_ids if i >= 0)
    return any(int(i) >= 0 and int(i) not in known for i in job.track_ids)
