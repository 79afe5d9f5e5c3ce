"""One window's optimisation: its variables (:mod:`interaction_recon.fitting.motion`), the loss
from ``fitting.weights`` and the Adam stages that :class:`~interaction_recon.fitting.window.WindowFitter`
runs in turn."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from interaction_recon.body.model import BodyOutput, BodyParams
from interaction_recon.fitting import contacts as contact_est
from interaction_recon.fitting import losses, pose3d, reach, scale
from interaction_recon.fitting.camera import project
from interaction_recon.fitting.init import model_keypoints
from interaction_recon.fitting.job import WindowJob
from interaction_recon.fitting.motion import CONTEXT, SEAM_FADE, from6d, motion_basis, to6d

if TYPE_CHECKING:
    from interaction_recon.fitting.window import WindowFitter


class WindowState:
    """The variables of one window's optimisation and its loss."""

    def __init__(self, fitter: WindowFitter, job: WindowJob, start: BodyParams, first: int, kp, conf, scale, depth,
                 seen, K, prev_joints, overlap, touching, weight, bones=None, measured=None, planted=None):
        self.f, self.job, self.first = fitter, job, first
        # The loss sees the optimised frames plus CONTEXT frozen ones before them (smoothness
        # across the boundary); older frozen frames cannot change and are not posed.
        lo = self.lo = max(0, first - CONTEXT)
        self.kp, self.conf, self.scale, self.depth, self.seen = (a[:, lo:] for a in (kp, conf, scale, depth, seen))
        self.K, self.overlap, self.touching, self.weight = K, overlap[lo:], touching[lo:], weight[lo:]
        self.prev_joints = None if prev_joints is None else prev_joints[:, lo:]
        self.external: list = []  # evidence of contact: (position from lo, part_a, part_b, probability)
        self.bones = None if bones is None else tuple(a[:, lo:] for a in bones)  # pose3d targets, weights
        self.bones_seen = self.bones  # the targets as the keypoint model gave them (before set_up)
        self.measured = None if measured is None else measured[:, lo:]  # sensor pelvis depth [2, T'] m (NaN: none)
        self.planted = None if planted is None else planted[:, lo:]  # [2, T', 2] bool (fitting/stance.py)
        self.fixed = start.map(lambda t: t[:, :first].detach())
        # the last frozen frame (orientation 6D [2, 6], body_pose [2, 23, 3], transl [2, 3])
        self.frozen_last = None if first == 0 else (
            to6d(self.fixed.global_orient[:, first - 1]), self.fixed.body_pose[:, first - 1], self.fixed.transl[:, first - 1])
        n = start.transl.shape[1] - first
        self.basis = motion_basis(n, fitter.config.motion_basis, kp.device)  # [n, nb]
        self.fade = torch.exp(-torch.arange(n, device=kp.device, dtype=torch.float32) / SEAM_FADE)  # [n]
        self.floor_up = None  # the floor's up [3] (WindowFitter._up), for the upright and feet-on-floor terms
        # (height m, up [3]) of the camera over the floor, known or estimated (WindowFitter.camera), or None
        self.camera = fitter.camera(job)
        nb = self.basis.shape[1]
        tails = ((6,), start.body_pose.shape[2:], (3,))  # orientation 6D, body pose, translation
        self.coef = [torch.zeros((2, nb) + tuple(tail), device=kp.device, requires_grad=True) for tail in tails]
        self.rebase(start)
        # the shapes [2, S] the shape term pulls towards, and its weight: the model's average under
        # weights.shape, or the sized bodies under weights.shape_sized (WindowState.centre_shapes)
        self.shape_centre = fitter.body.default_shape(2).to(self.shape)
        self.shape_weight = fitter.config.weights.shape
        self.pairs: list = []
        self.cond = None  # the prior's condition [2, T, 33, 3], when a prior is used
        self.regulariser = None  # PriorRegulariser
        self.reach = None  # [N, 4] long: hands drawn on the other person (fitting/reach.py), frames from self.lo
        self.source = None  # PriorMotion: the optimised frames' base motion comes from the network
        self.held = None  # [2, T', K, 2] px: where each person's own fit put the confident keypoints

    def set_up(self, up) -> None:
        """The floor's up [3] (or None) for the upright and feet-on-floor terms; with
        fitting.pose3d_level the landmarks' torso is turned to stand along it
        (:func:`pose3d.level_upright`)."""
        self.floor_up = up
        cfg = self.f.config
        if self.bones_seen is None or up is None or not cfg.pose3d_level:
            self.bones = self.bones_seen
            return
        unit, weight = self.bones_seen
        self.bones = (pose3d.level_upright(unit, up, cfg.pose3d_frame), weight)

    def pelvis_distance(self, quantile: float = 0.5) -> float:
        """The ``quantile`` of the distance (m) between the two pelvises over the loss's frames
        where both are seen (all of them when none is)."""
        with torch.no_grad():
            pelvis = self.f.body(self.params(whole=False), collision=False).joints[:, :, 0]  # [2, T', 3]
        d = (pelvis[0] - pelvis[1]).norm(dim=-1)
        both = self.seen.all(0)
        return float((d[both] if both.any() else d).quantile(quantile))

    def hold_evidence(self) -> None:
        """Keep the current projections of the keypoints (each person's own fit) as the
        anchor of ``weights.evidence`` in the stages that follow."""
        with torch.no_grad():
            out = self.f.body(self.params(whole=False), collision=False)
            self.held = project(model_keypoints(out, self.job.layout, self.f.config.keypoint_shift), self.K)

    def centre_shapes(self) -> None:
        """From now on the shape term pulls towards the current shapes (as the floor sizing left
        them), not towards the model's average, with weights.shape_sized."""
        self.shape_centre = self._shape().detach().clone()
        self.shape_weight = self.f.config.weights.shape_sized

    def _motion(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(orientation 6D [2, n, 6], body_pose [2, n, 23, 3], transl [2, n, 3]) of the optimised
        frames: the base (fixed, or the prior's output joined to the frozen frames) plus the
        smooth correction (under the prior's motion, growing in from the seam over SEAM_FADE)."""
        base, ramp = self.base, (1.0,) * 3
        if self.source is not None:
            net = self.source()
            s = slice(self.first, None)
            base = (to6d(net.global_orient[:, s]), net.body_pose[:, s], net.transl[:, s])
            if self.frozen_last is not None:
                # The network's output is not tied to the frozen frames: bend it onto the last
                # one (its offset there fading out) and let the correction grow in from the seam.
                k = self.first - 1
                at_k = (to6d(net.global_orient[:, k]), net.body_pose[:, k], net.transl[:, k])
                gap = tuple(f - n for f, n in zip(self.frozen_last, at_k))
                fade = [self.fade.view(-1, *([1] * (b.dim() - 2))) for b in base]  # [n, 1...]
                base = tuple(b + g[:, None] * f for b, g, f in zip(base, gap, fade))
                ramp = tuple(1 - f for f in fade)
        return tuple(b + r * torch.einsum("tk,pk...->pt...", self.basis, c) for b, c, r in zip(base, self.coef, ramp))

    def params(self, whole: bool = True) -> BodyParams:
        """The window's parameters [2, T], or (``whole=False``) only the frames the loss sees."""
        fixed = self.fixed if whole else self.fixed.map(lambda t: t[:, self.lo:])
        orient6d, body_pose, transl = self._motion()
        return BodyParams(torch.cat([fixed.global_orient, from6d(orient6d)], 1),
                          torch.cat([fixed.body_pose, body_pose], 1), torch.cat([fixed.transl, transl], 1),
                          self._shape())

    def _shape(self) -> torch.Tensor:
        """The two shapes [2, S] (anny's phenotypes kept within [0, 1])."""
        return self.shape.clamp(0, 1) if self.f.body.name == "anny" else self.shape

    def _rest(self):
        """The rest bodies of the current shapes, all the collision queries need of them: the
        motion (with ``fitting.prior: closeapp`` a network call) is not built for it."""
        with torch.no_grad():
            return self.f.body.rest(self._shape())

    def rebase(self, start: BodyParams) -> None:
        """Restart the motion correction from ``start`` [2, T] (its optimised frames)."""
        s = slice(self.first, None)
        self.base = (to6d(start.global_orient[:, s]).detach(), start.body_pose[:, s].detach(), start.transl[:, s].detach())
        for c in self.coef:
            c.data.zero_()
        self.shape = start.shape.detach().clone().requires_grad_()

    def loss(self, rest, collision: bool, together: bool = True) -> tuple[torch.Tensor, BodyOutput]:
        """(the scalar fitting loss, the body's output at the current parameters)."""
        f, cfg, w = self.f, self.f.config, self.f.config.weights
        params = self.params(whole=False)
        out = f.body(params, collision=collision)
        pred3d = model_keypoints(out, self.job.layout, cfg.keypoint_shift)
        pred = project(pred3d, self.K)
        total = w.reprojection * losses.reprojection(pred, self.kp, self.conf, self.scale, cfg.reprojection_sigma)
        total = total + w.smoothness * losses.smoothness(out.joints, params.body_pose)
        optimised = params.body_pose[:, self.first - self.lo:]
        total = total + w.pose_prior * losses.pose_prior(optimised)
        total = total + w.joint_limits * losses.joint_limits(optimised)
        total = total + self.shape_weight * losses.shape_prior(params.shape, self.shape_centre)
        pelvis_z = out.joints[:, :, 0, 2]
        total = total + w.depth * losses.depth_prior(pelvis_z, self.depth, self.seen)
        if self.measured is not None:
            total = total + w.depth_sensor * losses.sensor_depth(pelvis_z, self.measured)
        if self.bones is not None:
            total = total + w.pose3d * pose3d.bone_direction_loss(out.blazepose33, *self.bones, cfg.pose3d_frame)
        if self.held is not None and w.evidence:
            total = total + w.evidence * losses.held_keypoints(pred, self.held, self.conf, self.scale)
        if self.reach is not None and together and w.reach:
            total = total + w.reach * reach.reach_loss(pred3d, out.rotations, self.reach, cfg.reach_margin)
        if self.prev_joints is not None:
            total = total + w.previous * losses.to_previous(out.joints, self.prev_joints, self.overlap)
        if self.floor_up is not None and w.upright:
            total = total + w.upright * losses.upright(out.joints, self.seen, self.floor_up)
        if self.floor_up is not None and w.floor and self.camera is not None:
            total = total + w.floor * losses.on_floor(out.joints, self.seen, self.floor_up, self.camera[0],
                                                      scale.FOOT_ABOVE_FLOOR)
        if self.planted is not None and self.floor_up is not None and w.planted:
            known = scale.FOOT_ABOVE_FLOOR - self.camera[0] if self.camera is not None else None
            total = total + w.planted * losses.planted_feet(out.joints, self.planted, self.floor_up,
                                                            shared=together and cfg.two_person, floor=known)
        if together and cfg.two_person and w.ground:
            total = total + w.ground * losses.common_ground(out.joints, self.seen.all(0))
        if self.regulariser is not None and together and w.prior:
            total = total + w.prior * self.regulariser(self.params(), self.cond)
        if collision:
            if w.penetration:
                total = total + w.penetration * losses.penetration(f.collider, out, rest)
            if w.contact and self.pairs:
                total = total + w.contact * losses.contact(out, self.pairs)
        return total, out

    def follow_landmarks(self, iterations: int) -> None:
        """Initial pose from the 3D landmarks: orientation and body pose moved towards their
        bone directions alone (with the joint limits), at ``fitting.learning_rate_pose3d``."""
        if self.bones is None or iterations <= 0:
            return
        cfg, w = self.f.config, self.f.config.weights
        orient, pose, _ = self.coef
        opt = torch.optim.Adam([orient, pose], lr=cfg.learning_rate_pose3d / self.basis.shape[1] ** 0.5)
        for _ in range(iterations):
            self.f.check()
            opt.zero_grad(set_to_none=True)
            params = self.params(whole=False)
            out = self.f.body(params, collision=False)
            total = pose3d.bone_direction_loss(out.blazepose33, *self.bones, cfg.pose3d_frame)
            total = total + w.joint_limits * losses.joint_limits(params.body_pose[:, self.first - self.lo:])
            total.backward()
            opt.step()

    def run(self, iterations: int, rigid: bool, optimise_shape: bool, together: bool = True) -> None:
        """Adam over the motion coefficients (and the shape): ``rigid`` keeps the body pose,
        ``together=False`` leaves out every term that relates the two people."""
        cfg = self.f.config
        orient, pose, transl = self.coef
        lr = cfg.learning_rate / self.basis.shape[1] ** 0.5  # per-frame steps of about the learning rate
        groups = [{"params": [orient, transl] + ([] if rigid else [pose]), "lr": lr}]
        if optimise_shape:
            groups.append({"params": [self.shape], "lr": cfg.learning_rate})
        if self.source is not None and not rigid:
            groups.append({"params": list(self.source.parameters()), "lr": cfg.prior_lr})
        opt = torch.optim.Adam(groups)
        # Adam moves every frame's parameters by about the learning rate per step whatever the
        # gradient, which reads as jitter: decay it to a third over the stage.
        decay = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.3 ** (1 / max(iterations, 1)))
        loss_fn = torch.compile(self.loss) if cfg.compile else self.loss
        rest = self._rest()
        collision = cfg.two_person and together and not rigid  # the terms that need the collision mesh
        for it in range(iterations):
            self.f.check()
            opt.zero_grad(set_to_none=True)
            total, out = loss_fn(rest, collision, together)
            total.backward()
            opt.step()
            decay.step()
            if collision and it % cfg.contact_every == 0:
                if optimise_shape:
                    rest = self._rest()
                self.pairs = contact_est.estimate(out, self.f.body.collision_coarse_parts, self.touching,
                                                  self.weight, cfg.contact_threshold, self.external,
                                                  cfg.contact_from_fit)
