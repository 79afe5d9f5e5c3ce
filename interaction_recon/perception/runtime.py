"""Thin wrappers over the two inference runtimes: LiteRT (tflite) and onnxruntime."""
from __future__ import annotations

from pathlib import Path

import numpy as np


class TFLiteModel:
    """A .tflite model on CPU (LiteRT's XNNPACK). ``run(x)`` -> list of output arrays."""

    def __init__(self, path: str | Path, num_threads: int = 1):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as err:  # pragma: no cover - install problem
            raise ImportError("the packaged tflite models need the pip package ai-edge-litert "
                              "(requirements/base.txt; run scripts/bootstrap.sh)") from err
        self.path = Path(path)
        self.interp = Interpreter(model_path=str(path), num_threads=num_threads)
        self.input = self.interp.get_input_details()[0]
        self.outputs = self.interp.get_output_details()
        self._shape = None

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        if self._shape != x.shape:
            if tuple(self.input["shape"]) != x.shape:
                self.interp.resize_tensor_input(self.input["index"], list(x.shape))
            self.interp.allocate_tensors()
            self.outputs = self.interp.get_output_details()
            self._shape = x.shape
        self.interp.set_tensor(self.input["index"], np.ascontiguousarray(x, self.input["dtype"]))
        self.interp.invoke()
        return [self.interp.get_tensor(o["index"]) for o in self.outputs]


class OnnxModel:
    """A user-provided .onnx model through onnxruntime. ``run(x)`` -> list of output arrays."""

    def __init__(self, path: str | Path | None, num_threads: int = 1, providers=("CPUExecutionProvider",),
                 what: str = "model"):
        if not path:
            raise ValueError(f"the onnx {what} backend needs a model path (perception.{what}_model)")
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"onnx {what} model not found: {path}")
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = num_threads
        opts.inter_op_num_threads = 1
        available = set(ort.get_available_providers())
        chosen = [p for p in providers if p in available] or ["CPUExecutionProvider"]
        self.path = path
        self.session = ort.InferenceSession(str(path), opts, providers=chosen)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.input_shape = tuple(inp.shape)  # may hold strings for dynamic axes
        self.input_float = "float" in inp.type

    def input_hw(self, default: tuple[int, int]) -> tuple[int, int]:
        """(H, W) of an NCHW input, ``default`` where the axes are dynamic."""
        shape = self.input_shape
        if len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int):
            return shape[2], shape[3]
        return default

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        x = x.astype(np.float32 if self.input_float else np.uint8)
        return self.session.run(None, {self.input_name: x})
