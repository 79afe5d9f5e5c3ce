"""ONNX export of the denoiser and its onnxruntime runtime.

    export_onnx(load_prior(), "out/prior.onnx")          # `interaction-recon export-prior`
    net = make_runtime(RuntimeConfig(backend="onnx", onnx_path="out/prior.onnx"))
    x0 = net(x_t, step, cond)                              # torch tensors in and out

Graph: inputs ``x_t`` [B, 2, T, D] float32, ``step`` [B] float32 (diffusion level),
``cond`` [B, 2, T, 33, 3] float32; output ``x0`` [B, 2, T, D]. Batch and frames are dynamic.
Every runtime is a callable (x_t, step, cond) -> x0 with the model's ``cfg``,
``feature_mean`` and ``feature_std`` (the ONNX file carries them as metadata ``prior``),
as diffusion.Diffusion.for_model and guidance expect.
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import Tensor

from interaction_recon.paths import weights_cache
from interaction_recon.prior.model import Denoiser, PriorConfig

log = logging.getLogger(__name__)
INPUTS, OUTPUT = ("x_t", "step", "cond"), "x0"


@dataclass
class RuntimeConfig:
    """Which runtime runs the denoiser. backend: torch | onnx | tensorrt."""

    backend: str = "torch"
    checkpoint: str | None = None  # torch, and onnx without onnx_path: None = the shipped default
    onnx_path: str | None = None  # onnx (None: the checkpoint exported to the cache on first use)
    engine_path: str | None = None  # tensorrt
    providers: list[str] = field(default_factory=lambda: ["CPUExecutionProvider"])  # onnxruntime, in order of preference
    threads: int = 1  # onnxruntime intra-op threads
    device: str = "cpu"  # torch


def example_inputs(batch: int = 1, frames: int = 128, model: Denoiser | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Random inputs of the graph's shapes."""
    cfg = model.cfg if model is not None else Denoiser().cfg
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 2, frames, cfg.motion_dim, generator=g)
    step = torch.full((batch,), cfg.diffusion_steps / 2)
    cond = torch.randn(batch, 2, frames, cfg.keypoints, 3, generator=g) * 0.3
    cond[..., 2] = torch.rand(batch, 2, frames, cfg.keypoints, generator=g)
    return x, step, cond


def export_onnx(model: Denoiser, path: str | Path, frames: int = 128, opset: int = 17) -> Path:
    """Write the denoiser as ONNX (TorchScript exporter; batch and frames dynamic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.float().eval()
    dynamic = {"x_t": {0: "batch", 2: "frames"}, "step": {0: "batch"}, "cond": {0: "batch", 2: "frames"},
               OUTPUT: {0: "batch", 2: "frames"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated but needs no onnxscript
        torch.onnx.export(model, example_inputs(2, frames, model), str(path), input_names=list(INPUTS),
                          output_names=[OUTPUT], dynamic_axes=dynamic, opset_version=opset, dynamo=False)
    graph = onnx.load(str(path))
    onnx.helper.set_model_props(graph, {"prior": json.dumps(metadata(model))})
    onnx.save(graph, str(path))
    return path


def cached_onnx(model: Denoiser) -> Path:
    """The ONNX export of ``model`` in the cache folder, written on first use (named by a hash
    of its weights; written beside and renamed, so concurrent users never read half a file)."""
    path = weights_cache("prior", model)
    if not path.exists():
        partial = export_onnx(model, path.with_name(f"{path.stem}.{os.getpid()}.partial.onnx"))
        partial.replace(path)
        log.info("exported the prior to %s", path)
    return path


def metadata(model) -> dict:
    """What a runtime needs besides the graph: the config and the feature statistics."""
    return {"config": model.cfg.to_dict(), "feature_mean": model.feature_mean.tolist(),
            "feature_std": model.feature_std.tolist()}


def apply_metadata(runtime, meta: dict) -> None:
    """Give a runtime the ``cfg``, ``feature_mean`` and ``feature_std`` of ``metadata``."""
    runtime.cfg = PriorConfig(**meta["config"])
    runtime.feature_mean = torch.tensor(meta["feature_mean"])
    runtime.feature_std = torch.tensor(meta["feature_std"])


class OnnxPrior:
    """The exported denoiser in onnxruntime; ``providers`` are tried in order (those not
    installed are skipped with a warning; CPU is always the last resort)."""

    def __init__(self, path: str | Path, providers=("CPUExecutionProvider",), threads: int = 1):
        import onnxruntime as ort

        available = ort.get_available_providers()
        chosen = [p for p in providers if p in available]
        missing = [p for p in providers if p not in available]
        if missing:
            log.warning("onnxruntime providers %s not available here (have %s)", missing, available)
        if "CPUExecutionProvider" not in chosen:
            chosen.append("CPUExecutionProvider")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=chosen)
        self.providers = self.session.get_providers()
        apply_metadata(self, json.loads(self.session.get_modelmeta().custom_metadata_map["prior"]))

    def __call__(self, x_t: Tensor, step: Tensor, cond: Tensor) -> Tensor:
        feed = {"x_t": x_t.detach().float().cpu().numpy(), "step": step.detach().float().cpu().numpy(),
                "cond": cond.detach().float().cpu().numpy()}
        (x0,) = self.session.run([OUTPUT], feed)
        return torch.from_numpy(np.asarray(x0)).to(x_t.device)


def make_runtime(cfg: RuntimeConfig):
    """The configured denoiser runtime: a callable (x_t, step, cond) -> x0."""
    if cfg.backend == "torch":
        from interaction_recon.prior.guidance import load_prior

        return load_prior(cfg.checkpoint, cfg.device)
    if cfg.backend == "onnx":
        if cfg.onnx_path:
            return OnnxPrior(cfg.onnx_path, cfg.providers, cfg.threads)
        from interaction_recon.prior.guidance import load_prior

        return OnnxPrior(cached_onnx(load_prior(cfg.checkpoint)), cfg.providers, cfg.threads)
    if cfg.backend == "tensorrt":
        from interaction_recon.prior.tensorrt_runtime import TensorRTPrior

        if not cfg.engine_path:
            raise ValueError("prior runtime 'tensorrt' needs engine_path (`interaction-recon export-prior --engine`)")
        return TensorRTPrior.from_file(cfg.engine_path)
    raise ValueError(f"unknown prior runtime {cfg.backend!r}; choose torch, onnx or tensorrt")
