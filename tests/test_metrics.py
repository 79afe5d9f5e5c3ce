"""Metric values checked against numbers worked out by hand on tiny skeletons."""

import json
import math

import numpy as np
import pytest

from interaction_recon.eval.metrics import (
    SCORED_JOINTS,
    accel_error,
    contact_distance_error,
    contact_prf,
    depth_order_accuracy,
    inter,
    joint_pa_mpjpe,
    match_person_order,
    mpjpe,
    mpvpe,
    pa_mpjpe,
    pcc_curve,
    penetration_depth_stats,
    pck,
    project,
    reprojection_error,
    root_distance_error,
    root_position_error,
    score_sequence,
)

SMPL24 = ("pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
          "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
          "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
          "left_wrist", "right_wrist", "left_hand", "right_hand")
HEAD, LEFT_HAND, RIGHT_HAND = 15, 22, 23
TOL = 1e-9


def ring(radius=0.1, height=0.2, at=(0.0, 0.0, 0.0)):
    """One SMPL-24 skeleton [24, 3] with its root at ``at``.

    Scored joint k (k = 0..13) sits at angle 2*pi*k/14, horizontal radius ``radius``,
    height +``height`` for even k and -``height`` for odd k, so ring points k and k + 7
    are antipodal; the hips take points 0 and 7, which puts the root exactly at ``at``.
    The 10 unscored joints sit 9 m away so that any use of them would show.
    """
    k = np.arange(14)
    theta = 2 * np.pi * k / 14
    points = np.stack([radius * np.cos(theta), radius * np.sin(theta),
                       np.where(k % 2 == 0, height, -height)], axis=1)
    joints = np.full((24, 3), 9.0)
    others = [j for j in SCORED_JOINTS if j not in (1, 2)]
    joints[[2, 1] + others] = points[[0, 7, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13]]
    return joints + np.asarray(at)


def pair(a, b, frames=2):
    """Two skeletons [24, 3] held still for ``frames`` frames -> [2, frames, 24, 3]."""
    return np.repeat(np.stack([a, b])[:, None], frames, axis=1)


def rot_z(degrees):
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def two_people(frames=2):
    """Ground truth: two different poses (root-relative), 1 m apart along x, 3 m deep."""
    return pair(ring(0.1, 0.2, (0.0, 0.0, 3.0)), ring(0.15, 0.05, (1.0, 0.0, 3.0)), frames)


def test_scored_joints_are_the_fourteen_lsp_joints():
    names = {SMPL24[i] for i in SCORED_JOINTS}
    assert len(SCORED_JOINTS) == 14
    assert names == {f"{side}_{part}" for side in ("left", "right")
                     for part in ("ankle", "knee", "hip", "wrist", "elbow", "shoulder")} | {"neck", "head"}


def test_mpjpe_is_blind_to_translation():
    gt = two_people()
    pred = gt + np.array([0.3, -0.2, 1.5])
    pred[1] += np.array([0.0, 0.4, 0.0])
    assert mpjpe(pred, gt) == pytest.approx((0.0, 0), abs=TOL)


def test_rotation_and_scale_cost_mpjpe_exactly_but_not_pa_mpjpe():
    # Every scored joint x (root-relative) has |x_xy| = 0.1 and |z| = 0.2. Scaling by 2 and
    # turning 90 degrees about z moves it by sqrt(0.1^2 * (4 + 1) + 0.2^2) = 0.3 m.
    gt = pair(ring(0.1, 0.2), ring(0.1, 0.2, (1.0, 0.0, 0.0)))
    pred = 2.0 * gt @ rot_z(90).T + np.array([0.5, 0.0, 2.0])
    assert mpjpe(pred, gt).value == pytest.approx(300.0, abs=1e-6)
    assert pa_mpjpe(pred, gt) == pytest.approx((0.0, 0), abs=1e-6)


def test_pa_mpjpe_does_not_fit_a_mirror_image():
    gt = two_people()
    pred = gt * np.array([-1.0, 1.0, 1.0])
    assert pa_mpjpe(pred, gt).value > 10.0


