"""The window optimiser: both people's motion over one window of frames from 2D keypoints.

A cold window starts from :func:`interaction_recon.fitting.init.initial_params`, aligns
orientation and translation first, then optimises everything under all terms. A warm
window starts from the previous window's solution on the overlap (extrapolated into the new
frames) and optimises only its newest ``refit_frames``; the older frames stay as they were
and anchor the smoothness term, so consecutive windows join without jumps.

With ``fitting.prior`` the proxemics prior (:mod:`interaction_recon.prior`) joins the two-person
stages: as a diffuse-and-denoise regulariser, or CloseApp-style as the motion itself (the
network's output from the current start, its weights fine-tuned under the same losses and
carried from window to window).

The window's pieces: :mod:`~interaction_recon.fitting.job` (what a fit is given),
:mod:`~interaction_recon.fitting.motion` (how the motion is parameterised),
:mod:`~interaction_recon.fitting.objective` (the variables, the loss and one Adam stage);
here, the stages in turn and the result.
"""
from __future__ import annotations

import logging
import threading

import numpy as np
import torch
from scipy.ndimage import uniform_filter1d

from interaction_recon.body.collision import BodyCollider
from interaction_recon.body.model import BodyModel, BodyParams
from interaction_recon.config import FittingConfig
from interaction_recon.contact.evidence import ContactEstimator, Evidence
from interaction_recon.fitting import contacts as contact_est
from interaction_recon.fitting import floor, pose3d, reach, scale, stance
from interaction_recon.fitting.camera import check_intrinsics, project
from interaction_recon.fitting.init import DEFAULT_HEIGHT, initial_params, keypoint_heights, model_keypoints, observed
from interaction_recon.fitting.job import WindowJob, shares_frames
from interaction_recon.fitting.objective import WindowState
from interaction_recon.fitting.result import Reconstruction, position_errors, unseen_factor
from interaction_recon.fitting.visibility import joint_confidence, joint_evidence, usable_confidence

log = logging.getLogger(__name__)
CONFIDENCE_FRAMES = 15  # observed frames a person's confidence is averaged over
# the prior and the reach term need the pair within fitting.prior_max_distance for this share of a window
PRIOR_DISTANCE_QUANTILE = 0.25
MIN_DEPTH_FRAMES = 3  # frames with sensor depth a person needs to be sized by it


class Cancelled(RuntimeError):
    """A fit abandoned by :meth:`WindowFitter.cancel` (the node is shutting down)."""


