"""The live per-frame estimate: the filter in front of the window smoother (DESIGN.md).

Each perceived frame is fitted on its own, warm-started from the previous frame's solution
moved by a constant-velocity prediction: a few Adam steps on the robust reprojection error,
the 3D landmarks' bone directions, the pull towards the prediction, the pose prior, joint
limits, the body-size depth estimate and, with the camera's pose over the floor known
(``fitting.camera_height`` / ``camera_pitch`` / ``camera_roll``), the feet on that floor. No
collision term runs here (it costs more than a frame's budget); the refined windows behind
it carry it. The proxemics prior can serve the
filter plug-and-play (``fitting.causal.prior``): once per frame the denoiser, through
onnxruntime, a TensorRT engine or PyTorch, sees the newest ``prior_frames`` of both people
diffused to a low noise level, and its clean newest frame becomes a joint target (no gradient
flows through the network; fine-tuning it stays with the windows). Each refined
window re-anchors the filter (:meth:`CausalFilter.anchor`): its shapes replace the filter's
and its pelvis positions at the newest frame both saw correct the filter's positions.

Output: a :class:`~interaction_recon.fitting.result.Reconstruction` of one frame (T = 1),
the same type as a window's, with no contacts (contact evidence needs the window).
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

from interaction_recon.body.model import BodyModel, BodyParams
from interaction_recon.config import CausalConfig, FittingConfig
from interaction_recon.prior.diffusion import Diffusion
from interaction_recon.prior.guidance import condition
from interaction_recon.prior.model import NUM_SHAPE, decode, encode
from interaction_recon.fitting import floor, losses, pose3d
from interaction_recon.fitting.camera import check_intrinsics, project
from interaction_recon.fitting.init import DEFAULT_HEIGHT, initial_params, keypoint_heights, model_keypoints, observed
from interaction_recon.fitting.result import Reconstruction, position_errors
from interaction_recon.fitting.scale import FOOT_ABOVE_FLOOR
from interaction_recon.fitting.visibility import joint_confidence, joint_evidence, usable_confidence
from interaction_recon.fitting.result import gap_factor

PRIORS = ("none", "onnx", "tensorrt", "torch")


def load_live_prior(causal: CausalConfig, checkpoint: str | None, device: str):
    """The denoiser runtime ``fitting.causal.prior`` names (None for none): a callable
    (x_t, step, cond) -> x0 with the model's ``cfg`` and statistics (prior/export.py)."""
    from interaction_recon.prior.export import RuntimeConfig, make_runtime

    if causal.prior not in PRIORS:
        raise ValueError(f"fitting.causal.prior must be one of {PRIORS}, got {causal.prior!r}")
    if causal.prior == "none":
        return None
    cuda = str(device).startswith("cuda")
    return make_runtime(RuntimeConfig(
        causal.prior, checkpoint=checkpoint, device=device,
        onnx_path=causal.prior_path if causal.prior == "onnx" else None,
        engine_path=causal.prior_path if causal.prior == "tensorrt" else None,
        providers=["CUDAExecutionProvider", "CPUExecutionProvider"] if cuda else ["CPUExecutionProvider"]))


