"""The node's engine without ROS: bounded queues, the perception thread, the reconstruction
worker, and the counters that /diagnostics reports.

    submit(frame) --intake (deque, maxlen intake_queue)--> perception thread
        perception(rgb) -> PeopleFrame; stream.add(people, stamp, K) -> WindowJob | None
    --fit queue (deque, maxlen fit_queue)--> reconstruction worker
        stream.fit(job) -> Reconstruction -> on_result(result, info)

Nothing queues without bound: a full intake drops its oldest frame ("perception_behind"), a
full fit queue skips its oldest window ("reconstruction_behind"), and the worker takes the
newest pending window it can warm-start, skipping older ones (same reason); every drop is
counted by reason. ``stream.add`` runs on the perception thread while ``stream.fit`` runs on the worker,
so the stream must allow that (a WindowJob is a snapshot of its window).
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

DROP_REASONS = (
    "unsupported_encoding", "zero_size", "bad_step", "truncated", "undecodable",  # the image itself
    "duplicate_stamp", "out_of_order_stamp", "waiting_for_camera_info", "invalid_camera_info",
    "perception_behind", "reconstruction_behind", "perception_error", "reconstruction_error",
)


@dataclass
class Frame:
    rgb: np.ndarray
    stamp: float  # seconds
    K: np.ndarray
    received: float  # time.monotonic() when the message arrived


class Rate:
    """Events per second over the last ``window`` seconds (bounded memory)."""

    def __init__(self, window: float = 5.0, maxlen: int = 2048):
        self.window = window
        self.times: collections.deque = collections.deque(maxlen=maxlen)

    def tick(self, now: float) -> None:
        self.times.append(now)

    def per_second(self, now: float) -> float:
        recent = [t for t in self.times if t > now - self.window]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)


class Stats:
    """Thread-safe counters; ``snapshot()`` is what /diagnostics and the tests read."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()  # frames_in, frames_accepted, frames_perceived, windows_* ...
        self.drops = collections.Counter({r: 0 for r in DROP_REASONS})
        self.rates = {k: Rate() for k in ("in", "perceived", "out")}
        self.latency = collections.deque(maxlen=256)  # seconds: image arrival -> /humans publication
        self.fit_seconds = collections.deque(maxlen=256)
        self.perception_seconds = collections.deque(maxlen=256)
        self.last_detail: dict[str, str] = {}  # reason -> last detail (e.g. the unsupported encoding)
        self.people = collections.deque(maxlen=256)  # people present per perceived frame
        self.info: dict[str, Any] = {}

    def count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    def drop(self, reason: str, detail: str = "") -> None:
        with self.lock:
            self.drops[reason] += 1
            if detail:
                self.last_detail[reason] = detail[:80]

    def tick(self, rate: str, now: float | None = None) -> None:
        with self.lock:
            self.rates[rate].tick(time.monotonic() if now is None else now)

    def add(self, series: str, value: float) -> None:
        with self.lock:
            getattr(self, series).append(float(value))

    def snapshot(self) -> dict:
        now = time.monotonic()
        with self.lock:
            def summary(values):
                v = np.asarray(values, dtype=np.float64)
                if not len(v):
                    return {"last": None, "mean": None, "max": None}
                return {"last": round(float(v[-1]), 4), "mean": round(float(v.mean()), 4), "max": round(float(v.max()), 4)}
            return {
                "counts": dict(self.counts),
                "drops": {k: v for k, v in self.drops.items() if v},
                "drops_total": int(sum(self.drops.values())),
                "fps_in": round(self.rates["in"].per_second(now), 3),
                "fps_perceived": round(self.rates["perceived"].per_second(now), 3),
                "windows_per_s": round(self.rates["out"].per_second(now), 4),
                "latency_s": summary(self.latency),
                "fit_s": summary(self.fit_seconds),
                "perception_s": summary(self.perception_seconds),
                "people_last": int(self.people[-1]) if self.people else None,
                "drop_details": dict(self.last_detail),
                **self.info,
            }


