"""TensorRT engine for the denoiser: build from the ONNX export, run on CUDA torch tensors.

    build_engine("out/prior.onnx", "out/prior.engine", WindowProfile(frames=(16, 128, 256)))
    net = TensorRTPrior.from_file("out/prior.engine")
    x0 = net(x_t, step, cond)          # CUDA tensors in, a CUDA tensor out

``tensorrt`` is imported only inside these functions (it exists only where NVIDIA's
packages are installed). The shape logic (profile shapes, input checks, bindings) is plain
Python over the engine's API (``get_tensor_name``, ``get_tensor_mode``,
``get_tensor_profile_shape``, ``set_input_shape``, ``set_tensor_address``,
``execute_async_v3``), so tests drive it with a fake engine. The model's config and feature
statistics travel beside the engine as ``<engine>.json``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch
from torch import Tensor

from interaction_recon.prior.export import INPUTS, OUTPUT, apply_metadata
from interaction_recon.prior.model import PriorConfig


@dataclass
class WindowProfile:
    """(min, opt, max) of the dynamic dimensions of one optimisation profile."""

    batch: tuple[int, int, int] = (1, 1, 4)
    frames: tuple[int, int, int] = (16, 128, 256)


def profile_shapes(profile: WindowProfile, cfg: PriorConfig | None = None) -> dict[str, tuple[tuple, tuple, tuple]]:
    """Input name -> (min, opt, max) shapes of ``profile``."""
    cfg = cfg or PriorConfig()
    for name, (lo, opt, hi) in (("batch", profile.batch), ("frames", profile.frames)):
        if not 1 <= lo <= opt <= hi:
            raise ValueError(f"profile {name} must satisfy 1 <= min <= opt <= max, got {(lo, opt, hi)}")
    shapes = {"x_t": lambda b, t: (b, 2, t, cfg.motion_dim), "step": lambda b, t: (b,),
              "cond": lambda b, t: (b, 2, t, cfg.keypoints, 3)}
    return {name: tuple(fn(b, t) for b, t in zip(profile.batch, profile.frames)) for name, fn in shapes.items()}


def build_engine(onnx_path: str | Path, engine_path: str | Path, profiles: list[WindowProfile] | None = None,
                 cfg: PriorConfig | None = None, workspace_gb: float = 1.0) -> Path:
    """Parse the ONNX export, add one optimisation profile per entry of ``profiles`` (default:
    one around the 128-frame window) and write the serialized engine. Precision follows the
    ONNX graph (float32). Needs tensorrt and a CUDA GPU."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # TensorRT < 10 needs it spelled out
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    for profile in profiles or [WindowProfile()]:
        p = builder.create_optimization_profile()
        for name, (lo, opt, hi) in profile_shapes(profile, cfg).items():
            p.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(p)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path}")
    engine_path = Path(engine_path)
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(bytes(serialized))
    props = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    engine_path.with_suffix(".json").write_text(props["prior"])  # config + statistics beside the engine
    return engine_path


class TensorRTPrior:
    """Runs a deserialized engine: a callable (x_t, step, cond) -> x0 on torch tensors.

    ``trt``: the tensorrt module (tests pass a stand-in with ``TensorIOMode`` and
    ``DataType``). Inputs are checked against profile 0 and made contiguous float32 on the
    engine's device; the output is allocated with the shape the context reports.
    """

    def __init__(self, engine, trt=None, meta: dict | None = None):
        if trt is None:
            import tensorrt as trt
        self.trt, self.engine = trt, engine
        if meta is not None:
            apply_metadata(self, meta)
        self.context = engine.create_execution_context()
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        self.inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if sorted(self.inputs) != sorted(INPUTS) or self.outputs != [OUTPUT]:
            raise ValueError(f"engine has inputs {self.inputs} and outputs {self.outputs}; expected {list(INPUTS)} -> {OUTPUT}")
        self.ranges = {n: engine.get_tensor_profile_shape(n, 0) for n in self.inputs}  # (min, opt, max)

    @classmethod
    def from_file(cls, path: str | Path) -> "TensorRTPrior":
        import tensorrt as trt

        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        engine = runtime.deserialize_cuda_engine(Path(path).read_bytes())
        if engine is None:
            raise RuntimeError(f"could not deserialize the TensorRT engine {path} (built for another TensorRT or GPU?)")
        return cls(engine, trt, json.loads(Path(path).with_suffix(".json").read_text()))

    def check(self, name: str, shape: tuple) -> None:
        """``ValueError`` unless ``shape`` lies inside the profile's range of input ``name``."""
        lo, _, hi = (tuple(s) for s in self.ranges[name])
        if len(shape) != len(lo) or any(not a <= s <= b for a, s, b in zip(lo, shape, hi)):
            raise ValueError(f"input {name} of shape {tuple(shape)} is outside the engine's profile {lo} .. {hi}; "
                             f"rebuild it with a WindowProfile that covers this window")

    def __call__(self, x_t: Tensor, step: Tensor, cond: Tensor) -> Tensor:
        feeds = {"x_t": x_t, "step": step, "cond": cond}
        device = x_t.device
        keep = {}
        for name in self.inputs:
            t = feeds[name].detach().to(device=device, dtype=torch.float32).contiguous()
            self.check(name, tuple(t.shape))
            self.context.set_input_shape(name, tuple(t.shape))
            self.context.set_tensor_address(name, t.data_ptr())
            keep[name] = t  # alive until the engine has run
        out = torch.empty(tuple(self.context.get_tensor_shape(OUTPUT)), dtype=torch.float32, device=device)
        self.context.set_tensor_address(OUTPUT, out.data_ptr())
        stream = torch.cuda.current_stream(device).cuda_stream if device.type == "cuda" else 0
        if not self.context.execute_async_v3(stream):
            raise RuntimeError("TensorRT execution failed")
        return out
