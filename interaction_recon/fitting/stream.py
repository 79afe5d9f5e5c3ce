"""Sliding windows over a stream of per-frame observations, warm-started window to window.

Live (the ROS node): ``job = stream.add(people, stamp, K)`` per frame (cheap), and
``stream.fit(job)`` on a worker when a job comes out (every ``stride`` frames once a
window is full). Offline: :func:`reconstruct_track` runs the same stream over a whole
video's observations and stitches the windows (each frame from the latest window that
holds it).
"""
from __future__ import annotations

from collections import deque
from types import SimpleNamespace

import numpy as np

from interaction_recon.body import create
from interaction_recon.body.model import BodyModel
from interaction_recon.config import Config
from interaction_recon.fitting.camera import check_intrinsics
from interaction_recon.fitting.result import Reconstruction
from interaction_recon.fitting.job import WindowJob, shares_frames
from interaction_recon.fitting.window import WindowFitter

MIN_FRAMES = 8  # shortest clip worth fitting


class WindowStream:
    """Buffers the last ``window`` frames of 2D observations; hands out warm-started jobs."""

    def __init__(self, config: Config | None = None, body: BodyModel | None = None, layout: str = "blazepose33",
                 fitter=None):
        """fitter: anything with ``fit(job, previous)`` (and ``cancel()``), e.g. a
        :class:`~interaction_recon.fitting.remote.ProcessFitter`; default a WindowFitter here."""
        self.config = config or Config()
        self.body = body or create(self.config.body)
        self.fitter = fitter or WindowFitter(self.body, self.config.fitting)
        self.layout = layout
        self.previous: Reconstruction | None = None
        self._buffer: deque = deque(maxlen=self.config.fitting.window)
        self._everyone: deque = deque()  # (stamp s, (ids [M], boxes [M, 4])) over fitting.horizon_memory s
        self._preloaded = False  # offline: the whole video's everyone given ahead (preload_everyone)
        self.reset()
        self._image_size: tuple[int, int] | None = None  # (H, W) of the newest image, when perception says
        lang = self.config.fitting.contact.language
        self.language = None  # the vision-language contact source, when configured
        self.wait_for_language = False  # offline: a window waits (up to the timeout) for its key frames' answers
        if lang.url:
            from interaction_recon.contact.language import LanguageSource

            every = max(1, self.config.fitting.stride // max(1, lang.frames_per_window))
            self.language = LanguageSource(lang, every, self.config.fitting.min_confidence)

    def reset(self) -> None:
        """Forget the buffer and the warm start (e.g. after a long gap in the stream)."""
        self._buffer.clear()
        self.previous, self._since_job, self._jobs = None, 0, 0
        self._known = np.full(2, -1)  # each slot's track id in these windows (-1: nobody yet)
        self._changed = 0  # frames in a row in which a slot has held someone else

    def add(self, people, stamp: float, K: np.ndarray, frame: int | None = None,
            image: np.ndarray | None = None) -> WindowJob | None:
        """Buffer one frame's observations; a :class:`WindowJob` when one is due.

        people: anything with ``keypoints [2, K, 2]``, ``confidence [2, K]``, ``track_ids [2]``
        and optionally ``world [2, 33, 3]``, ``depth [2]`` (m, each person's distance from a
        depth sensor, NaN where none) and ``everyone`` ((track ids [M], boxes [M, 4] px) of
        everyone seen, kept over fitting.horizon_memory s; a perception ``PeopleFrame``); frame: absolute index
        (default ``people.index``); image [H, W, 3] RGB: offered to the language source, if any.
        """
        kp = np.asarray(people.keypoints, dtype=np.float32)
        conf = np.asarray(people.confidence, dtype=np.float32)
        if kp.ndim != 3 or kp.shape[0] != 2 or conf.shape != kp.shape[:2]:
            raise ValueError(f"expected keypoints [2, K, 2] and confidence [2, K], got {kp.shape} and {conf.shape}")
        frame = int(people.index if frame is None else frame)
        ids = np.asarray(people.track_ids)
        world = getattr(people, "world", None)
        world = None if world is None else np.asarray(world, dtype=np.float32)
        depth = getattr(people, "depth", None)
        depth = None if depth is None else np.asarray(depth, dtype=np.float32).reshape(2)
        if not self._preloaded:
            self._remember(float(stamp), getattr(people, "everyone", None))
        self._buffer.append((frame, float(stamp), kp, conf, ids, check_intrinsics(K), world, depth))
        self._image_size = getattr(people, "image_size", None)
        if self.language is not None and image is not None:
            self.language.offer(frame, image, kp, conf)
        self._since_job += 1
        self._changed = self._changed + 1 if _new_person(self._known, ids) else 0
        self._known = np.where(self._known < 0, ids, self._known)
        if self._changed >= MIN_FRAMES:
            return self._split()
        cfg = self.config.fitting
        if not self._changed and len(self._buffer) == cfg.window and (self._jobs == 0 or self._since_job >= cfg.stride):
            return self._job()
        return None

    def _remember(self, stamp: float, everyone) -> None:
        """Keep this frame's everyone (ids, boxes), if given, and forget those older than
        fitting.horizon_memory s (the camera may have moved since) or stamped after this frame."""
        memory = self.config.fitting.horizon_memory
        while self._everyone and not 0.0 <= stamp - self._everyone[0][0] <= memory:
            self._everyone.popleft()
        while self._everyone and self._everyone[-1][0] > stamp:
            self._everyone.pop()
        if everyone is not None and memory > 0:
            self._everyone.append((stamp, everyone))

    def preload_everyone(self, stamps: np.ndarray, everyone: list) -> None:
        """Offline: everyone seen in the whole video, per frame (ids [M], boxes [M, 4] px) at
        ``stamps`` [T] s, so each window's camera estimate (fitting/window.py ``camera``) also
        sees the frames after it (within fitting.horizon_memory s), not only those before."""
        self._everyone = deque(zip(np.asarray(stamps, float).tolist(), everyone))
        self._preloaded = True

    def _nearby_everyone(self, stamp: float) -> list | None:
        """Everyone remembered within fitting.horizon_memory s of ``stamp`` (None: nobody)."""
        memory = self.config.fitting.horizon_memory
        near = [seen for s, seen in self._everyone if abs(s - stamp) <= memory] if memory > 0 else []
        return near or None

    def _split(self) -> WindowJob | None:
        """A slot has held another person for the last MIN_FRAMES frames (a pair change, not a one-frame
        glitch): the windows so far end before them (the frames none covered fitted now), and the new
        people's frames start windows of their own, cold, so no window fits two people as one body. With
        fewer than MIN_FRAMES frames before them, the two stay in one sequence."""
        new = [self._buffer.pop() for _ in range(MIN_FRAMES)][::-1]
        if len(self._buffer) < MIN_FRAMES:
            self._buffer.extend(new)
            self._known, self._changed = np.asarray(new[-1][4]), 0
            return None
        self._since_job = max(0, self._since_job - MIN_FRAMES)
        job = self.flush()
        self.reset()
        self._buffer.extend(new)
        self._since_job, self._known = MIN_FRAMES, np.asarray(new[-1][4])
        return job

    def flush(self) -> WindowJob | None:
        """The job covering buffered frames no job has covered yet (end of a video), if any."""
        if self._since_job == 0 or len(self._buffer) < MIN_FRAMES:
            return None
        return self._job()

    def _job(self) -> WindowJob:
        frames, stamps, kp, conf, ids, Ks, worlds, depths = zip(*self._buffer)
        self._since_job, self._jobs = 0, self._jobs + 1
        track_ids = np.stack(ids)  # [T, 2]: per slot the latest id the tracker gave
        latest = np.array([next((i for i in track_ids[::-1, p] if i >= 0), -1) for p in range(2)])
        frames = np.array(frames, dtype=np.int64)
        told = [] if self.language is None else self.language.answers(frames, wait=self.wait_for_language)
        return WindowJob(frames, np.array(stamps), np.stack(kp, 1), np.stack(conf, 1),
                         self.layout, latest, Ks[-1], fps=self._fps(stamps), contacts=told,
                         world=_stack_optional(worlds, (2, 33, 3)), image_size=self._image_size,
                         depth=_stack_optional(depths, (2,)),
                         everyone=self._nearby_everyone(stamps[-1]))

    @staticmethod
    def _fps(stamps) -> float:
        dt = np.diff(stamps)
        dt = dt[dt > 0]
        return float(1.0 / np.median(dt)) if len(dt) else 30.0

    def warm_for(self, job: WindowJob) -> bool:
        """Whether fitting ``job`` now would be warm-started from the previous fit."""
        return shares_frames(job, self.previous, self.config.fitting.cold_on_new_person)

    def cancel(self) -> None:
        """Abandon the fit in progress (shutdown)."""
        self.fitter.cancel()

    def fit(self, job: WindowJob) -> Reconstruction:
        """Optimise ``job``, warm-started from the previous fit; the whole window's result."""
        result = self.fitter.fit(job, self.previous)
        self.previous = result
        return result


def _new_person(before: np.ndarray, now: np.ndarray) -> bool:
    """Whether a slot's track id [2] changed from one person to another (-1: nobody)."""
    return bool(((before >= 0) & (now >= 0) & (before != now)).any())


def _stack_optional(items, shape: tuple) -> np.ndarray | None:
    """Per-frame arrays ``shape`` = [2, ...] (None for a frame without) stacked along time
    into [2, L, ...], NaN for the frames without; None when no frame has one."""
    if all(x is None for x in items):
        return None
    return np.stack([np.full(shape, np.nan, np.float32) if x is None else x for x in items], 1)


def stitch(results: list[Reconstruction]) -> Reconstruction:
    """One reconstruction over all frames: each frame from the latest window holding it (its
    tracker ids too: ``frame_ids``; ``shape`` and ``track_ids`` are the latest window's)."""
    frames = np.unique(np.concatenate([r.frames for r in results]))
    last = results[-1]
    out = {k: np.full((2, len(frames)) + getattr(last, k).shape[2:], np.nan, np.float32)
           for k in ("global_orient", "body_pose", "transl", "joints")}
    confidence = np.zeros((2, len(frames)), np.float32)
    joint_confidence = np.zeros((2, len(frames), 24), np.float32)
    position_error = np.full((2, len(frames)), np.nan, np.float32)
    ids = np.full((2, len(frames)), -1, np.int64)
    stamps, evidence = np.zeros(len(frames)), np.zeros(len(frames), bool)
    owner = {}
    for i, r in enumerate(results):
        pos = np.searchsorted(frames, r.frames)
        for k, values in out.items():
            values[:, pos] = getattr(r, k)
        confidence[:, pos], stamps[pos], evidence[pos] = r.confidence, r.stamps, r.contact_evidence
        joint_confidence[:, pos] = r.joint_confidence
        position_error[:, pos] = r.position_error
        ids[:, pos] = r.frame_ids
        owner.update({int(f): i for f in r.frames})
    contacts = [c for i, r in enumerate(results) for c in r.contacts if owner[c.frame] == i]
    return Reconstruction(frames=frames, stamps=stamps, shape=last.shape, confidence=confidence,
                          track_ids=last.track_ids, K=last.K, fps=last.fps, body_model=last.body_model,
                          contacts=contacts, contact_evidence=evidence, joint_confidence=joint_confidence,
                          floor=last.floor, position_error=position_error, frame_ids=ids, **out)


def published(results: list[Reconstruction], stride: int) -> tuple[np.ndarray, list[int]]:
    """What a live consumer received: the first window whole, then each window's newest
    ``stride`` frames. Returns joints [2, T, 24, 3] and the positions where a window's
    output begins (the seams)."""
    parts, seams, end = [results[0].joints], [], results[0].frames[-1]
    for r in results[1:]:
        new = r.frames > end
        seams.append(sum(p.shape[1] for p in parts))
        parts.append(r.joints[:, new])
        end = r.frames[-1]
    return np.concatenate(parts, 1), seams


def stitched_seams(results: list[Reconstruction], refit_frames: int) -> list[int]:
    """Positions in :func:`stitch`'s output where a warm window's optimised frames begin (its
    older frames are frozen copies of the previous window, so only these can jump)."""
    start = int(results[0].frames[0])
    return [int(r.frames[0]) - start + max(0, r.num_frames - refit_frames) for r in results[1:]]


def seam_jump(joints: np.ndarray, seams: list[int], around: int = 3) -> float:
    """Mean extra joint displacement (mm) across window seams: |v| at the seam minus the mean
    |v| of the ``around`` frames on each side (0 = as smooth as elsewhere). joints [2, T, 24, 3]."""
    speed = 1000 * np.linalg.norm(np.diff(joints, axis=1), axis=-1).mean((0, 2))  # [T-1] mm/frame
    jumps = []
    for s in seams:
        if s < 1 + around or s + around >= len(speed):
            continue
        ref = np.r_[speed[s - 1 - around:s - 1], speed[s:s + around]]
        jumps.append(speed[s - 1] - np.nanmean(ref))
    return float(np.nanmean(jumps)) if jumps else float("nan")


def reconstruct_track(keypoints: np.ndarray, confidence: np.ndarray, K: np.ndarray, config: Config | None = None,
                      stamps: np.ndarray | None = None, track_ids: np.ndarray | None = None,
                      layout: str = "blazepose33", stream: WindowStream | None = None,
                      progress=None, world: np.ndarray | None = None,
                      images=None, depth: np.ndarray | None = None,
                      everyone: list | None = None) -> tuple[Reconstruction, list[Reconstruction]]:
    """Offline reconstruction of a whole sequence; returns (stitched result, per-window results).

    keypoints [2, T, K, 2] px, confidence [2, T, K], K [3, 3]; track_ids [2] or [2, T] (each slot's
    id per frame: where one changes, the windows start anew); world [2, T, 33, 3] m or None
    (the keypoint model's 3D landmarks); depth [2, T] m or None: each person's distance from a
    depth sensor (NaN where none); everyone: per frame (track ids [M], boxes [M, 4] px) of
    everyone seen (``PeopleTrack.everyone()``) or None; progress: called with the number of frames each
    window added; images: frame index -> RGB [H, W, 3], for the language source (if configured).
    """
    config = config or Config()
    stream = stream or WindowStream(config, layout=layout)
    stream.wait_for_language = True
    T = keypoints.shape[1]
    if T < MIN_FRAMES:
        raise ValueError(f"need at least {MIN_FRAMES} frames to reconstruct, got {T}")
    stamps = np.arange(T) / 30.0 if stamps is None else stamps
    ids = np.array([0, 1]) if track_ids is None else np.asarray(track_ids)
    ids = np.repeat(ids.reshape(2, 1), T, 1) if ids.ndim == 1 else ids  # [2, T]

    if everyone is not None:
        stream.preload_everyone(stamps, everyone)
    results: list[Reconstruction] = []

    def fit(job):
        results.append(stream.fit(job))
        if progress:
            progress(int(job.frames[-1]) + 1 - (int(results[-2].frames[-1]) + 1 if len(results) > 1 else 0))

    for t in range(T):
        job = stream.add(SimpleNamespace(index=t, keypoints=keypoints[:, t], confidence=confidence[:, t],
                                         track_ids=ids[:, t], world=None if world is None else world[:, t],
                                         depth=None if depth is None else depth[:, t]),
                         stamps[t], K, image=images(t) if images is not None and stream.language is not None else None)
        if job is not None:
            fit(job)
    job = stream.flush()
    if job is not None:
        fit(job)
    return stitch(results), results