class CausalFilter:
    """Per-frame two-person estimate from the newest observations only (no future frames).

    ``update(people, stamp, K)`` -> one-frame Reconstruction; ``anchor(refined)`` after each
    refined window. Not thread-safe: one caller (the node's perception thread).
    """

    def __init__(self, body: BodyModel, config: FittingConfig | None = None, layout: str = "blazepose33",
                 prior=None):
        """prior: a denoiser runtime (default: the one ``config.causal.prior`` names)."""
        self.body, self.config, self.layout = body, config or FittingConfig(), layout
        if prior is None and self.causal.prior != "none":
            prior = load_live_prior(self.causal, self.config.prior_path, str(body.faces.device))
        if prior is not None and body.num_shape != NUM_SHAPE:
            raise ValueError(f"the prior models anny's {NUM_SHAPE} shape phenotypes; body {body.name!r} has "
                             f"{body.num_shape}: set fitting.causal.prior to none")
        if prior is not None and self.causal.prior_frames < 2:
            raise ValueError(f"fitting.causal.prior_frames must be at least 2, got {self.causal.prior_frames}")
        self.prior = prior
        self.diffusion = Diffusion.for_model(prior) if prior is not None else None
        cfg = self.config  # the known floor's up [3] (fitting/floor.py), built once: None without a camera height
        self._known_up = (torch.as_tensor(floor.up_vector(cfg.camera_pitch, cfg.camera_roll), dtype=torch.float32)
                          if cfg.camera_height > 0 else None)
        self.reset()

    @property
    def causal(self) -> CausalConfig:
        return self.config.causal

    def reset(self) -> None:
        """Forget every person (e.g. after a gap in the stream)."""
        self.params: BodyParams | None = None  # [2, 1]
        self.velocity = np.zeros((2, 3))  # m/s of each pelvis
        self.last_seen = np.full(2, -np.inf)  # stamp each person was last observed
        self.seen_confidence = np.zeros(2)  # mean keypoint confidence when last observed
        self.track_ids = np.full(2, -1, np.int64)
        self.stamp: float | None = None
        self.pelvis: OrderedDict = OrderedDict()  # frame -> pelvis [2, 3] published, for re-anchoring
        self._variables: list[torch.Tensor] | None = None  # orientation, pose, translation [2, 1, ...]
        self._opt: torch.optim.Adam | None = None  # kept from frame to frame: its moment estimates scale the steps
        self.recent: list[tuple[BodyParams, torch.Tensor]] = []  # the prior's context: (params [2, 1], cond [2, 1, 33, 3])
        self._noise = torch.Generator().manual_seed(0)
        self.window_up: torch.Tensor | None = None  # [3] the floor's up of the last anchored window

    # ------------------------------------------------------------------ per frame
    def update(self, people, stamp: float, K: np.ndarray, frame: int | None = None) -> Reconstruction:
        """people: ``keypoints [2, K, 2]`` px, ``confidence [2, K]``, ``track_ids [2]``, optional
        ``world [2, 33, 3]``, ``depth [2]`` (m from a depth sensor, NaN where none) and ``index``;
        stamp s; K [3, 3]. Returns the frame's estimate."""
        cfg = self.config
        K = check_intrinsics(K)
        frame = int(getattr(people, "index", 0) if frame is None else frame)
        kp = np.asarray(people.keypoints, np.float32)[:, None]  # [2, 1, K, 2]
        conf = np.asarray(people.confidence, np.float32)[:, None]
        if kp.ndim != 4 or kp.shape[0] != 2 or conf.shape != kp.shape[:3]:
            raise ValueError(f"expected keypoints [2, K, 2] and confidence [2, K], got {kp.shape[::2]} and {conf.shape}")
        conf = usable_confidence(kp, conf, cfg.min_confidence, self.layout, cfg.ignored_keypoints)
        kp = np.nan_to_num(kp)
        seen = observed(conf, cfg.min_confidence)[:, 0]  # [2]
        ids = np.asarray(people.track_ids, np.int64)
        dt = 0.0 if self.stamp is None else float(np.clip(stamp - self.stamp, 0.0, self.causal.max_gap))
        init, depth = initial_params(self.body, kp, conf, self.layout, K, cfg.min_confidence, cfg.depth_witness_tolerance)
        measured = self._measured(people, seen)
        fresh = seen & ((stamp - self.last_seen > self.causal.max_gap) | (ids != self.track_ids))
        if measured is not None and (self.params is None or fresh.any()):
            init = self._at_depth(init, measured)  # a new person starts at the sensor's depth, not the average body's
        if self.params is None:
            self.params = init
        start = self._predict(dt)
        for p in np.flatnonzero(fresh):  # a person new to this slot starts from this frame's own guess
            start.global_orient[p], start.body_pose[p], start.transl[p] = (init.global_orient[p], init.body_pose[p],
                                                                          init.transl[p])
            self.velocity[p] = 0.0
        iterations = self.causal.cold_iterations if fresh.any() else self.causal.iterations
        if fresh.any():
            self.recent.clear()  # the context belongs to whoever held the slot before
        cond = condition(kp, conf, K, self.layout) if self.prior is not None else None
        prior_joints = self._prior_joints(start, cond)
        params, out = self._optimise(start, kp, conf, seen, depth, K, people, iterations, fresh, prior_joints,
                                     measured)
        if cond is not None:
            self.recent = (self.recent + [(params, cond)])[-(self.causal.prior_frames - 1):]
        if self.stamp is not None and dt > 0:
            moved = (params.transl - self.params.transl)[:, 0].numpy() / dt
            keep = seen & ~fresh
            self.velocity[keep] = (1 - self.causal.velocity_gain) * self.velocity[keep] + self.causal.velocity_gain * moved[keep]
        self.params, self.stamp = params, float(stamp)
        self.last_seen[seen] = stamp
        self.seen_confidence[seen] = conf.mean(-1)[seen, 0]
        self.track_ids = np.where(seen, ids, self.track_ids)
        joints = out.joints.numpy()  # [2, 1, 24, 3]
        self.pelvis[frame] = joints[:, 0, 0].copy()
        while len(self.pelvis) > self.causal.history:
            self.pelvis.popitem(last=False)
        # the confidence when last seen, lowered linearly with the time since (0 after max_unseen)
        confidence = self.seen_confidence * gap_factor(stamp - self.last_seen, cfg.max_unseen)
        joints[confidence <= 0] = np.nan
        p = params.map(lambda t: t.numpy())
        return Reconstruction(
            frames=np.array([frame], np.int64), stamps=np.array([stamp], np.float64), global_orient=p.global_orient,
            body_pose=p.body_pose, transl=p.transl, shape=p.shape, joints=joints.astype(np.float32),
            confidence=confidence[:, None].astype(np.float32), track_ids=self.track_ids.copy(), K=K,
            fps=1.0 / dt if dt > 0 else 0.0, body_model=self.body.name,
            joint_confidence=joint_confidence(
                confidence[:, None], joint_evidence(kp, conf, self.layout, getattr(people, "image_size", None)),
                cfg.unseen_joint_share),
            position_error=position_errors(
                np.isfinite(measured.numpy()) if measured is not None else np.zeros((2, 1), bool), cfg))

    def _measured(self, people, seen: np.ndarray) -> torch.Tensor | None:
        """Pelvis depth [2, 1] (m, NaN where none) from the people's sensor depth (plus
        fitting.depth_surface_offset) where they are seen; None without any."""
        depth = getattr(people, "depth", None)
        if depth is None or not self.config.weights.depth_sensor:
            return None
        d = np.where(seen, np.asarray(depth, np.float32).reshape(2), np.nan) + self.config.depth_surface_offset
        return torch.as_tensor(d, dtype=torch.float32)[:, None] if np.isfinite(d).any() else None

    def _at_depth(self, params: BodyParams, measured: torch.Tensor) -> BodyParams:
        """params [2, 1] with each measured person's pelvis moved along its camera ray to the
        measured depth [2, 1] (the picture unchanged)."""
        with torch.no_grad():
            rest = self.body.rest(params.shape).joints[:, 0, 0][:, None]  # [2, 1, 3] rest pelvis
            pelvis = params.transl + rest
            ratio = torch.where(torch.isfinite(measured), measured / pelvis[..., 2].clamp_min(0.1), torch.ones_like(measured))
        return BodyParams(params.global_orient, params.body_pose, ratio[..., None] * pelvis - rest, params.shape)

    def _predict(self, dt: float) -> BodyParams:
        """The previous solution, pelvis moved by the velocity over ``dt`` s (pose held)."""
        prev = self.params.map(lambda t: t.detach().clone())
        prev.transl = prev.transl + torch.as_tensor(self.velocity * dt, dtype=prev.transl.dtype)[:, None]
        return prev

    def _prior_joints(self, start: BodyParams, cond: torch.Tensor | None) -> torch.Tensor | None:
        """The prior's newest frame [2, 1, 24, 3] given the last ``prior_frames - 1`` solutions
        and the prediction ``start`` [2, 1] (cond [2, 1, 33, 3] this frame's observations),
        None until that much context exists or without a prior."""
        c = self.causal
        if cond is None or len(self.recent) < c.prior_frames - 1:
            return None
        frames = [p for p, _ in self.recent] + [start]
        motion = BodyParams(*(torch.cat([getattr(p, k) for p in frames], 1) for k in ("global_orient", "body_pose", "transl")),
                            start.shape)
        with torch.no_grad():
            x = encode(motion)[None]  # [1, 2, F, D]
            step = torch.full((1,), max(1, round(c.prior_level * self.diffusion.steps)), dtype=torch.long)
            noise = torch.randn(x.shape, generator=self._noise)
            x_t = self.diffusion.q_sample(x, step, noise)
            x0 = self.prior(x_t, step.float(), torch.cat([q for _, q in self.recent] + [cond], 1)[None])
            target = decode(x0[0, :, -1:].to(x))
            target.shape = start.shape
            return self.body(target, collision=False).joints

    def _optimise(self, start: BodyParams, kp, conf, seen, depth, K_np, people, iterations: int, fresh: np.ndarray,
                  prior_joints: torch.Tensor | None = None, measured: torch.Tensor | None = None):
        """Adam over orientation, pose and translation of frame [2, 1], its moments carried
        over from the previous frames (a fresh Adam moves every parameter by the learning rate
        at its first step whatever the gradient: jitter at a few steps per frame) and cleared
        for people new to their slot. prior_joints [2, 1, 24, 3]: the prior's target, or None;
        measured [2, 1]: the sensor's pelvis depth (m, NaN where none), or None.
        Returns (params, the body's output at them)."""
        cfg, w, c = self.config, self.config.weights, self.causal
        K = torch.as_tensor(K_np, dtype=torch.float32)
        kp_t, conf_t = torch.as_tensor(kp), torch.as_tensor(conf)
        scale = torch.as_tensor(np.nan_to_num(keypoint_heights(kp, conf), nan=DEFAULT_HEIGHT), dtype=torch.float32)  # [2, 1]
        depth_t = torch.as_tensor(np.nan_to_num(depth, nan=1.0), dtype=torch.float32)
        seen_t = torch.as_tensor(seen[:, None])
        up = self._up()
        bones = self._bones(people, kp, conf, K_np, up)
        with torch.no_grad():
            target = self.body(start, collision=False).joints  # the prediction's joints [2, 1, 24, 3]
        values = (start.global_orient, start.body_pose, start.transl)
        if self._opt is None:
            self._variables = [v.clone().requires_grad_() for v in values]
            self._opt = torch.optim.Adam(self._variables, lr=c.learning_rate)
        with torch.no_grad():
            for v, x in zip(self._variables, values):
                v.copy_(x)
        for state in self._opt.state.values():
            for key in ("exp_avg", "exp_avg_sq"):
                state[key][torch.as_tensor(fresh)] = 0.0
        opt, variables = self._opt, self._variables
        start = BodyParams(*variables, start.shape)
        for _ in range(iterations):
            opt.zero_grad(set_to_none=True)
            out = self.body(start, collision=False)
            pred = project(model_keypoints(out, self.layout, self.config.keypoint_shift), K)
            total = w.reprojection * losses.reprojection(pred, kp_t, conf_t, scale, cfg.reprojection_sigma)
            total = total + c.temporal * (out.joints - target).pow(2).sum(-1).mean()
            total = total + w.pose_prior * losses.pose_prior(start.body_pose)
            total = total + w.joint_limits * losses.joint_limits(start.body_pose)
            total = total + w.depth * losses.depth_prior(out.joints[:, :, 0, 2], depth_t, seen_t)
            if measured is not None:
                total = total + w.depth_sensor * losses.sensor_depth(out.joints[:, :, 0, 2], measured)
            if bones is not None:
                total = total + w.pose3d * pose3d.bone_direction_loss(out.blazepose33, *bones, self.config.pose3d_frame)
            if prior_joints is not None:
                total = total + c.prior_weight * (out.joints - prior_joints).pow(2).sum(-1).mean()
            if up is not None and w.upright:
                total = total + w.upright * losses.upright(out.joints, seen_t, up)
            if up is not None and w.floor and cfg.camera_height > 0:
                total = total + w.floor * losses.on_floor(out.joints, seen_t, up, cfg.camera_height, FOOT_ABOVE_FLOOR)
            total.backward()
            opt.step()
        params = start.map(lambda t: t.detach().clone())  # the variables are reused next frame
        with torch.no_grad():
            out = self.body(params, collision=False)
        return params, out

    def _up(self) -> torch.Tensor | None:
        """The floor's up [3] for the upright and feet-on-floor terms: the known floor
        (fitting/floor.py), else, with fitting.assumed_camera_height, the last anchored
        window's (its pitch estimated), else None."""
        if self._known_up is not None:
            return self._known_up
        return self.window_up if self.config.assumed_camera_height > 0 else None

    def _bones(self, people, kp, conf, K_np, up: torch.Tensor | None):
        """The 3D landmarks' bone targets of this frame (:mod:`pose3d`), or None; their torso
        turned to the floor's ``up`` (or None) with fitting.pose3d_level."""
        world = getattr(people, "world", None)
        if world is None or not self.config.weights.pose3d or self.layout != "blazepose33":
            return None
        cam = pose3d.camera_landmarks(np.asarray(world, np.float32)[:, None], kp, conf, K_np, self.config.min_confidence)
        unit, weight = pose3d.bone_targets(cam, conf, self.config.min_confidence, self.config.pose3d_depth_gain,
                                          self.config.pose3d_frame)
        if not weight.any():
            return None
        unit = torch.as_tensor(unit)
        if up is not None and self.config.pose3d_level:
            unit = pose3d.level_upright(unit, up, self.config.pose3d_frame)
        return unit, torch.as_tensor(weight)

    # ------------------------------------------------------------------ re-anchoring
    def anchor(self, refined: Reconstruction) -> bool:
        """Take a refined window's shapes, and shift each person by the difference between the
        refined and the filter's pelvis at the newest frame both have. People are matched by
        track id. Returns whether anything was corrected."""
        if refined.floor is not None:
            self.window_up = torch.as_tensor(refined.floor[:3], dtype=torch.float32)
        if self.params is None:
            return False
        common = [f for f in refined.frames[::-1].tolist() if f in self.pelvis]
        if not common:
            return False
        pos = int(np.flatnonzero(refined.frames == common[0])[0])
        ours = self.pelvis[common[0]]
        shape = self.params.shape.clone()
        offset = torch.zeros(2, 3)
        changed = False
        for q in range(2):  # refined slot q -> our slot p with the same track id
            match = np.flatnonzero(self.track_ids == refined.track_ids[q])
            theirs = refined.joints[q, pos, 0]
            if refined.track_ids[q] < 0 or not len(match) or not np.isfinite(theirs).all() or not np.isfinite(ours[match[0]]).all():
                continue
            p = int(match[0])
            shape[p] = torch.as_tensor(refined.shape[q], dtype=shape.dtype)
            offset[p] = torch.as_tensor(theirs - ours[p], dtype=offset.dtype)
            changed = True
        if not changed:
            return False
        with torch.no_grad():  # keep the pelvis where the offset puts it whatever the new shape's rest pelvis
            moved = self.body.rest(shape).joints[:, 0, 0] - self.body.rest(self.params.shape).joints[:, 0, 0]
        shift = (offset - moved)[:, None]
        self.params.transl = self.params.transl + shift
        self.params.shape = shape
        for p, _ in self.recent:  # the prior's context moves with the filter
            p.transl, p.shape = p.transl + shift, shape
        return True