class Pipeline:
    """Perception thread + reconstruction worker around injected ``perception`` and ``stream``."""

    def __init__(self, perception: Callable, stream, on_result: Callable[[Any, dict], None],
                 intake_queue: int = 8, fit_queue: int = 1, stats: Stats | None = None):
        self.perception = perception
        self.stream = stream
        self.on_result = on_result
        self.stats = stats or Stats()
        self.intake: collections.deque = collections.deque()
        self.jobs: collections.deque = collections.deque()
        self.intake_size = max(1, int(intake_queue))
        self.fit_size = max(1, int(fit_queue))
        self.cond = threading.Condition()
        self.running = False
        self.busy = {"perception": False, "fit": False}
        self.last_stamp: float | None = None
        self.received: collections.OrderedDict = collections.OrderedDict()  # stamp -> arrival, bounded
        self.max_received = 4096
        self.threads: list[threading.Thread] = []
        self._error_logged: set[str] = set()

    # -- control -------------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        self.running = True
        self.threads = [threading.Thread(target=self._perception_loop, name="ir-perception", daemon=True),
                        threading.Thread(target=self._fit_loop, name="ir-reconstruction", daemon=True)]
        for t in self.threads:
            t.start()

    def stop(self, timeout: float = 30.0) -> None:
        with self.cond:
            self.running = False
            self.cond.notify_all()
        for t in self.threads:
            t.join(timeout)
        self.threads = []

    def idle(self) -> bool:
        with self.cond:
            return not self.intake and not self.jobs and not any(self.busy.values())

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.05)
        return self.idle()

    def queue_sizes(self) -> dict:
        with self.cond:
            return {"intake": len(self.intake), "fit": len(self.jobs)}

    # -- input ---------------------------------------------------------------------------
    def submit(self, frame: Frame) -> str | None:
        """Queue a decoded frame; returns the drop reason, or None when accepted. Stamps must
        increase: duplicates and older stamps are dropped (the window needs time order)."""
        with self.cond:
            if self.last_stamp is not None and frame.stamp <= self.last_stamp:
                reason = "duplicate_stamp" if frame.stamp == self.last_stamp else "out_of_order_stamp"
            else:
                reason = None
                self.last_stamp = frame.stamp
                if len(self.intake) >= self.intake_size:
                    self.intake.popleft()
                    self.stats.drop("perception_behind")
                self.intake.append(frame)
                self.received[frame.stamp] = frame.received
                while len(self.received) > self.max_received:
                    self.received.popitem(last=False)
                self.cond.notify_all()
        if reason:
            self.stats.drop(reason)
        else:
            self.stats.count("frames_accepted")
        return reason

    # -- threads -------------------------------------------------------------------------
    def _log_error(self, where: str, err: Exception) -> None:
        key = f"{where}:{type(err).__name__}"
        if key not in self._error_logged:  # once per kind: a broken frame stream must not flood the log
            self._error_logged.add(key)
            log.exception("%s failed (counted as a drop; further %s errors are only counted)", where, type(err).__name__)

    def _perception_loop(self) -> None:
        while True:
            with self.cond:
                while self.running and not self.intake:
                    self.cond.wait(0.5)
                if not self.running:
                    return
                frame = self.intake.popleft()
                self.busy["perception"] = True
            try:
                t0 = time.perf_counter()
                people = self.perception(frame.rgb)
                self.stats.add("perception_seconds", time.perf_counter() - t0)
                present = getattr(people, "present", None)
                if present is not None:
                    self.stats.add("people", int(np.asarray(present).sum()))
                self.stats.count("frames_perceived")
                self.stats.tick("perceived")
                job = self.stream.add(people, frame.stamp, frame.K, image=frame.rgb)
            except Exception as err:  # noqa: BLE001 - a bad frame must not stop the node
                self.stats.drop("perception_error", type(err).__name__)
                self._log_error("perception", err)
                job = None
            with self.cond:
                if job is not None:
                    if len(self.jobs) >= self.fit_size:
                        self._skip_oldest()
                    self.jobs.append((job, frame.stamp))
                    self.stats.count("windows_queued")
                    self.cond.notify_all()
                self.busy["perception"] = False

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
        while True:
            with self.cond:
                while self.running and not self.jobs:
                    self.cond.wait(0.5)
                if not self.running:
                    return
                job, newest = self._take_job()
                self.busy["fit"] = True
            try:
                t0 = time.perf_counter()
                result = self.stream.fit(job)
                fit_s = time.perf_counter() - t0
                self.stats.add("fit_seconds", fit_s)
                with self.cond:
                    arrived = self.received.get(newest)
                info = {"fit_s": fit_s, "newest_stamp": newest, "arrived": arrived}
                self.on_result(result, info)
                if arrived is not None:
                    self.stats.add("latency", time.monotonic() - arrived)
                self.stats.count("windows_published")
                self.stats.tick("out")
            except Exception as err:  # noqa: BLE001
                self.stats.drop("reconstruction_error", type(err).__name__)
                self._log_error("reconstruction", err)
            finally:
                with self.cond:
                    self.busy["fit"] = False
