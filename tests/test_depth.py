"""An aligned depth image: its encodings, holes and sizes (perception/depth.py), and what it
does to the fit: each person's distance and size from the sensor, in the window optimiser
and in the per-frame estimate."""
from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from interaction_recon.config import Config
from interaction_recon.fitting.causal import CausalFilter
from interaction_recon.fitting.job import WindowJob
from interaction_recon.fitting.window import WindowFitter
from interaction_recon.perception.depth import person_depths, read_depth, to_metres, track_depths
from test_fitting import K, facing_camera, observe_params, small_config

H, W = 60, 80
BOXES = np.array([[5.0, 5.0, 35.0, 55.0], [45.0, 5.0, 75.0, 55.0]])


def two_people_depth(rng) -> tuple[np.ndarray, np.ndarray]:
    """(depth [H, W] m: person 0 at 2.0 m, person 1 at 3.5 m, the wall at 6 m, with 1 cm noise;
    masks [2, H, W])."""
    depth = np.full((H, W), 6.0) + rng.normal(0, 0.01, (H, W))
    masks = np.zeros((2, H, W), np.float32)
    for p, (box, z) in enumerate(zip(BOXES.astype(int), (2.0, 3.5))):
        masks[p, box[1]:box[3], box[0]:box[2]] = 1.0
        depth[box[1]:box[3], box[0]:box[2]] += z - 6.0
    return depth.astype(np.float32), masks


def test_16uc1_and_32fc1_depth_give_the_same_distances_through_holes_and_nans():
    rng = np.random.default_rng(0)
    depth, masks = two_people_depth(rng)
    holes = rng.random((H, W)) < 0.3
    millimetres = np.rint(depth * 1000).astype(np.uint16)
    millimetres[holes] = 0  # no return
    metres = depth.copy()
    metres[holes] = np.where(rng.random(holes.sum()) < 0.5, np.nan, 0.0)  # drivers use either
    a = person_depths(to_metres(millimetres, "16UC1"), masks, BOXES)
    b = person_depths(to_metres(metres, "32FC1"), masks, BOXES)
    np.testing.assert_allclose(a, [2.0, 3.5], atol=0.01)
    np.testing.assert_allclose(a, b, atol=0.002)
    # the wall around each person stays out (mask eroded); without masks the box's centre is used
    np.testing.assert_allclose(person_depths(to_metres(metres, "32FC1"), None, BOXES), [2.0, 3.5], atol=0.01)


def test_a_person_with_too_few_depth_pixels_or_no_box_gets_no_distance():
    rng = np.random.default_rng(1)
    depth, masks = two_people_depth(rng)
    depth[:, :40] = np.nan  # person 0 entirely in a hole
    boxes = BOXES.copy()
    out = person_depths(depth, masks, boxes)
    assert np.isnan(out[0]) and abs(out[1] - 3.5) < 0.01
    boxes[1] = np.nan
    assert np.isnan(person_depths(depth, masks, boxes)).all()
    with pytest.raises(ValueError, match="encoding"):
        to_metres(np.zeros((H, W), np.uint8), "8UC1")


def test_depth_frames_are_read_from_16_bit_pngs_or_a_stack_and_a_wrong_size_is_dropped_and_counted(tmp_path):
    rng = np.random.default_rng(2)
    depth, masks = two_people_depth(rng)
    folder = tmp_path / "depth"
    folder.mkdir()
    for t in range(3):
        image = np.rint(depth * 1000).astype(np.uint16)
        if t == 1:
            image = cv2.resize(image, (W // 2, H // 2), interpolation=cv2.INTER_NEAREST)  # not registered
        cv2.imwrite(str(folder / f"{t:04d}.png"), image)
    np.save(tmp_path / "stack.npy", np.stack([depth] * 3))
    track = SimpleNamespace(num_frames=3, image_size=(H, W), masks=np.stack([masks] * 3, 1).astype(np.float16),
                            boxes=np.stack([BOXES] * 3, 1))
    out, dropped = track_depths(track, read_depth(folder))
    assert dropped == 1 and np.isnan(out[:, 1]).all()
    np.testing.assert_allclose(out[:, [0, 2]], [[2.0, 2.0], [3.5, 3.5]], atol=0.01)
    stacked, dropped = track_depths(track, read_depth(tmp_path / "stack.npy"))
    assert dropped == 0
    np.testing.assert_allclose(stacked, [[2.0] * 3, [3.5] * 3], atol=0.01)
    with pytest.raises(ValueError, match="folder of depth images"):
        list(read_depth(tmp_path / "video.mp4"))


def short_pair(body, T: int):
    """Two people 15 % shorter than the average body, 3 m away: (params, true pelvis depth [2, T])."""
    truth = facing_camera(body, T)
    truth.shape = body.resized(truth.shape, torch.tensor([0.85, 0.85]))
    with torch.no_grad():
        pelvis_z = body(truth, collision=False).joints[:, :, 0, 2].numpy()
    return truth, pelvis_z


def test_sensor_depth_places_and_sizes_people_the_average_body_would_put_too_far(anny_body, anny_collider):
    """The average body puts two short people too far away (the picture cannot tell); with
    each person's distance from a depth sensor (holes in a third of the frames) the fit
    places them within 5 cm. Fails with weights.depth_sensor 0."""
    truth, pelvis_z = short_pair(anny_body, 12)
    kp, conf = observe_params(anny_body, truth)
    cfg = small_config()
    sensor = (pelvis_z - cfg.depth_surface_offset).astype(np.float32)
    sensor[:, ::3] = np.nan
    frames = np.arange(12)
    job = WindowJob(frames, frames / 30.0, kp, conf, "blazepose33", np.array([0, 1]), K, depth=sensor)
    errors = {}
    for weight in (cfg.weights.depth_sensor, 0.0):
        cfg.weights.depth_sensor = weight
        result = WindowFitter(anny_body, cfg, anny_collider).fit(job)
        errors[weight] = np.abs(result.joints[:, :, 0, 2] - pelvis_z).mean()
        # the typical error it reports: the depth sensor's where it measured, one camera's elsewhere
        expected = np.where(np.isfinite(sensor) & (weight > 0), cfg.position_error_depth, cfg.position_error_monocular)
        np.testing.assert_allclose(result.position_error, expected)
    assert errors[0.0] > 0.25, errors  # ~0.5 m too far without the sensor
    assert min(errors.values()) < 0.05, errors


def test_the_per_frame_estimate_takes_each_persons_distance_from_the_sensor(anny_body):
    truth, pelvis_z = short_pair(anny_body, 6)
    kp, conf = observe_params(anny_body, truth)
    errors = {}
    for weight in (Config().fitting.weights.depth_sensor, 0.0):
        cfg = Config().fitting
        cfg.weights.depth_sensor = weight
        filt = CausalFilter(anny_body, cfg)
        for t in range(6):
            people = SimpleNamespace(index=t, keypoints=kp[:, t], confidence=conf[:, t], track_ids=np.array([1, 2]),
                                     depth=pelvis_z[:, t] - cfg.depth_surface_offset)
            out = filt.update(people, t / 30.0, K)
        errors[weight] = float(np.abs(out.joints[:, 0, 0, 2] - pelvis_z[:, -1]).mean())
        np.testing.assert_allclose(out.position_error[:, 0], cfg.position_error_depth if weight else
                                   cfg.position_error_monocular)
    assert errors[0.0] > 0.25, errors
    assert min(errors.values()) < 0.08, errors
