"""Perception front end: people detection, the interacting pair's two stable identities, 33
2D keypoints (BlazePose order, COCO-17 view) and masks per person, on real images.

    from interaction_recon.perception import Perception, run_video
    perception = Perception()            # PerceptionConfig defaults: MoveNet + BlazePose, CPU
    frame = perception(rgb)              # PeopleFrame (streaming)
    track = run_video("clip.mp4")        # PeopleTrack (batch, progress bar)

Models come from registry packages at set-up (``assets.py``); nothing is downloaded at run time.
"""
from interaction_recon.config import PerceptionConfig
from interaction_recon.perception.pipeline import Perception
from interaction_recon.perception.types import PeopleFrame, PeopleTrack
from interaction_recon.perception.video import run_video

__all__ = ["Perception", "PerceptionConfig", "PeopleFrame", "PeopleTrack", "run_video"]
