"""Shared test set-up: one CPU thread, a ROS domain of this run's own, shared body models."""
import os
import random

import pytest
import torch

torch.set_num_threads(1)
os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 101)))


@pytest.fixture(scope="session")
def anny_body():
    from interaction_recon.body import create

    return create()


@pytest.fixture(scope="session")
def anny_collider(anny_body):
    from interaction_recon.body.collision import BodyCollider

    return BodyCollider(anny_body)
