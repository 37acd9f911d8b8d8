"""Tiny expression models built at test time with onnx.helper: a real ONNX file that loads through
the production path (garden.faces.expression) and whose answer depends on the face it is shown.

The graph averages each colour channel of its input and maps the channel means to class logits
with a fixed matrix: ``logits = mean(input, over height and width) @ weights + bias``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# FER+ class order (ONNX model zoo, emotion-ferplus): eight classes, contempt included.
FERPLUS_CLASSES = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
FERPLUS_MAPPING = "neutral=CALM,happiness=HAPPY,surprise=SURPRISED,sadness=SAD,anger=ANGRY,disgust=DISGUSTED,fear=FEAR,contempt=-"


def write_channel_mean_model(
    path: Path,
    *,
    weights: np.ndarray,
    bias: np.ndarray | None = None,
    channels: int = 3,
    size: int | None = 64,
    channels_first: bool = True,
) -> Path:
    """An ONNX model: float input [1, C, S, S] (or [1, S, S, C]) → logits [1, K] from the channel means."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.asarray(weights, dtype=np.float32).reshape(channels, -1)
    classes = weights.shape[1]
    bias = np.zeros(classes, dtype=np.float32) if bias is None else np.asarray(bias, dtype=np.float32)
    side = size if size is not None else "side"
    shape = [1, channels, side, side] if channels_first else [1, side, side, channels]
    axes = [2, 3] if channels_first else [1, 2]
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["face"], ["means"], axes=axes, keepdims=0),
            helper.make_node("MatMul", ["means", "weights"], ["scaled"]),
            helper.make_node("Add", ["scaled", "bias"], ["logits"]),
        ],
        "tiny_expression",
        [helper.make_tensor_value_info("face", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        initializer=[numpy_helper.from_array(weights, "weights"), numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="emotion-garden-tests")
    model.ir_version = 8  # what ONNX Runtime of requirements/base.txt reads
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def red_minus_blue(classes: int, winner: int, *, gain: float = 40.0) -> np.ndarray:
    """Weights that raise class ``winner`` by gain x (red mean - blue mean): skin is redder than it is blue."""
    weights = np.zeros((3, classes), dtype=np.float32)
    weights[0, winner], weights[2, winner] = gain, -gain
    return weights