class WindowFitter:
    """Fits :class:`WindowJob` s; holds the body model, the collider and the config."""

    def __init__(self, body: BodyModel, config: FittingConfig | None = None, collider: BodyCollider | None = None):
        self.body = body
        self.config = config or FittingConfig()
        self.collider = collider or BodyCollider(body)
        self.contacts = ContactEstimator(self.config.contact)
        self.prior = None
        self.cancelled = threading.Event()  # set: every optimisation step raises Cancelled
        self._prior_weights = None  # closeapp: the fine-tuned network of the last window
        if self.config.prior not in ("none", "regulariser", "closeapp"):
            raise ValueError(f"fitting.prior must be none, regulariser or closeapp, got {self.config.prior!r}")
        if self.config.floor_sizing_up not in ("spine", "pitch"):
            raise ValueError(f"fitting.floor_sizing_up must be spine or pitch, got {self.config.floor_sizing_up!r}")
        if not 0.0 <= self.config.shin_pitch_share <= 1.0:
            raise ValueError(f"fitting.shin_pitch_share must be within [0, 1], got {self.config.shin_pitch_share}")
        if self.config.prior != "none" and body.name != "anny":
            log.warning("fitting.prior %r is off: the prior's motions carry anny's shape phenotypes, not %s's",
                        self.config.prior, body.name)
        elif self.config.prior != "none":
            from interaction_recon.prior.guidance import load_prior

            self.prior = load_prior(self.config.prior_path, device=body.faces.device)

    def cancel(self) -> None:
        """Abandon the fit in progress (and every later one) at its next optimisation step."""
        self.cancelled.set()

    def check(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled("window fit abandoned")

    # ------------------------------------------------------------------ observations
    def _observations(self, job: WindowJob):
        cfg, dev = self.config, self.body.faces.device
        if job.keypoints.ndim != 4 or job.keypoints.shape[0] != 2 or job.confidence.shape != job.keypoints.shape[:3]:
            raise ValueError(f"keypoints must be [2, T, K, 2] with confidence [2, T, K], got "
                             f"{job.keypoints.shape} and {job.confidence.shape}")
        conf = usable_confidence(job.keypoints, job.confidence, cfg.min_confidence, job.layout, cfg.ignored_keypoints)
        kp = np.nan_to_num(job.keypoints).astype(np.float32)
        seen = observed(conf, cfg.min_confidence)
        scale = np.full(seen.shape, DEFAULT_HEIGHT, dtype=np.float32)
        heights = keypoint_heights(kp, conf)
        for p in range(2):  # box height of the confident keypoints, interpolated over gaps
            h = heights[p]
            good = seen[p] & np.isfinite(h)
            if good.any():
                scale[p] = np.interp(np.arange(len(h)), np.flatnonzero(good), h[good])
        t = lambda a: torch.as_tensor(a, device=dev)
        return t(kp), t(conf), t(scale), seen, conf

    def _planted(self, job: WindowJob, conf_np: np.ndarray, scale: torch.Tensor) -> torch.Tensor | None:
        """[2, T, 2] bool planted ankles (fitting/stance.py), None when weights.planted is off."""
        cfg = self.config
        if not cfg.weights.planted:
            return None
        feet = stance.planted(job.keypoints, conf_np, scale.cpu().numpy(), job.layout, job.fps, cfg.planted_span,
                              cfg.planted_motion, cfg.min_confidence)
        return torch.as_tensor(feet, device=scale.device)

    def _frame_confidence(self, conf: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """[2, T] per-person confidence: mean keypoint confidence over the observed frames
        (``seen`` [2, T]), smoothed over CONFIDENCE_FRAMES of them, interpolated across the
        frames between (the caller lowers it with the gap: :func:`unseen_factor`)."""
        mean = conf.mean(-1)
        out = np.zeros(mean.shape, dtype=np.float64)
        for p in range(mean.shape[0]):
            if seen[p].any():
                idx = np.flatnonzero(seen[p])
                smooth = uniform_filter1d(mean[p, idx], size=CONFIDENCE_FRAMES, mode="nearest")
                out[p] = np.interp(np.arange(mean.shape[1]), idx, smooth)
        return np.clip(out, 0.0, 1.0)

    # ------------------------------------------------------------------ warm start
    def _predicted_keypoints(self, params: BodyParams, K: torch.Tensor, layout: str) -> torch.Tensor:
        with torch.no_grad():
            return project(model_keypoints(self.body(params), layout, self.config.keypoint_shift), K)

    def _identities_swapped(self, job: WindowJob, previous: Reconstruction, K: torch.Tensor) -> bool:
        """True when the previous window's people, re-projected on the overlap, match the
        job's slots better the other way round (the tracker swapped them)."""
        common, prev_pos, pos = np.intersect1d(previous.frames, job.frames, return_indices=True)
        if len(common) == 0:
            return False
        pred = self._predicted_keypoints(previous.select(prev_pos).params(K.device), K, job.layout).cpu().numpy()
        kp, conf = np.nan_to_num(job.keypoints[:, pos]), job.confidence[:, pos] >= self.config.min_confidence

        def err(order):
            e = np.linalg.norm(pred[list(order)] - kp, axis=-1)
            return (e * conf).sum() / max(conf.sum(), 1)

        same, swapped = err((0, 1)), err((1, 0))
        return swapped < self.config.swap_ratio * same

    def _warm_params(self, job: WindowJob, previous: Reconstruction, init: BodyParams) -> tuple[BodyParams, np.ndarray]:
        """Previous solution on the overlap; in the new frames the last overlap pose is held and
        the translation moves as this window's initialisation does. Returns params and the
        overlap mask [T]."""
        _, prev_pos, pos = np.intersect1d(previous.frames, job.frames, return_indices=True)
        prev = previous.select(prev_pos).params(init.transl.device)
        T = len(job.frames)
        last = int(pos.max())
        src = np.clip(np.arange(T), 0, last)  # positions to copy from (frames past the overlap: the last one)
        lookup = np.full(T, -1)
        lookup[pos] = np.arange(len(pos))
        take = torch.as_tensor(lookup[src], device=init.transl.device)
        orient, pose, transl = prev.global_orient[:, take], prev.body_pose[:, take], prev.transl[:, take]
        # New frames follow this window's own initialisation, offset to join the overlap's end.
        new = torch.as_tensor(np.arange(T) > last, device=transl.device)
        transl = torch.where(new[None, :, None], init.transl - init.transl[:, last:last + 1] + transl[:, last:last + 1],
                             transl)
        # A person the previous window never saw starts from this window's own initialisation.
        unseen = previous.confidence.max(1) <= 0
        for p in np.flatnonzero(unseen):
            orient[p], pose[p], transl[p] = init.global_orient[p], init.body_pose[p], init.transl[p]
        mask = np.zeros(T, dtype=bool)
        mask[pos] = True
        return BodyParams(orient, pose, transl, prev.shape), mask

    # ------------------------------------------------------------------ optimisation
    def fit(self, job: WindowJob, previous: Reconstruction | None = None) -> Reconstruction:
        """Optimise one window; warm-started when ``previous`` shares frames with it."""
        cfg = self.config
        K_np = check_intrinsics(job.K)
        K = torch.as_tensor(K_np, dtype=torch.float32, device=self.body.faces.device)
        warm = shares_frames(job, previous, cfg.cold_on_new_person)
        if not warm and shares_frames(job, previous):
            log.info("a new person in window %d-%d: fitted cold", int(job.frames[0]), int(job.frames[-1]))
        if warm and self._identities_swapped(job, previous, K):
            log.info("identities swapped by the tracker before frame %d: restored", int(job.frames[0]))
            job = job.swapped()
        kp, conf, scale, seen, conf_np = self._observations(job)
        T = kp.shape[1]
        init, depth_est = initial_params(self.body, job.keypoints, conf_np, job.layout, K_np, cfg.min_confidence,
                                         cfg.depth_witness_tolerance)
        overlap = np.zeros(T, dtype=bool)
        if warm:
            start, overlap = self._warm_params(job, previous, init)
            first = max(0, T - cfg.refit_frames) if overlap[: max(0, T - cfg.refit_frames)].all() else 0
        else:
            start, first = init, 0
        prev_joints = None
        if warm:
            with torch.no_grad():
                prev_joints = self.body(start).joints
        depth = torch.as_tensor(np.nan_to_num(depth_est, nan=1.0), dtype=torch.float32, device=K.device)
        touching = torch.as_tensor(contact_est.boxes_touch(job.keypoints, conf_np, cfg.min_confidence), device=K.device)
        frame_conf = self._frame_confidence(conf_np, seen)  # [2, T]
        weight = torch.as_tensor(frame_conf.min(0), dtype=torch.float32, device=K.device)
        measured = self._measured_depth(job, K.device)
        state = WindowState(self, job, start, first, kp, conf, scale, depth, torch.as_tensor(seen, device=K.device),
                       K, prev_joints, torch.as_tensor(overlap, device=K.device), touching, weight,
                       self._bone_targets(job, conf_np, K_np), measured, self._planted(job, conf_np, scale))
        state.set_up(self._up(state, estimate=False))
        if not warm:
            sized = self._size_from_depth(state)
            state.follow_landmarks(cfg.iterations_pose3d)
            state.run(cfg.iterations_rigid, rigid=True, optimise_shape=False)
            if cfg.two_person:
                # each person's own fit first, then the stage that relates the two (with
                # weights.evidence, the keypoints held where this fit put them)
                state.run(cfg.iterations_alone, rigid=False, optimise_shape=False, together=False)
                if cfg.floor_sizing and not sized:
                    self._size_from_floor(state)
                if cfg.weights.evidence:
                    state.hold_evidence()
            state.set_up(self._up(state))  # a pitch estimated from the people as they were placed and sized
            self._attach_prior(state, job, K)
            self._attach_reach(state, job, conf_np)
            evidence = self._contact_evidence(job, conf_np, seen, state)
            sized_absolutely = cfg.two_person and state.camera is not None
            state.run(cfg.iterations_known_floor if sized_absolutely else cfg.iterations, rigid=False, optimise_shape=True)
        else:
            state.set_up(self._up(state))
            self._attach_prior(state, job, K)
            self._attach_reach(state, job, conf_np)
            evidence = self._contact_evidence(job, conf_np, seen, state)
            state.run(cfg.iterations_warm, rigid=False, optimise_shape=False)
        if state.source is not None:
            self._prior_weights = state.source.state_dict()
        has_depth = np.zeros(seen.shape, bool) if measured is None else torch.isfinite(measured).cpu().numpy()
        return self._result(job, state.params(), frame_conf, seen, evidence, state.floor_up, has_depth, state.camera)

    def _contact_evidence(self, job: WindowJob, conf_np: np.ndarray, seen: np.ndarray, state: WindowState) -> Evidence:
        """The window's contact evidence (:mod:`interaction_recon.contact`) from the keypoints and
        the state's current fit (each person's own, before the terms that relate the two), with
        the job's external contacts; handed to the state as the pairs the contact term pulls."""
        told = [(int(np.flatnonzero(job.frames == f)[0]), a, b, c) for f, a, b, c in job.contacts
                if (job.frames == f).any()]
        points = None
        if self.config.contact.source != "none" and job.layout == "blazepose33":  # the sources read the fit's points
            with torch.no_grad():
                points = self.body(state.params(), collision=False).blazepose33.cpu().numpy()
        evidence = self.contacts.window(job.keypoints, conf_np, points, seen.all(0), told, self.config.min_confidence)
        state.external = [(t - state.lo, a, b, p) for t, a, b, p in evidence.pairs() if t >= state.lo]
        return evidence

    def _bone_targets(self, job: WindowJob, conf_np: np.ndarray, K_np: np.ndarray):
        """(unit bone directions [2, T, B, 3], weights [2, T, B]) from the job's 3D landmarks
        (:mod:`interaction_recon.fitting.pose3d`), or None without landmarks or weight."""
        if job.world is None or not self.config.weights.pose3d or job.layout != "blazepose33":
            return None
        cam = pose3d.camera_landmarks(job.world, job.keypoints, conf_np, K_np, self.config.min_confidence)
        unit, weight = pose3d.bone_targets(cam, conf_np, self.config.min_confidence, self.config.pose3d_depth_gain,
                                          self.config.pose3d_frame, self.config.pose3d_smoothing)
        if not weight.any():
            return None
        dev = self.body.faces.device
        return torch.as_tensor(unit, device=dev), torch.as_tensor(weight, device=dev)

    def _attach_prior(self, state: WindowState, job: WindowJob, K: torch.Tensor) -> None:
        """Give the state the prior's condition and, for closeapp, the prior's motion (from the
        state's current parameters, with the previous window's fine-tuned weights)."""
        if self.prior is None or not self.config.two_person:
            return
        distance = state.pelvis_distance(PRIOR_DISTANCE_QUANTILE)
        if distance > self.config.prior_max_distance:
            log.info("window from frame %d: the pair is within %.2f m in only a quarter of the frames, beyond "
                     "fitting.prior_max_distance; no prior", int(job.frames[0]), distance)
            return
        from interaction_recon.prior.guidance import PriorMotion, PriorRegulariser, condition

        state.cond = condition(job.keypoints, job.confidence, K.cpu().numpy(), job.layout).to(K.device)
        if self.config.prior == "regulariser":
            state.regulariser = PriorRegulariser(self.prior, generator=torch.Generator().manual_seed(0))
            return
        with torch.no_grad():
            start = state.params()
        state.source = PriorMotion(self.prior, state.cond, start)
        if self._prior_weights is not None:
            state.source.load_state_dict(self._prior_weights)
        state.rebase(start)

    def _attach_reach(self, state: WindowState, job: WindowJob, conf_np: np.ndarray) -> None:
        """Give the state the hands drawn on the other person (:mod:`interaction_recon.fitting.reach`)
        for weights.reach, when the pair is within reach as the prior's gate has it."""
        cfg = self.config
        if not (cfg.weights.reach and cfg.two_person and job.layout == "blazepose33"):
            return
        if state.pelvis_distance(PRIOR_DISTANCE_QUANTILE) > cfg.prior_max_distance:
            return
        pairs = reach.reach_pairs(job.keypoints, conf_np, cfg.min_confidence, cfg.reach_radius,
                                   cfg.reach_held_out)
        state.reach = reach.as_tensor(pairs, state.lo, state.kp.device)

    def camera(self, job: WindowJob) -> tuple[float, np.ndarray] | None:
        """(height m, the floor's up [3] in the camera frame) of the camera over the floor: the
        known pose (fitting.camera_height / camera_pitch / camera_roll), else one estimated from
        everyone's boxes over the last fitting.horizon_memory s (:func:`floor.camera_from_boxes`:
        people of one height at different distances, fitting.horizon_min_people, box_height),
        else None."""
        cfg = self.config
        if cfg.camera_height > 0:
            return cfg.camera_height, floor.up_vector(cfg.camera_pitch, cfg.camera_roll)
        if job.everyone is None:
            return None
        found = floor.camera_from_boxes(job.everyone, job.K, job.image_size, cfg.box_height, cfg.horizon_min_people,
                                        cfg.horizon_min_ratio, cfg.horizon_max_sd, cfg.horizon_max_sole_deg)
        if found is None and cfg.pair_camera and job.world is not None and job.layout == "blazepose33":
            landmarks = pose3d.camera_landmarks(job.world, job.keypoints, job.confidence, job.K, cfg.min_confidence)
            pitch = floor.pitch_from_shins(landmarks, job.confidence)
            height = None if pitch is None else floor.height_from_boxes(job.everyone, job.K, job.image_size, pitch,
                                                                         cfg.box_height)
            found = None if height is None else (height, pitch)
        if found is None:
            return None
        log.debug("camera %.2f m above the floor, pitched %.1f deg, from everyone's boxes", *found)
        return found[0], floor.up_vector(found[1], 0.0)

    def _up(self, state: WindowState, estimate: bool = True) -> torch.Tensor | None:
        """The floor's up [3] for the feet-on-floor and upright terms: the camera's
        (:meth:`camera`), else (``estimate``) one with the pitch estimated from the
        people at different distances in the window's keypoints (fitting.horizon_min_ratio),
        or from the 3D landmarks' shins (fitting.shin_pitch) and the state's current fit with
        fitting.assumed_camera_height (mixed by fitting.shin_pitch_share where both give one),
        or from either alone, else None (no such terms)."""
        cfg = self.config
        if state.camera is not None:
            up = state.camera[1]
        elif cfg.assumed_camera_height > 0 and estimate:
            job = state.job
            pitch = floor.pitch_from_horizon(job.keypoints, job.confidence, job.K, job.layout, cfg.horizon_min_ratio,
                                             max_sole_deg=cfg.horizon_max_sole_deg, sharpness=cfg.horizon_sharpness)
            if pitch is not None:
                log.debug("pitch %.1f deg from people of one height at different distances", pitch)
            else:
                shins = None
                if cfg.shin_pitch and job.world is not None and job.layout == "blazepose33":
                    landmarks = pose3d.camera_landmarks(job.world, job.keypoints, job.confidence, job.K,
                                                        cfg.min_confidence)
                    shins = floor.pitch_from_shins(landmarks, job.confidence)
                height = None
                if shins is None or cfg.shin_pitch_share < 1:
                    with torch.no_grad():
                        joints = self.body(state.params(whole=False), collision=False).joints
                    height = floor.pitch_from_height(joints, state.seen, cfg.assumed_camera_height)
                if shins is None and height is None:
                    return None
                pitch = (shins if height is None else height if shins is None
                         else cfg.shin_pitch_share * shins + (1 - cfg.shin_pitch_share) * height)
                log.debug("pitch %.1f deg from the 3D landmarks' shins (%s) and an assumed camera height of "
                          "%.2f m (%s)", pitch, shins, cfg.assumed_camera_height, height)
            up = floor.up_vector(pitch, 0.0)
        else:
            return None
        return torch.as_tensor(up, dtype=torch.float32, device=state.kp.device)

    def _measured_depth(self, job: WindowJob, device) -> torch.Tensor | None:
        """Each person's pelvis depth [2, T] (m, NaN where none) from the job's sensor depth:
        the visible surface's median plus fitting.depth_surface_offset; None without any."""
        if job.depth is None or not np.isfinite(job.depth).any() or not self.config.weights.depth_sensor:
            return None
        return torch.as_tensor(job.depth + self.config.depth_surface_offset, dtype=torch.float32, device=device)

    def _size_from_depth(self, state: WindowState) -> bool:
        """Resize each person with sensor depth so that the pelvis lies at the measured depth
        (the median ratio over the frames that have one; :func:`scale.rescale_about_camera`):
        the depth sensor, not the average body, fixes distance and size. Returns whether
        anyone was resized (then the floor sizing is skipped)."""
        if state.measured is None:
            return False
        with torch.no_grad():
            params = state.params()
            z = self.body(params, collision=False).joints[:, state.lo:, 0, 2]
        ratio = (state.measured / z.clamp_min(0.1)).cpu().numpy()
        factors = np.ones(2)
        for p in range(2):
            good = np.isfinite(ratio[p])
            if good.sum() >= MIN_DEPTH_FRAMES:
                factors[p] = float(np.median(ratio[p, good]))
        if (factors == 1).all():
            return False
        params, reached = scale.rescale_about_camera(self.body, params, factors)
        log.debug("depth sizing: factors %s", reached.tolist())
        state.rebase(params)
        state.depth = state.depth * reached[:, None]
        return True

    def _size_from_floor(self, state: WindowState) -> None:
        """Resize both people (each fitted alone) so their feet share one floor
        (:mod:`interaction_recon.fitting.scale`): the floor the camera's height (:meth:`camera`)
        below it when there is one; else their size ratio from the floor, and the pair's overall
        size from fitting.pair_stature (0: the size the pair has, the model's average body). The
        depth estimates move with them."""
        cfg = self.config
        with torch.no_grad():
            params = state.params()
            joints = self.body(params, collision=False).joints
        if state.camera is not None:
            asked = scale.height_factors(joints, state.seen.all(0), state.camera[0], up=state.camera[1])
        else:
            up = self._up(state) if cfg.floor_sizing_up == "pitch" else None
            ratio = scale.ground_ratio(joints, state.seen.all(0), tolerance_deg=cfg.floor_sizing_tolerance,
                                       up=None if up is None else up.cpu().numpy())
            asked = None if ratio is None else scale.split_ratio(ratio)
            if cfg.pair_stature > 0:
                mean = float(self.body.height(params.shape).log().mean().exp())  # the pair's geometric mean, m
                asked = (np.ones(2) if asked is None else asked) * cfg.pair_stature / mean
        if asked is None:
            return
        params, factors = scale.rescale_about_camera(self.body, params, asked)
        log.debug("floor sizing: factors %s", factors.tolist())
        state.rebase(params)
        state.depth = state.depth * factors[:, None]
        if self.config.shape_prior_sized:
            state.centre_shapes()

    def _result(self, job: WindowJob, params: BodyParams, frame_conf: np.ndarray, seen: np.ndarray,
                evidence: Evidence, up: torch.Tensor | None, has_depth: np.ndarray,
                camera: tuple[float, np.ndarray] | None) -> Reconstruction:
        """frame_conf [2, T]: :meth:`_frame_confidence`; seen [2, T] observed frames; the
        window's contact evidence (its contacts are reported where both people are published);
        the floor's up [3] the fit used (:meth:`_up`), None if none; has_depth [2, T] where the
        fit had a depth-sensor distance; camera: (height, up) over the floor (:meth:`camera`) or None."""
        with torch.no_grad():
            out = self.body(params)
        confidence = frame_conf * unseen_factor(seen, job.stamps, self.config.max_unseen)
        joints = out.joints.cpu().numpy().copy()
        known = confidence > 0  # [2, T]: frames published for each person
        joints[~known] = np.nan
        confidence[~known] = 0.0
        found = contact_est.report(out, self.body.collision_coarse_parts, job.frames, evidence, known.all(0))
        p = params.map(lambda t: t.detach().cpu().numpy())
        return Reconstruction(
            frames=job.frames.astype(np.int64), stamps=job.stamps.astype(np.float64), global_orient=p.global_orient,
            body_pose=p.body_pose, transl=p.transl, shape=p.shape, joints=joints.astype(np.float32),
            confidence=confidence.astype(np.float32), track_ids=np.asarray(job.track_ids, dtype=np.int64),
            K=job.K.astype(np.float64), fps=job.fps, body_model=self.body.name, contacts=found,
            contact_evidence=evidence.available & known.all(0),
            joint_confidence=joint_confidence(
                confidence, joint_evidence(job.keypoints, job.confidence, job.layout, job.image_size),
                self.config.unseen_joint_share),
            floor=(np.append(camera[1], camera[0]) if camera is not None
                   else floor.estimate(out.joints, torch.as_tensor(seen.all(0), device=out.joints.device), up)),
            position_error=position_errors(has_depth, self.config))


