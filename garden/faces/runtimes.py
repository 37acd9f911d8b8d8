"""The two model runtimes of the offline face backend: LiteRT (TFLite files) and ONNX Runtime.

Shared by the bundled models (``garden.faces.local``) and an operator's own expression model
(``garden.faces.expression``). LiteRT interpreters are not thread-safe, so each has its own lock;
ONNX Runtime sessions are safe to run concurrently.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np


class LockedInterpreter:
    """A LiteRT interpreter with a lock: invoke() and the tensors are shared state."""

    def __init__(self, path: Path, *, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self._interpreter.allocate_tensors()
        details = self._interpreter.get_input_details()[0]
        self._input = details["index"]
        self.input_shape: list = [int(n) for n in details["shape"]]
        self.input_dtype = np.dtype(details["dtype"])
        self.input_count = len(self._interpreter.get_input_details())
        self._outputs = [detail["index"] for detail in self._interpreter.get_output_details()]
        self._lock = threading.Lock()

    def __call__(self, tensor: np.ndarray) -> list[np.ndarray]:
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            return [self._interpreter.get_tensor(index).copy() for index in self._outputs]


def onnx_session(path: Path, *, threads: int):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads and quiet logging."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
