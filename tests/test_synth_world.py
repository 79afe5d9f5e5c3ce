"""Cameras, ground truth, the observation simulator and the on-disk format."""
import numpy as np
import pytest
import torch

from interaction_recon.body import skeleton
from interaction_recon.apps.body_demo import handshake_params
from interaction_recon.synth import dataset, observe
from interaction_recon.synth.camera import Camera, look_at, sample_camera
from interaction_recon.synth.groundtruth import ground_truth

J = {n: i for i, n in enumerate(skeleton.SMPL_JOINTS)}


def _static_camera(eye=(0.3, 1.2, 3.5), target=(0.0, 0.2, 0.0), T=1, size=256):
    R, t = look_at(np.array(eye, float), np.array(target, float))
    K = np.array([[300.0, 0, size / 2], [0, 300.0, size / 2], [0, 0, 1]])
    return Camera(K=K, R=np.repeat(R[None], T, 0), t=np.repeat(t[None], T, 0), width=size, height=size)


@pytest.fixture(scope="module")
def handshake(anny_body, anny_collider):
    params = handshake_params(anny_body)
    camera = _static_camera()
    return params, camera, ground_truth(params, camera, anny_body, anny_collider)


def test_look_at_puts_the_target_at_the_image_centre():
    cam = _static_camera()
    uv = cam.project(cam.to_camera(np.array([[[0.0, 0.2, 0.0]]]))[0])
    assert np.allclose(uv, [128, 128], atol=1e-6)
    up = cam.to_camera(np.array([[[0.0, 1.2, 0.0]]]))[0, 0]
    assert up[1] < 0  # world up is image up (OpenCV y points down)


def test_sampled_cameras_see_the_target_from_varied_places():
    rng = np.random.default_rng(0)
    target = np.tile([[0.0, 1.2, 0.0]], (30, 1))
    eyes = []
    for _ in range(8):
        cam = sample_camera(rng, target, size=(320, 240))
        uv = cam.project(cam.to_camera(target[None, :, None])[0, :, 0])
        assert np.allclose(uv, [160, 120], atol=1e-6) and np.allclose(cam.R[0], cam.R[-1])
        eyes.append(-cam.R[0].T @ cam.t[0])
    eyes = np.array(eyes)
    assert (np.linalg.norm(eyes[:, [0, 2]], axis=1) > 2.4).all() and np.ptp(eyes[:, 1]) > 0.2
    moving = sample_camera(rng, target, moving=True)
    assert not np.allclose(moving.R[0], moving.R[-1])


def test_camera_frame_parameters_repose_to_the_camera_frame_joints(anny_body, handshake):
    params, camera, gt = handshake
    cam_params = params.map(torch.clone)
    cam_params.global_orient = torch.as_tensor(gt["global_orient"])
    cam_params.transl = torch.as_tensor(gt["transl"])
    joints = anny_body(cam_params).joints.numpy()
    assert np.abs(joints - gt["joints"]).max() < 1e-5


def test_2d_annotations_are_the_projected_3d_ones(handshake):
    _, camera, gt = handshake
    for key in ("joints", "coco17", "blazepose33"):
        assert np.allclose(camera.project(gt[key]), gt[f"{key}2d" if key == "joints" else f"{key}_2d"], atol=1e-3)
    box = gt["boxes"]
    assert (box[..., 2] > box[..., 0]).all() and (box[..., 3] > box[..., 1]).all()


def test_handshake_contacts_are_hand_to_hand(handshake):
    _, _, gt = handshake
    parts = {(a, b) for _, a, b in gt["contact_parts"]}
    assert ("right hand", "right hand") in parts
    joints = {(int(a), int(b)) for _, a, b in gt["contact_pairs"]}
    assert any(a in (J["right_wrist"], J["right_hand"]) and b in (J["right_wrist"], J["right_hand"]) for a, b in joints)
    assert gt["contact_vertices"].shape[1] == 3 and len(gt["contact_vertices"]) > 0
    assert gt["nearer_person"][0] == np.argmin(gt["root_depth"][:, 0])


