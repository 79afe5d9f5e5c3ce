"""``interaction-recon reconstruct``: errors on bad input, and a whole run on a rendered clip."""
import json

import numpy as np
import pytest

from interaction_recon.cli import main


def test_missing_video_is_a_one_line_error(tmp_path, capsys):
    assert main(["reconstruct", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "nope.mp4" in err and "Traceback" not in err


@pytest.mark.slow
def test_reconstruct_writes_results_overlay_and_preview(tmp_path, anny_body, anny_collider):
    import cv2

    from interaction_recon.fitting.result import Reconstruction
    from interaction_recon.synth import world

    scene = world.make_scene("handshake", 3, anny_body, anny_collider, size=(320, 320))
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 320))
    for t in range(40):
        writer.write(scene.frame(t)[..., ::-1])
    writer.release()
    config = tmp_path / "small.yaml"
    config.write_text("fitting: {window: 24, stride: 8, iterations_rigid: 10, iterations: 20, iterations_warm: 8,"
                      " refit_frames: 16}\n")
    K = scene.gt["K"]
    out = tmp_path / "out"
    assert main(["reconstruct", str(video), "--out", str(out), "--config", str(config),
                 "--intrinsics", f"{K[0, 0]},{K[1, 1]},{K[0, 2]},{K[1, 2]}"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 40 and summary["windows"] == 3 and summary["people_seen"] == 2
    assert summary["published_frames"] == [40, 40]
    result = Reconstruction.load(out / "results.npz")
    assert result.joints.shape == (2, 40, 24, 3) and np.isfinite(result.joints).all()
    assert (out / "overlay.mp4").stat().st_size > 10_000 and (out / "preview.png").stat().st_size > 10_000
    # Both fitted pelvises sit within 0.6 m of the truth (depth from body size is approximate).
    gt = scene.gt["joints"][:, :40, 0]
    err = min(np.linalg.norm(result.joints[order, :, 0] - gt, axis=-1).mean() for order in ([0, 1], [1, 0]))
    assert err < 0.6


@pytest.mark.slow
def test_reconstruct_with_depth_frames_places_people_at_their_measured_distance(tmp_path, anny_body, anny_collider):
    """The same run with 16-bit PNG depth frames of the rendered bodies (``--depth``): both
    pelvises within 15 cm of the truth, where the body-size guess alone is allowed 60 cm."""
    import cv2

    from interaction_recon.eval.bench import rendered_depth
    from interaction_recon.fitting.result import Reconstruction
    from interaction_recon.synth import world

    scene = world.make_scene("handshake", 3, anny_body, anny_collider, size=(320, 320))
    video, depth_dir = tmp_path / "clip.mp4", tmp_path / "depth"
    depth_dir.mkdir()
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 320))
    gt, K = scene.gt, scene.gt["K"]
    for t in range(40):
        writer.write(scene.frame(t)[..., ::-1])
        depth = rendered_depth(gt, t, 320, 320)
        cv2.imwrite(str(depth_dir / f"{t:04d}.png"), np.where(np.isfinite(depth), np.rint(depth * 1000), 0).astype(np.uint16))
    writer.release()
    config = tmp_path / "small.yaml"
    config.write_text("fitting: {window: 24, stride: 8, iterations_rigid: 10, iterations: 20, iterations_warm: 8,"
                      " refit_frames: 16}\n")
    out = tmp_path / "out"
    assert main(["reconstruct", str(video), "--out", str(out), "--config", str(config), "--no-overlay",
                 "--depth", str(depth_dir), "--intrinsics", f"{K[0, 0]},{K[1, 1]},{K[0, 2]},{K[1, 2]}"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["depth_dropped"] == 0 and min(summary["depth_frames"]) >= 30
    result = Reconstruction.load(out / "results.npz")
    truth = gt["joints"][:, :40, 0]
    err = min(np.linalg.norm(result.joints[order, :, 0] - truth, axis=-1).mean() for order in ([0, 1], [1, 0]))
    assert err < 0.15, err
