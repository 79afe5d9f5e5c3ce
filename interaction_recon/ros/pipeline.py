"""The node's engine without ROS: bounded queues, the perception thread, the per-frame
estimate thread, the window worker, and the counters that /diagnostics reports.

    submit(frame) --intake (maxlen intake_queue)--> perception thread
        perception(rgb) -> PeopleFrame; stream.add(people, stamp, K) -> WindowJob | None
      --estimates (maxlen estimate_queue)--> estimate thread
        estimator.update(people, stamp, K) -> one-frame Reconstruction -> on_estimate (/humans)
      --fit queue (maxlen fit_queue)--> window worker
        stream.fit(job) -> Reconstruction -> on_result (/humans/refined); the estimator is
        re-anchored on it (in the estimate thread, before its next frame)

Nothing queues without bound and nothing is lost silently: every frame that enters
(``frames_in``) is either estimated and published (``frames_published``) or counted under one
of FRAME_DROPS; frames missing from the stamp sequence before the node are estimated from the
stamps and counted as ``transport``; a window the worker cannot get to is counted as
``reconstruction_behind``. ``stream.add`` runs on the perception thread while ``stream.fit``
runs on the worker, so the stream must allow that (a WindowJob is a snapshot of its window).
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Reasons a frame that entered the node is not published (each frame: one reason at most).
FRAME_DROPS = (
    "unsupported_encoding", "zero_size", "bad_step", "truncated", "undecodable",  # the image itself
    "duplicate_stamp", "out_of_order_stamp", "waiting_for_camera_info",
    "perception_behind", "perception_error", "estimate_behind", "estimate_error",
)
# Counted too, but not frames that entered: frames lost before the node (from the stamps),
# camera-info messages, windows and visual extras.
OTHER_DROPS = ("transport", "invalid_camera_info", "reconstruction_behind", "reconstruction_error",
               "depth_encoding", "depth_invalid", "depth_wrong_size")  # depth images: the frame goes on without
DROP_REASONS = FRAME_DROPS + OTHER_DROPS
ERROR_DROPS = ("perception_error", "estimate_error", "reconstruction_error")
TRANSPORT_GAP = 1.5  # a stamp step over this many typical periods means frames were lost on the way
TRANSPORT_PERIODS = 32  # stamp steps whose median is the typical period
TRANSPORT_SPREAD = 0.25  # the middle half of those steps within this share of their median: a regular camera


@dataclass
class Frame:
    rgb: np.ndarray
    stamp: float  # seconds (ordering, timing)
    K: np.ndarray
    received: float  # time.monotonic() when the message arrived
    header: Any = None  # the image's own stamp (builtin_interfaces/Time), handed back unchanged


class Rate:
    """Events per second over the last ``window`` seconds (bounded memory)."""

    def __init__(self, window: float = 5.0, maxlen: int = 4096):
        self.window = window
        self.times: collections.deque = collections.deque(maxlen=maxlen)

    def tick(self, now: float) -> None:
        self.times.append(now)

    def count(self, now: float) -> int:
        return sum(1 for t in self.times if t > now - self.window)

    def per_second(self, now: float) -> float:
        recent = [t for t in self.times if t > now - self.window]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)


class Stats:
    """Thread-safe counters (since start) and sliding-window rates and drops (the last
    ``window`` seconds); ``snapshot()`` is what /diagnostics and the tests read."""

    def __init__(self, window: float = 5.0):
        self.lock = threading.Lock()
        self.window = window
        self.started = time.monotonic()
        self.last_input: float | None = None  # monotonic time of the newest image message
        self.counts = collections.Counter()  # frames_in, frames_accepted, frames_published, windows_* ...
        self.drops = collections.Counter({r: 0 for r in DROP_REASONS})
        self.recent_drops: collections.deque = collections.deque(maxlen=8192)  # (time, reason, n)
        self.rates = {k: Rate(window) for k in ("in", "perceived", "out", "refined")}
        self.latency = collections.deque(maxlen=512)  # s: image arrival -> its /humans estimate handed out
        self.latency_refined = collections.deque(maxlen=256)  # s: newest image of a window -> /humans/refined
        self.fit_seconds = collections.deque(maxlen=256)
        self.estimate_seconds = collections.deque(maxlen=512)
        self.perception_seconds = collections.deque(maxlen=512)
        self.last_detail: dict[str, str] = {}  # reason -> last detail (e.g. the unsupported encoding)
        self.people = collections.deque(maxlen=256)  # people present per perceived frame
        self.info: dict[str, Any] = {}

    def count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    def drop(self, reason: str, detail: str = "", n: int = 1) -> None:
        with self.lock:
            self.drops[reason] += n
            self.recent_drops.append((time.monotonic(), reason, n))
            if detail:
                self.last_detail[reason] = detail[:80]

    def tick(self, rate: str, now: float | None = None) -> None:
        with self.lock:
            now = time.monotonic() if now is None else now
            self.rates[rate].tick(now)
            if rate == "in":
                self.last_input = now

    def add(self, series: str, value: float) -> None:
        with self.lock:
            getattr(self, series).append(float(value))

    def snapshot(self) -> dict:
        now = time.monotonic()
        with self.lock:
            def summary(values):
                v = np.asarray(values, dtype=np.float64)
                if not len(v):
                    return {"last": None, "mean": None, "p50": None, "p95": None, "max": None}
                return {"last": round(float(v[-1]), 4), "mean": round(float(v.mean()), 4),
                        "p50": round(float(np.percentile(v, 50)), 4), "p95": round(float(np.percentile(v, 95)), 4),
                        "max": round(float(v.max()), 4)}
            recent = collections.Counter()
            for t, reason, n in self.recent_drops:
                if t > now - self.window:
                    recent[reason] += n
            return {
                "counts": dict(self.counts),
                "drops": {k: v for k, v in self.drops.items() if v},
                "drops_total": int(sum(self.drops.values())),
                "frame_drops_total": int(sum(self.drops[r] for r in FRAME_DROPS)),
                "recent_drops": dict(recent),
                "window_s": self.window,
                "frames_in_window": self.rates["in"].count(now),
                "published_in_window": self.rates["out"].count(now),
                "since_input_s": round(now - (self.last_input if self.last_input is not None else self.started), 3),
                "fps_in": round(self.rates["in"].per_second(now), 3),
                "fps_perceived": round(self.rates["perceived"].per_second(now), 3),
                "fps_out": round(self.rates["out"].per_second(now), 3),
                "windows_per_s": round(self.rates["refined"].per_second(now), 4),
                "latency_s": summary(self.latency),
                "latency_refined_s": summary(self.latency_refined),
                "fit_s": summary(self.fit_seconds),
                "estimate_s": summary(self.estimate_seconds),
                "perception_s": summary(self.perception_seconds),
                "people_last": int(self.people[-1]) if self.people else None,
                "drop_details": dict(self.last_detail),
                **self.info,
            }


@dataclass
class Thresholds:
    """When /diagnostics turns WARN or ERROR (the node's ``ros.diagnostics_*`` parameters)."""

    no_input: float = 5.0  # s without an image: ERROR
    min_output_ratio: float = 0.5  # published / received frames over the window below this: ERROR
    warn_drop_share: float = 0.02  # frames dropped / received over the window above this: WARN


def diagnostic_level(snap: dict, limits: Thresholds) -> tuple[int, str]:
    """(0 OK | 1 WARN | 2 ERROR, why) from a :meth:`Stats.snapshot` over its sliding window."""
    if snap["since_input_s"] > limits.no_input:
        return 2, f"no image for {snap['since_input_s']:.1f} s"
    recent = snap["recent_drops"]
    errors = sum(recent.get(r, 0) for r in ERROR_DROPS)
    received = snap["frames_in_window"]
    if errors:
        return 2, f"{errors} errors in the last {snap['window_s']:g} s"
    if received >= 3 and snap["published_in_window"] < limits.min_output_ratio * received:
        return 2, f"published {snap['published_in_window']} of {received} frames in the last {snap['window_s']:g} s"
    dropped = sum(recent.get(r, 0) for r in FRAME_DROPS) + recent.get("transport", 0)
    if received and dropped > limits.warn_drop_share * (received + recent.get("transport", 0)):
        return 1, f"{dropped} frames dropped in the last {snap['window_s']:g} s: {dict(recent)}"
    if str(snap.get("intrinsics", "")).startswith("default"):
        return 1, "no CameraInfo: default intrinsics"
    return 0, "ok"


class Pipeline:
    """Perception thread + estimate thread + window worker around injected ``perception``,
    ``stream`` and (optional) ``estimator``."""

    def __init__(self, perception: Callable, stream, on_result: Callable[[Any, dict], None],
                 intake_queue: int = 8, fit_queue: int = 1, stats: Stats | None = None, estimator=None,
                 on_estimate: Callable[[Any, dict], None] | None = None, estimate_queue: int = 2,
                 depth: Callable[[Frame, Any], None] | None = None):
        """depth(frame, people): gives a perceived frame its people's depth (the node's depth topic)."""
        self.perception = perception
        self.depth = depth
        self.stream = stream
        self.on_result = on_result
        self.estimator, self.on_estimate = estimator, on_estimate
        self.stats = stats or Stats()
        self.intake: collections.deque = collections.deque()
        self.estimates: collections.deque = collections.deque()
        self.jobs: collections.deque = collections.deque()
        self.intake_size = max(1, int(intake_queue))
        self.estimate_size = max(1, int(estimate_queue))
        self.fit_size = max(1, int(fit_queue))
        self.cond = threading.Condition()
        self.running = False
        self.busy = {"perception": False, "estimate": False, "fit": False}
        self.last_stamp: float | None = None
        self.steps: collections.deque = collections.deque(maxlen=TRANSPORT_PERIODS)  # recent stamp steps (s)
        self.received: collections.OrderedDict = collections.OrderedDict()  # stamp -> (arrival, header), bounded
        self.max_received = 4096
        self.anchor = None  # the newest refined window, for the estimator (taken by the estimate thread)
        self.threads: list[threading.Thread] = []
        self._error_logged: set[str] = set()

    # -- control -------------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        self.running = True
        loops = [("ir-perception", self._perception_loop), ("ir-reconstruction", self._fit_loop)]
        if self.estimator is not None:
            loops.append(("ir-estimate", self._estimate_loop))
        self.threads = [threading.Thread(target=f, name=n, daemon=True) for n, f in loops]
        for t in self.threads:
            t.start()

    def stop(self, timeout: float = 1.5) -> None:
        """Stop every thread within about ``timeout`` s: a window fit in progress is abandoned
        (``stream.cancel()``, when the stream has it); results that finish later are dropped."""
        with self.cond:
            self.running = False
            self.cond.notify_all()
        cancel = getattr(self.stream, "cancel", None)
        if cancel is not None:
            cancel()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.threads = []

    def idle(self) -> bool:
        with self.cond:
            return not self.intake and not self.estimates and not self.jobs and not any(self.busy.values())

    def queue_sizes(self) -> dict:
        with self.cond:
            return {"intake": len(self.intake), "estimate": len(self.estimates), "fit": len(self.jobs)}

    # -- input ---------------------------------------------------------------------------
    def _camera_period(self) -> float | None:
        """The typical stamp step (s) when the stamps are regular (a camera's clock: the middle
        half of the recent steps within TRANSPORT_SPREAD of their median), else None: stamps
        taken when a busy publisher got round to it say nothing about frames lost."""
        if len(self.steps) < 4:
            return None
        lo, period, hi = np.percentile(self.steps, [25, 50, 75])
        regular = period > 0 and lo >= (1 - TRANSPORT_SPREAD) * period and hi <= (1 + TRANSPORT_SPREAD) * period
        return float(period) if regular else None

    def submit(self, frame: Frame) -> str | None:
        """Queue a decoded frame; returns the drop reason, or None when accepted. Stamps must
        increase: duplicates and older stamps are dropped (the window needs time order). A
        step in the stamps over TRANSPORT_GAP typical periods counts the frames it skipped
        as ``transport`` drops (when the stamps are regular enough to tell, :meth:`_camera_period`)."""
        lost = 0
        with self.cond:
            if self.last_stamp is not None and frame.stamp <= self.last_stamp:
                reason = "duplicate_stamp" if frame.stamp == self.last_stamp else "out_of_order_stamp"
            else:
                reason = None
                if self.last_stamp is not None:
                    step = frame.stamp - self.last_stamp
                    period = self._camera_period()
                    if period and step > TRANSPORT_GAP * period:
                        lost = int(round(step / period)) - 1
                    if not lost:
                        self.steps.append(step)
                self.last_stamp = frame.stamp
                if len(self.intake) >= self.intake_size:
                    self.intake.popleft()
                    self.stats.drop("perception_behind")
                self.intake.append(frame)
                self.received[frame.stamp] = (frame.received, frame.header)
                while len(self.received) > self.max_received:
                    self.received.popitem(last=False)
                self.cond.notify_all()
        if lost:
            self.stats.drop("transport", n=lost)
        if reason:
            self.stats.drop(reason)
        else:
            self.stats.count("frames_accepted")
        return reason

    def header(self, stamp: float):
        """The image stamp object that came with ``stamp`` (None if forgotten)."""
        with self.cond:
            entry = self.received.get(float(stamp))
        return None if entry is None else entry[1]

    # -- threads -------------------------------------------------------------------------
    def _failed(self, where: str, err: Exception) -> None:
        """Count ``err`` as a ``<where>_error`` drop and log its first occurrence per kind (a
        broken frame stream must not flood the log); nothing while stopping."""
        if not self.running:
            return
        self.stats.drop(f"{where}_error", type(err).__name__)
        key = f"{where}:{type(err).__name__}"
        if key not in self._error_logged:
            self._error_logged.add(key)
            log.exception("%s failed (counted as a drop; further %s errors are only counted)", where, type(err).__name__)

    def _next(self, queue: collections.deque, busy: str, take: Callable | None = None):
        """The next item of ``queue`` (the oldest, or ``take()`` under the lock) once there is
        one, or None when stopping."""
        with self.cond:
            while self.running and not queue:
                self.cond.wait(0.5)
            if not self.running:
                return None
            self.busy[busy] = True
            return take() if take is not None else queue.popleft()

    def _done(self, busy: str) -> None:
        with self.cond:
            self.busy[busy] = False

    def _perception_loop(self) -> None:
        while (frame := self._next(self.intake, "perception")) is not None:
            people = job = None
            try:
                t0 = time.perf_counter()
                people = self.perception(frame.rgb)
                if self.depth is not None:
                    self.depth(frame, people)
                self.stats.add("perception_seconds", time.perf_counter() - t0)
                present = getattr(people, "present", None)
                if present is not None:
                    self.stats.add("people", int(np.asarray(present).sum()))
                self.stats.count("frames_perceived")
                self.stats.tick("perceived")
                job = self.stream.add(people, frame.stamp, frame.K, image=frame.rgb)
            except Exception as err:  # noqa: BLE001 - a bad frame must not stop the node
                self._failed("perception", err)
                people = None
            with self.cond:
                if people is not None and self.estimator is not None:
                    if len(self.estimates) >= self.estimate_size:
                        self.estimates.popleft()
                        self.stats.drop("estimate_behind")
                    self.estimates.append((frame, people))
                if job is not None:
                    if len(self.jobs) >= self.fit_size:
                        self._skip_oldest()
                    self.jobs.append((job, frame.stamp))
                    self.stats.count("windows_queued")
                self.busy["perception"] = False
                self.cond.notify_all()

    def _estimate_loop(self) -> None:
        while (item := self._next(self.estimates, "estimate")) is not None:
            frame, people = item
            try:
                with self.cond:
                    anchor, self.anchor = self.anchor, None
                if anchor is not None:
                    self.estimator.anchor(anchor)
                t0 = time.perf_counter()
                estimate = self.estimator.update(people, frame.stamp, frame.K)
                self.stats.add("estimate_seconds", time.perf_counter() - t0)
                if self.running:
                    self.on_estimate(estimate, {"header": frame.header, "arrived": frame.received, "people": people})
                    self.stats.add("latency", time.monotonic() - frame.received)
                    self.stats.count("frames_published")
                    self.stats.tick("out")
            except Exception as err:  # noqa: BLE001
                self._failed("estimate", err)
            finally:
                self._done("estimate")

    def _take_job(self) -> tuple:
        """The next pending window (call under the lock). With a stream that can tell
        (``stream.warm_for(job)``), the newest one whose fit would be warm-started, else the
        newest: a cold fit can take longer than a window spans, and fitting the window right
        after it would then start cold again, and again. The windows older than the one taken
        are skipped (its frames include theirs as long as it is warm). Otherwise the oldest."""
        warm_for = getattr(self.stream, "warm_for", None)
        if warm_for is not None:
            take = next((i for i in reversed(range(len(self.jobs))) if warm_for(self.jobs[i][0])), len(self.jobs) - 1)
            for _ in range(take):
                self._skip_oldest()
        return self.jobs.popleft()

    def _skip_oldest(self) -> None:
        """Drop the oldest pending window, counted (call under the lock)."""
        self.jobs.popleft()
        self.stats.drop("reconstruction_behind")
        self.stats.count("windows_skipped")

    def _fit_loop(self) -> None:
        while (item := self._next(self.jobs, "fit", self._take_job)) is not None:
            job, newest = item
            try:
                t0 = time.perf_counter()
                result = self.stream.fit(job)
                fit_s = time.perf_counter() - t0
                if not self.running:
                    return
                self.stats.add("fit_seconds", fit_s)
                with self.cond:
                    arrived, _ = self.received.get(newest, (None, None))
                    if self.estimator is not None:
                        self.anchor = result
                self.on_result(result, {"fit_s": fit_s, "newest_stamp": newest, "arrived": arrived})
                if arrived is not None:
                    self.stats.add("latency_refined", time.monotonic() - arrived)
                self.stats.count("windows_published")
                self.stats.tick("refined")
            except Exception as err:  # noqa: BLE001
                self._failed("reconstruction", err)
            finally:
                self._done("fit")
