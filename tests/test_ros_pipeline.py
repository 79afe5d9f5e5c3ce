"""The reconstruction worker's choice of window when it falls behind (no ROS needed)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from interaction_recon.ros.pipeline import Pipeline


class WarmStream:
    """``warm_for`` as WindowStream's: the job shares frames with the last fit."""

    def __init__(self, last: np.ndarray):
        self.last = last

    def warm_for(self, job) -> bool:
        return bool(np.isin(job.frames, self.last).any())


def window(start: int, n: int = 8):
    return SimpleNamespace(frames=np.arange(start, start + n))


def test_behind_the_worker_takes_the_newest_window_it_can_warm_start():
    p = Pipeline(perception=None, stream=WarmStream(np.arange(0, 8)), on_result=None, fit_queue=4)
    p.jobs.extend((window(s), float(s)) for s in (2, 4, 6, 8))  # frames 8-15 do not overlap 0-7
    job, stamp = p._take_job()
    assert job.frames[0] == 6 and stamp == 6.0  # 2 and 4 skipped (6-13 holds their new frames), 8 waits
    assert [j.frames[0] for j, _ in p.jobs] == [8]
    assert p.stats.counts["windows_skipped"] == 2 and p.stats.drops["reconstruction_behind"] == 2
    p.stream.last = np.arange(100, 108)  # nothing pending overlaps the last fit: the newest, cold
    p.jobs.appendleft((window(3), 3.0))
    assert p._take_job()[0].frames[0] == 8 and not p.jobs


def test_a_stream_that_cannot_tell_is_served_first_in_first_out():
    p = Pipeline(perception=None, stream=SimpleNamespace(), on_result=None, fit_queue=4)
    p.jobs.extend((window(s), float(s)) for s in (2, 4))
    assert p._take_job()[0].frames[0] == 2 and len(p.jobs) == 1