def test_joint_pa_mpjpe_sees_relative_placement_that_per_person_pa_ignores():
    gt = two_people()
    common = 1.5 * gt @ rot_z(30).T + np.array([0.1, 0.2, 0.3])
    assert joint_pa_mpjpe(common, gt) == pytest.approx((0.0, 0), abs=1e-6)
    moved = gt.copy()
    moved[1] += np.array([0.0, 0.0, 0.1])
    assert pa_mpjpe(moved, gt).value == pytest.approx(0.0, abs=1e-6)
    # A translation by half the shift alone leaves every joint 50 mm off; the best
    # similarity can only do better, and cannot undo a move of one person only.
    assert 1.0 < joint_pa_mpjpe(moved, gt).value <= 50.0 + 1e-6


def test_mpvpe_subtracts_the_vertex_mean_or_the_given_root():
    gt = np.zeros((2, 2, 4, 3))
    gt[..., 0] = [0.0, 1.0, 0.0, 1.0]
    gt[..., 1] = [0.0, 0.0, 1.0, 1.0]
    pred = gt + np.array([0.2, 0.3, 0.4])
    assert mpvpe(pred, gt) == pytest.approx((0.0, 0), abs=TOL)
    # One vertex of one person-frame moved 40 mm: the vertex mean shifts by 10 mm, so that
    # vertex is 30 mm off and the other three 10 mm: (30 + 3 * 10) / 4 = 15 mm, and the
    # other three person-frames are exact: 15 / 4 = 3.75 mm.
    pred[0, 0, 0, 0] += 0.04
    assert mpvpe(pred, gt).value == pytest.approx(3.75, abs=TOL)
    # With the roots given (unchanged) only the moved vertex is off: 40 / 4 / 4 = 2.5 mm.
    assert mpvpe(pred, gt, pred_root=np.full((2, 2, 3), 0.2) + [0, 0.1, 0.2],
                 gt_root=np.zeros((2, 2, 3))).value == pytest.approx(2.5, abs=TOL)


def test_mpvpe_refuses_incomparable_vertices():
    with pytest.raises(ValueError):
        mpvpe(np.zeros((2, 1, 5, 3)), np.zeros((2, 1, 4, 3)))


def test_accel_error_ignores_global_motion_and_counts_a_jerk():
    gt = two_people(frames=3)
    falling = gt + (0.1 * np.arange(3) ** 2)[None, :, None, None] * np.array([0.0, 1.0, 0.0])
    assert accel_error(falling, gt) == pytest.approx((0.0, 0), abs=TOL)
    # Person 0's head 10 mm off in the middle frame: second difference -20 mm on 1 of 14
    # joints; person 1 exact: (20 / 14 + 0) / 2.
    jerk = gt.copy()
    jerk[0, 1, HEAD, 0] += 0.01
    assert accel_error(jerk, gt) == pytest.approx((10.0 / 14.0, 0), abs=1e-9)


def test_inter_is_blind_to_common_translation():
    gt = two_people()
    assert inter(gt + np.array([0.5, -0.3, 0.7]), gt) == pytest.approx((0.0, 0), abs=TOL)


def test_inter_for_a_person_moved_apart_by_10cm_along_x():
    # Person 0's scored joints all at the origin; person 1 has 7 at (1, 0, 0) and 7 at
    # (0, 1, 0). Moving person 1 by +0.1 m in x stretches the first 98 distances from 1 to
    # 1.1 (100 mm) and the other 98 from 1 to sqrt(1.01) (4.98756 mm).
    a = np.zeros((24, 3))
    b = np.zeros((24, 3))
    b[list(SCORED_JOINTS[:7])] = [1.0, 0.0, 0.0]
    b[list(SCORED_JOINTS[7:])] = [0.0, 1.0, 0.0]
    gt = pair(a, b)
    pred = gt.copy()
    pred[1] += np.array([0.1, 0.0, 0.0])
    expected = (100.0 + 1000.0 * (math.sqrt(1.01) - 1.0)) / 2.0  # 52.4938 mm
    assert inter(pred, gt) == pytest.approx((expected, 0), abs=1e-9)