def _layout_gt(T=40):
    rng = np.random.default_rng(1)
    kp = np.concatenate([rng.uniform(100, 200, (1, T, 17, 2)), rng.uniform(300, 400, (1, T, 17, 2))])
    boxes = np.concatenate([kp.min(2), kp.max(2)], -1)
    return kp, np.ones(kp.shape[:3], bool), boxes


def test_clean_observations_stay_within_a_pixel_and_keep_identities():
    kp, vis, boxes = _layout_gt()
    obs = observe.simulate(kp, vis, boxes, "coco17", observe.PRESETS["clean"], np.random.default_rng(0))
    assert np.abs(obs.keypoints - kp).max() < 3.0 and not obs.swapped.any()
    assert (obs.confidence >= 0.7).all()


def test_identity_swaps_happen_only_where_people_cross():
    kp, vis, boxes = _layout_gt()
    crossing = boxes.copy()
    crossing[1, 20:30] = crossing[0, 20:30]  # the boxes coincide for 10 frames
    always = observe.ObservationConfig(noise=0.0, miss=0.0, flip=0.0, swap=1.0)
    obs = observe.simulate(kp, vis, crossing, "coco17", always, np.random.default_rng(0))
    assert not obs.swapped[:25].any() and obs.swapped[25:].all()
    assert np.allclose(obs.keypoints[0, 30:], kp[1, 30:]) and np.allclose(obs.keypoints[1, :20], kp[1, :20])
    apart = observe.simulate(kp, vis, boxes, "coco17", always, np.random.default_rng(0))
    assert not apart.swapped.any()


def test_occluded_missed_and_flipped_joints_are_marked():
    kp, vis, boxes = _layout_gt()
    vis[0, :, :5] = False
    config = observe.ObservationConfig(noise=0.0, occluded_noise=0.0, miss=0.0, flip=1.0, swap=0.0)
    obs = observe.simulate(kp, vis, boxes, "coco17", config, np.random.default_rng(0))
    flip = skeleton.flip_permutation(skeleton.COCO17)
    assert np.allclose(obs.keypoints[1], kp[1][:, flip])  # every frame flipped
    assert (obs.confidence[0, :, flip[:5]] < 0.5).all()  # occluded joints (moved by the flip) are unsure
    missed = observe.simulate(kp, np.ones_like(vis), boxes, "coco17",
                              observe.ObservationConfig(miss=0.5, flip=0.0, swap=0.0), np.random.default_rng(0))
    low = missed.confidence < 0.2
    assert 0.4 < low.mean() < 0.6


def test_observations_are_deterministic_for_a_seed():
    kp, vis, boxes = _layout_gt()
    a, b = (observe.simulate(kp, vis, boxes, "coco17", observe.PRESETS["noisy"], np.random.default_rng(7)) for _ in range(2))
    assert np.array_equal(a.keypoints, b.keypoints) and np.array_equal(a.confidence, b.confidence)


def test_scene_round_trips_through_disk(tmp_path, handshake):
    _, _, gt = handshake
    frames = np.broadcast_to(np.linspace(0, 250, 32, dtype=np.uint8)[None, :, None, None], (1, 32, 32, 3)).copy()
    masks = np.zeros((1, 32, 32), np.uint8)
    masks[0, 5:9, 5:9] = 2
    scene = dataset.Scene(name="handshake-0000", meta={"kind": "handshake", "seed": 0}, gt=gt, frames=frames, masks=masks)
    dataset.write_scene(scene, tmp_path)
    dataset.write_index(tmp_path, [scene])
    (loaded,) = dataset.load_dataset(tmp_path)
    assert loaded.kind == "handshake" and loaded.num_frames == 1
    for key, value in gt.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(loaded.gt[key], value), key
    assert loaded.gt["contact_parts"] == gt["contact_parts"]
    assert np.array_equal(loaded.load_masks(), masks)
    assert np.abs(loaded.frame(0).astype(int) - frames[0]).mean() < 3  # JPEG
    with pytest.raises(FileNotFoundError, match="not a synthetic clip"):
        dataset.load_scene(tmp_path / "nothing")


