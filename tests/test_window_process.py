"""Window fits in a child process (fitting/remote.py) and abandoned fits (shutdown)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from interaction_recon.config import Config
from interaction_recon.fitting.job import WindowJob
from interaction_recon.fitting.window import Cancelled, WindowFitter


def small_config() -> Config:
    config = Config()
    f = config.fitting
    f.prior, f.iterations_rigid, f.iterations_alone, f.iterations, f.iterations_warm = "none", 3, 3, 3, 3
    return config


@pytest.fixture(scope="module")
def job():
    from tests.test_causal import K, truth
    from interaction_recon.body import create

    torch.set_num_threads(1)
    _, kp = truth(create(Config().body), 12)
    return WindowJob(frames=np.arange(12), stamps=np.arange(12) / 10.0, keypoints=kp,
                     confidence=np.ones(kp.shape[:3], np.float32), layout="blazepose33",
                     track_ids=np.array([3, 4]), K=K, fps=10.0)


def test_the_child_process_fits_a_window_and_abandons_one_on_cancel(job):
    from interaction_recon.fitting.remote import ProcessFitter

    fitter = ProcessFitter(small_config(), nice=5)
    try:
        result = fitter.fit(job)
        assert result.frames.tolist() == list(range(12)) and np.isfinite(result.joints).all()
        assert result.track_ids.tolist() == [3, 4]
        slow = small_config()
        slow.fitting.iterations = 100_000  # would run for hours
        fitter.config = slow
        fitter.close()  # the next fit starts a child with the slow config
        errors = []

        def fit():
            try:
                fitter.fit(job)
            except Cancelled as err:
                errors.append(err)

        worker = threading.Thread(target=fit)
        worker.start()
        time.sleep(1.0)
        deadline = time.monotonic() + 60
        while not fitter._ready and time.monotonic() < deadline:  # the new child has built its models
            time.sleep(0.1)
        time.sleep(1.0)  # and is into the fit
        t0 = time.monotonic()
        fitter.cancel()
        worker.join(5)
        assert not worker.is_alive() and time.monotonic() - t0 < 2.0 and errors
        assert not fitter._process.is_alive()
    finally:
        fitter.close()


def test_an_in_process_fit_is_abandoned_at_its_next_step(job):
    from interaction_recon.body import create

    config = small_config()
    config.fitting.iterations = 100_000
    fitter = WindowFitter(create(config.body), config.fitting)
    timer = threading.Timer(3.0, fitter.cancel)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        fitter.fit(job)
    assert time.monotonic() - t0 < 3.0 + 2.0