def test_root_position_error_is_the_mid_hip_offset_and_root_distance_error_the_gap_change():
    # Person 1 moved 0.3 m further away (z) and 0.4 m to the side (x): its root is 500 mm off,
    # person 0's 0 -> root position error 250 mm; the two roots were 1 m apart along x and are
    # now sqrt(1.4^2 + 0.3^2) apart.
    gt = two_people()
    gt[1] = gt[0] + np.array([1.0, 0.0, 0.0])
    pred = gt.copy()
    pred[1] += np.array([0.4, 0.0, 0.3])
    assert root_position_error(pred, gt) == pytest.approx((250.0, 0), abs=1e-9)
    assert root_distance_error(pred, gt) == pytest.approx((1000.0 * (math.hypot(1.4, 0.3) - 1.0), 0), abs=1e-9)
    shifted = gt + np.array([0.0, 0.0, 2.0])  # a common shift: every root 2 m off, the gap unchanged
    assert root_position_error(shifted, gt) == pytest.approx((2000.0, 0), abs=1e-9)
    assert root_distance_error(shifted, gt) == pytest.approx((0.0, 0), abs=1e-9)
    unknown = shifted.copy()
    unknown[0, 0] = np.nan
    assert root_position_error(unknown, gt)[1] == 1 and root_distance_error(unknown, gt)[1] == 1


def test_person_order_full_swap_is_matched_without_counting_a_swap():
    gt = two_people(frames=4)
    perm, swaps = match_person_order(gt[[1, 0]], gt)
    assert (perm, swaps) == ((1, 0), 0)
    assert mpjpe(gt[[1, 0]][list(perm)], gt).value == pytest.approx(0.0, abs=TOL)


def test_person_order_swap_is_counted_once_per_change():
    gt = two_people(frames=6)
    pred = gt.copy()
    pred[:, 2:4] = gt[::-1, 2:4]  # frames 2, 3 swapped: two changes, mostly identity
    assert match_person_order(pred, gt) == ((0, 1), 2)
    pred = gt.copy()
    pred[:, 2:] = gt[::-1, 2:]  # swapped from frame 2 on: one change, mostly swapped
    assert match_person_order(pred, gt) == ((1, 0), 1)


def test_person_order_skips_frames_with_nobody_known():
    gt = two_people(frames=6)
    pred = gt.copy()
    pred[:, 3:] = gt[::-1, 3:]
    pred[:, 2] = np.nan  # no one known where the switch happens: still one change
    assert match_person_order(pred, gt) == ((1, 0), 1)


def test_unknown_frames_are_excluded_and_counted_not_zeroed():
    gt = two_people()
    pred = gt.copy()
    pred[0, 0, HEAD, 0] += 0.14  # 140 mm on 1 of 14 joints: 10 mm for that person-frame
    pred[1, 1] = np.nan
    # Three known person-frames: (10 + 0 + 0) / 3. Zeroing the unknown one would give 2.5.
    assert mpjpe(pred, gt) == pytest.approx((10.0 / 3.0, 1), abs=1e-9)
    assert pa_mpjpe(pred, gt).excluded == 1
    assert inter(pred, gt).excluded == 1
    assert joint_pa_mpjpe(pred, gt).excluded == 1
    everything_unknown = np.full_like(gt, np.nan)
    value, excluded = mpjpe(everything_unknown, gt)
    assert math.isnan(value) and excluded == 4
    assert math.isnan(pa_mpjpe(everything_unknown, gt).value)


def test_accel_error_excludes_windows_touching_an_unknown_frame():
    gt = two_people(frames=4)
    pred = gt.copy()
    pred[1, 3] = np.nan  # person 1's window 1..3 is lost; windows (0, 1), (0, 2), (1, 1) remain
    assert accel_error(pred, gt) == pytest.approx((0.0, 1), abs=TOL)