@pytest.fixture()
def quick_motions(monkeypatch):
    """Keyframed motions without the (slow) contact refinement: the world pipeline is under test."""
    from interaction_recon.synth import motions

    monkeypatch.setattr(motions, "generate_motion", lambda kind, rng, body, collider: motions.build_keyframed(kind, rng, body))


def test_world_clips_are_deterministic_and_consistent(quick_motions, anny_body, anny_collider, tmp_path):
    from interaction_recon.synth import world

    a = world.make_scene("push", 3, anny_body, anny_collider, size=(64, 64), images=True)
    T = a.num_frames
    assert a.frames.shape == (T, 64, 64, 3) and a.masks.shape == (T, 64, 64)
    assert a.gt["visible_joints"].shape == (2, T, 24) and a.gt["visible_blazepose33"].shape == (2, T, 33)
    for p in range(2):  # both people show up, inside their amodal boxes
        assert (a.masks == p + 1).any()
        for t in range(0, T, 10):
            ys, xs = np.nonzero(a.masks[t] == p + 1)
            if len(ys):
                x0, y0, x1, y1 = a.gt["boxes"][p, t]
                assert x0 - 1 <= xs.min() and xs.max() <= x1 + 1 and y0 - 1 <= ys.min() and ys.max() <= y1 + 1
    world.write_dataset(tmp_path, [("push", 3)], size=(64, 64), images=True)  # generated again
    (loaded,) = dataset.load_dataset(tmp_path)
    assert loaded.name == a.name and np.array_equal(loaded.load_masks(), a.masks)
    assert np.array_equal(loaded.gt["joints"], a.gt["joints"])
    assert np.abs(loaded.frame(T // 2).astype(int) - a.frames[T // 2]).mean() < 8  # JPEG of the same frame


@pytest.mark.slow
def test_a_clip_is_the_same_whatever_thread_count_the_caller_runs(tmp_path):
    """The refinement follows float summation order; write_dataset pins torch's thread count."""
    from interaction_recon.synth import world

    before = torch.get_num_threads()
    clips = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            world.write_dataset(tmp_path / str(threads), [("handshake", 100)], size=(64, 64), images=False)
            clips.append(dataset.load_dataset(tmp_path / str(threads))[0])
            assert torch.get_num_threads() == threads  # restored
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(clips[0].gt["body_pose"], clips[1].gt["body_pose"])
    assert np.array_equal(clips[0].gt["joints"], clips[1].gt["joints"])


def test_masks_agree_with_depth_order(anny_body):
    """Where both people's silhouettes overlap in the image, the nearer one is what the mask shows."""
    from interaction_recon.synth import world

    params = anny_body.neutral_params(2, 1)
    params.transl[1, 0] = torch.tensor([0.25, 0.0, -0.8])  # person 1 behind person 0, shifted sideways
    with torch.no_grad():
        verts = anny_body(params, full_mesh=True).vertices.numpy()
    camera = _static_camera(eye=(0.0, 0.3, 3.5), target=(0.0, 0.0, 0.0), size=128)
    gt = {k: np.zeros((2, 1, n, 3), np.float32) for k, n in (("joints", 24), ("coco17", 17), ("blazepose33", 33))}
    colors = [torch.full((verts.shape[2], 3), 0.5)] * 2
    frames, masks, _ = world._render_clip(verts, anny_body.faces, colors, None, camera, gt, images=False)
    assert frames is None and masks is None
    from interaction_recon.render import mesh as render

    K = torch.as_tensor(camera.K, dtype=torch.float32)
    cam = torch.as_tensor(camera.to_camera(verts), dtype=torch.float32)
    r = render.render([(cam[p, 0], anny_body.faces, colors[p]) for p in range(2)], K, 128, 128)
    alone = [render.render([(cam[p, 0], anny_body.faces, colors[p])], K, 128, 128).mesh_id == 0 for p in range(2)]
    both = alone[0] & alone[1]
    assert both.sum() > 100
    labels = world._labels(r.mesh_id.numpy())
    assert (labels[both.numpy()] == 1).mean() > 0.99  # person 0 is nearer
