"""The main job's short form in the default suite: `make demo` (interaction_recon/apps/demo.py)
on 48 frames with 32-frame windows: every image on /humans with the image's stamp, the refined
windows behind it, no drops, and a bag whose JPEG images replay as a camera."""
from __future__ import annotations

import pytest

pytest.importorskip("rclpy")
pytest.importorskip("interaction_recon_msgs.msg")


def test_the_main_job_runs_end_to_end_on_a_short_clip(tmp_path):
    from interaction_recon.config import Config
    from interaction_recon.apps import demo
    from interaction_recon.ros import bag, replay

    config = Config()
    config.perception.blazepose_model = "full"  # the node's (config/live.yaml), as `make demo` runs it
    config.fitting.window, config.fitting.stride = 32, 16  # windows end at frames 31 and 47
    summary = demo.run(tmp_path, config, frames=48, rate=10.0, timeout=300, log=lambda line: None)
    assert summary["frames_perceived"] == 48 and summary["frames_published"] == 48, summary
    assert summary["drops"] == {}, summary["drops"]
    assert summary["refined_messages"] == 48 and summary["people_per_message"] == {"2": 48}, summary
    assert summary["causal"]["frames_with_both"] >= 40 and summary["causal"]["pa_mpjpe_mm"] < 150, summary["causal"]
    got = bag.read_bag(tmp_path / "bag")
    images = got["/camera/image_raw/compressed"]
    assert [(m.header.stamp.sec, m.header.stamp.nanosec) for m in got["/humans"]] == \
        [(m.header.stamp.sec, m.header.stamp.nanosec) for m in images]
    source = replay.open_source(tmp_path / "bag")
    assert source.count == 48 and next(iter(source.open())).shape == (256, 256, 3)