def test_depth_order_counts_only_overlapping_frames_with_a_clear_gap():
    near, far = [0, 0, 100, 200], [50, 0, 150, 200]
    apart = [200, 0, 300, 200]
    touching = [100, 0, 200, 200]  # shares an edge only: no overlap
    boxes = np.array([[near, near, near, near, near, near],
                      [far, far, apart, far, touching, far]], dtype=float)
    gt_depth = np.array([[2.0, 2.0, 2.0, 2.0, 2.0, 2.0],
                         [3.0, 3.0, 3.0, 2.1, 3.0, 3.0]])
    pred_depth = np.array([[2.1, 3.0, 3.0, 3.0, 3.0, np.nan],
                           [2.9, 2.5, 2.5, 2.5, 2.5, 2.5]])
    # Frame 0 right, 1 wrong; 2 apart, 3 gap 0.1 m, 4 touching, 5 unknown: not counted.
    assert depth_order_accuracy(pred_depth, gt_depth, boxes) == (0.5, 2)
    accuracy, counted = depth_order_accuracy(pred_depth[:, 2:5], gt_depth[:, 2:5], boxes[:, 2:5])
    assert math.isnan(accuracy) and counted == 0


def test_contact_distance_error_at_ground_truth_contacts():
    gt = pair(ring(at=(0, 0, 2)), ring(at=(0.3, 0, 2)))
    gt[0, :, LEFT_HAND] = [0.0, 0.0, 2.0]
    gt[1, 0, RIGHT_HAND] = [0.05, 0.0, 2.0]  # 50 mm apart in frame 0
    gt[1, 1, RIGHT_HAND] = [0.0, 0.02, 2.0]  # 20 mm apart in frame 1
    pred = gt.copy()
    pred[1, 0, RIGHT_HAND] = [0.08, 0.0, 2.0]  # 80 mm: 30 mm off; frame 1 exact
    pairs = np.array([[0, LEFT_HAND, RIGHT_HAND], [1, LEFT_HAND, RIGHT_HAND]])
    assert contact_distance_error(pred, gt, pairs) == pytest.approx((15.0, 0), abs=1e-9)
    pred[1, 1] = np.nan
    assert contact_distance_error(pred, gt, pairs) == pytest.approx((30.0, 1), abs=1e-9)


def test_pcc_curve_counts_pairs_closer_than_each_threshold():
    curve = pcc_curve([0.01, 0.03, 0.07, 0.2, np.nan], [0.02, 0.05, 0.1])
    np.testing.assert_allclose(curve, [1 / 4, 2 / 4, 3 / 4])
    assert np.isnan(pcc_curve([np.nan], [0.05])).all()


def test_contact_prf_on_hand_counted_part_pairs():
    gt = [(0, "left_hand", "right_hand"), (0, "head", "left_hand"), (1, "left_hand", "right_hand")]
    pred = [(0, "left_hand", "right_hand"), (1, "left_hand", "right_hand"),
            (1, "spine1", "spine1"), (0, "right_hand", "left_hand"),  # sides swapped: a miss
            (0, "left_hand", "right_hand")]  # duplicate counts once
    precision, recall, f1 = contact_prf(pred, gt)
    assert (precision, recall, f1) == pytest.approx((2 / 4, 2 / 3, 4 / 7))
    precision, recall, f1 = contact_prf([], gt)
    assert math.isnan(precision) and (recall, f1) == (0.0, 0.0)
    assert all(math.isnan(x) for x in contact_prf([], []))


def test_penetration_stats_average_inside_vertices_over_directions_and_frames():
    depths = np.array([
        [[0.01, 0.03, 0.0, 0.0], [0.004, 0.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.0]],
        [[0.0, 0.0, 0.0, 0.0], [0.006, 0.0, 0.0, 0.0], [np.nan] * 4],
    ])
    # Frame 0: (20 + 0) / 2 = 10 mm; frame 1: (4 + 6) / 2 = 5 mm; frame 2 unknown.
    assert penetration_depth_stats(depths) == pytest.approx((7.5, 30.0))
    assert all(math.isnan(x) for x in penetration_depth_stats(depths[:, 2:]))


