"""Window fits in a child process at a lower CPU priority: the live node's smoother.

The per-frame estimate and perception must answer within a frame's time; a window fit takes
seconds of CPU. In one process they would share Python's interpreter lock; here the fit runs
in its own (spawned) process, niced, so the real-time threads keep their cores and the fit
uses what is left. :class:`ProcessFitter` has :class:`WindowFitter`'s ``fit(job, previous)``;
``cancel()`` ends the child at once (a fit in progress is abandoned), the next fit starts a
new one. The child keeps its fitter (and so the prior's fine-tuned weights) from window to
window.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading

from interaction_recon.config import Config
from interaction_recon.fitting.result import Reconstruction
from interaction_recon.fitting.job import WindowJob
from interaction_recon.fitting.window import Cancelled

log = logging.getLogger(__name__)
POLL = 0.05  # s between checks for a cancel while waiting for the child


def _serve(conn, config: Config, nice: int) -> None:
    """The child: build the body model and fitter, then fit each (job, previous) it receives."""
    import signal

    import torch

    from interaction_recon.body import create
    from interaction_recon.fitting.window import WindowFitter

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends this process
    if nice:
        os.nice(nice)
    torch.set_num_threads(1)
    fitter = WindowFitter(create(config.body), config.fitting)
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        job, previous = message
        try:
            conn.send(("ok", fitter.fit(job, previous)))
        except Exception as err:  # noqa: BLE001 - reported to the parent, which counts it
            conn.send(("error", f"{type(err).__name__}: {err}"))


class ProcessFitter:
    """``fit(job, previous)`` in a spawned child process at ``nice`` (0 = same priority)."""

    def __init__(self, config: Config, nice: int = 10):
        self.config, self.nice = config, nice
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._process = self._conn = None
        self._start()

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, self.config, self.nice), name="ir-window-fit",
                                    daemon=True)
        self._process.start()
        child.close()
        self._ready = False

    def _receive(self):
        try:
            while not self._conn.poll(POLL):
                if self._cancel.is_set():
                    raise Cancelled("window fit abandoned")
                if not self._process.is_alive():
                    raise EOFError
            return self._conn.recv()
        except (EOFError, OSError):  # the child is gone: ended by cancel(), or it died
            if self._cancel.is_set():
                raise Cancelled("window fit abandoned") from None
            raise RuntimeError(f"the window-fit process ended (exit code {self._process.exitcode})") from None

    def fit(self, job: WindowJob, previous: Reconstruction | None = None) -> Reconstruction:
        with self._lock:
            if self._cancel.is_set():
                raise Cancelled("window fit abandoned")
            if self._process is None or not self._process.is_alive():
                self._start()
            if not self._ready:
                kind, _ = self._receive()
                self._ready = kind == "ready"
            self._conn.send((job, previous))
            kind, value = self._receive()
            if kind == "error":
                raise RuntimeError(f"window fit failed in the child process: {value}")
            return value

    def cancel(self) -> None:
        """Abandon the fit in progress and end the child (within about POLL seconds)."""
        self._cancel.set()
        self.close()

    def close(self) -> None:
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            process.join(1.0)
            if process.is_alive():
                process.kill()