def test_project_uses_the_pinhole_model():
    K = np.array([[100.0, 0.0, 50.0], [0.0, 100.0, 50.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(project([0.2, -0.1, 2.0], K), [60.0, 45.0])


def test_reprojection_error_in_pixels_with_confidence_weights():
    K = np.array([[100.0, 0.0, 50.0], [0.0, 100.0, 50.0], [0.0, 0.0, 1.0]])
    joints = pair(ring(at=(0, 0, 2)), ring(at=(0.5, 0, 3)))
    gt2d = project(joints, K)
    gt2d[0] += [3.0, 4.0]  # 5 px
    gt2d[1] += [6.0, 8.0]  # 10 px
    assert reprojection_error(joints, K, gt2d) == pytest.approx((7.5, 0), abs=1e-9)
    conf = np.ones((2, 2, 24))
    conf[1] = 3.0
    assert reprojection_error(joints, K, gt2d, conf).value == pytest.approx(8.75, abs=1e-9)
    conf[1] = 0.0
    assert reprojection_error(joints, K, gt2d, conf).value == pytest.approx(5.0, abs=1e-9)
    joints[1, 1] = np.nan
    assert reprojection_error(joints, K, gt2d) == pytest.approx(((5 * 2 + 10) / 3, 1), abs=1e-9)


def test_pck_counts_joints_within_a_tenth_of_the_box_max_side():
    gt2d = np.full((2, 1, 24, 2), 500.0)
    pred2d = gt2d.copy()
    boxes = np.array([[[0, 0, 100, 50]], [[0, 0, 40, 200]]], dtype=float)  # thresholds 10, 20 px
    pred2d[0, 0, list(SCORED_JOINTS[:10]), 0] += 5.0  # hits
    pred2d[0, 0, list(SCORED_JOINTS[10:]), 1] += 15.0  # 4 misses
    pred2d[1, 0, :, 0] += 15.0  # 14 hits under 20 px
    pred2d[:, :, LEFT_HAND] = 1e6  # unscored joints do not count
    assert pck(pred2d, gt2d, boxes) == pytest.approx((24 / 28, 0))
    assert pck(pred2d, gt2d, boxes, alpha=0.06).value == pytest.approx(10 / 28)  # 6 and 12 px
    gt2d[0, 0, SCORED_JOINTS[0]] = np.nan  # a hit with no ground truth is skipped
    assert pck(pred2d, gt2d, boxes).value == pytest.approx(23 / 27)
    pred2d[1] = np.nan  # person 1 unknown: excluded and counted
    assert pck(pred2d, gt2d, boxes) == pytest.approx((9 / 13, 1))


def test_score_sequence_matches_order_then_scores_and_is_json_serialisable():
    K = np.array([[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]])
    joints = two_people(frames=3)
    joints[0, :, LEFT_HAND] = [0.4, 0.0, 3.0]
    joints[1, :, RIGHT_HAND] = [0.47, 0.0, 3.0]
    vertices = joints[:, :, :6].copy()
    gt = {
        "joints": joints,
        "vertices": vertices,
        "K": K,
        "joints2d": project(joints, K),
        "boxes": np.array([[[300, 100, 700, 600]] * 3, [[600, 100, 1000, 600]] * 3], dtype=float),
        "contact_pairs": np.array([[0, LEFT_HAND, RIGHT_HAND], [2, LEFT_HAND, RIGHT_HAND]]),
        "contact_parts": [(0, "left_hand", "right_hand"), (2, "left_hand", "right_hand")],
    }
    pred = {
        "joints": joints[[1, 0]].astype(np.float32),
        "vertices": vertices[[1, 0]],
        "K": K,
        "contact_parts": [(0, "right_hand", "left_hand"), (2, "right_hand", "left_hand")],
        "penetration": np.zeros((2, 3, 6)),
    }
    scores = score_sequence(pred, gt)
    assert scores["person_order"] == [1, 0] and scores["identity_swaps"] == 0
    assert scores["frames"] == 3
    for name in ("mpjpe", "pa_mpjpe", "joint_pa_mpjpe", "accel_error", "inter", "mpvpe",
                 "reprojection_error", "contact_distance_error"):
        assert scores[name] == pytest.approx(0.0, abs=1e-2), name  # float32 input
        assert scores[f"{name}_excluded"] == 0, name
    assert scores["pck"] == 1.0
    assert (scores["contact_precision"], scores["contact_recall"], scores["contact_f1"]) == (1.0, 1.0, 1.0)
    assert scores["pcc@50mm"] == 0.0 and scores["pcc@100mm"] == 1.0  # the hands are 70 mm apart
    assert (scores["penetration_mean"], scores["penetration_max"]) == (0.0, 0.0)
    # Overlapping boxes but equal root depths (3 m): no frame counts.
    assert math.isnan(scores["depth_order_accuracy"]) and scores["depth_order_frames"] == 0
    assert json.loads(json.dumps(scores))["person_order"] == [1, 0]
    assert all(type(v) in (float, int, list) for v in scores.values())


def test_score_sequence_computes_only_what_its_inputs_allow():
    gt = two_people()
    scores = score_sequence({"joints": gt}, {"joints": gt})
    assert "mpvpe" not in scores and "pck" not in scores and "depth_order_accuracy" not in scores
    assert scores["mpjpe"] == 0.0


def _standing(scale: float = 1.0) -> np.ndarray:
    """[24, 3] a hand-built standing SMPL-24 skeleton (camera frame, y down, 4 m away): a 0.6 m
    spine chain from the head joint to the pelvis and 0.4 m thighs and shins, times ``scale``."""
    from interaction_recon.body.skeleton import SMPL_JOINTS

    j = np.zeros((24, 3))
    spine = {"pelvis": 0.0, "spine1": -0.1, "spine2": -0.2, "spine3": -0.3, "neck": -0.45, "head": -0.6}
    for name, y in spine.items():
        j[SMPL_JOINTS.index(name)] = (0.0, y, 0.0)
    for side, x in (("left", 0.1), ("right", -0.1)):
        for name, y in (("hip", 0.05), ("knee", 0.45), ("ankle", 0.85)):
            j[SMPL_JOINTS.index(f"{side}_{name}")] = (x, y, 0.0)
        j[SMPL_JOINTS.index(f"{side}_foot")] = (x, 0.9, -0.1)
    return j * scale + (0.0, 0.0, 4.0)


def test_body_length_keeps_a_persons_size_when_the_knees_bend_and_body_size_does_not():
    from interaction_recon.body.skeleton import SMPL_JOINTS
    from interaction_recon.eval.plausible import body_length, body_size

    bent = _standing()
    for side in ("left", "right"):  # the knees 0.2 m forward, the bones as long
        hip, knee, ankle = (SMPL_JOINTS.index(f"{side}_{n}") for n in ("hip", "knee", "ankle"))
        bent[knee] = bent[hip] + (0.0, math.sqrt(0.4 ** 2 - 0.2 ** 2), -0.2)
        bent[ankle] = bent[knee] + (0.0, math.sqrt(0.4 ** 2 - 0.2 ** 2), 0.2)
    assert body_length(_standing()) == pytest.approx(1.4) and body_length(bent) == pytest.approx(1.4)
    assert body_size(bent) < body_size(_standing()) - 0.1


def test_plausibility_sizes_each_person_a_slot_holds_not_the_slot():
    """A slot holds a 1.4 m person, then (the pair changed) a 0.98 m one: each is measured
    alone; the slot's median would mix them."""
    from interaction_recon.eval.plausible import plausibility

    joints = np.stack([np.stack([_standing()] * 10 + [_standing(0.7)] * 12), np.stack([_standing(1.1)] * 22)])
    ids = np.array([[5] * 10 + [7] * 12, [6] * 22])
    people = plausibility(joints, ids)["people"]
    assert sorted(people) == [5, 6, 7]
    assert [people[i]["length"] for i in (5, 6, 7)] == pytest.approx([1.4, 1.54, 0.98], abs=1e-3)
    assert people[5]["frames"] == 10 and people[7]["frames"] == 12
