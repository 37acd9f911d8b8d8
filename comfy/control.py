"""ControlNet: ``ControlNetLoader`` + ``ControlNetApplyAdvanced`` (or the older ``ControlNetApply``)
on a sampler's conditioning → the A1111 API's ControlNet units (a1111.parsing, a1111.controlled),
painted by the retouch engine's lineart and canny ControlNets.

ComfyUI feeds the apply node's ``image`` to the ControlNet as it is: a finished edge map (a
``LoadImage``), or the map a preprocessor node made of one (comfy.preprocess: ``Canny``,
``CannyEdgePreprocessor``, the lineart ones), made here when the prompt is compiled. So each unit is
A1111's ``module: "none"`` with the map as ``input_image``, the loader's name being one of the
configured ControlNets as the A1111 API lists them (``"<name> [lineart]"``: the kind picks the
ControlNet). A name not in that list is ComfyUI's ``value_not_in_list`` on the loader. SwarmUI puts
``ResizeImageMaskNode`` ("scale to multiple" of 8) after its preprocessor (``WorkflowGeneratorSteps.cs``
@ 062407c): the map goes as it is, since the worker fits it to the painting's size anyway.
``strength`` 0 leaves the conditioning as it is (no unit), as ComfyUI does; ``start_percent`` /
``end_percent`` are the unit's guidance window.
"""

from __future__ import annotations

import base64

from comfy import preprocess
from comfy.reading import Reader

APPLY = ("ControlNetApplyAdvanced", "ControlNetApply")
RESIZE = "ResizeImageMaskNode"
HINTS = ("LoadImage", *preprocess.PREPROCESSORS)  # what an apply node's image may come from (through one RESIZE)
FIELD = "alwayson_scripts.ControlNet.args"


def follow(reader: Reader, node_id: str, index: int, class_type: str, units: dict[str, dict]) -> str:
    """An apply node's unit (once per node: Advanced sits on both prompts), then the conditioning it
    was given (for Advanced, the prompt of the output linked: 0 positive, 1 negative)."""
    if node_id not in units:
        units[node_id] = _unit(reader, node_id, class_type)
    if class_type == "ControlNetApplyAdvanced":
        return ("positive", "negative")[min(index, 1)]
    return "conditioning"


def _unit(reader: Reader, node_id: str, class_type: str) -> dict:
    loader, _, _ = reader.source(node_id, "control_net", "ControlNetLoader")
    model = reader.choice(loader, "control_net_name", reader.library.controlnets())
    hint, _, hint_class = reader.source(node_id, "image", RESIZE, *HINTS)
    if hint_class == RESIZE:
        reader.value(hint, "resize_type")  # only "scale to multiple" is declared: anything else is named there
        hint, _, hint_class = reader.source(hint, "input", *HINTS)
    if hint_class == "LoadImage":
        picture, content = hint, reader.picture(hint)
    else:
        picture, _, _ = reader.source(hint, "image", "LoadImage")
        content = preprocess.edge_map(reader, hint, picture)
    advanced = class_type == "ControlNetApplyAdvanced"
    return {
        "module": "none",
        "model": model,
        "input_image": base64.b64encode(content).decode(),
        "weight": reader.value(node_id, "strength"),
        "guidance_start": reader.value(node_id, "start_percent") if advanced else 0.0,
        "guidance_end": reader.value(node_id, "end_percent") if advanced else 1.0,
        "_nodes": (node_id, loader, picture),  # taken off before the body is built: where each field came from
    }


def apply(reader: Reader, units: dict[str, dict], body: dict) -> None:
    """The units that control (strength > 0) into the body, each field named back to its node."""
    args = []
    for unit in units.values():
        node_id, loader, picture = unit.pop("_nodes")
        if not unit["weight"]:
            continue
        number = len(args)
        reader.fields.update({
            f"{FIELD}[{number}]": (node_id, "strength"),
            f"{FIELD}[{number}].module": (loader, "control_net_name"),
            f"{FIELD}[{number}].model": (loader, "control_net_name"),
            f"{FIELD}[{number}].input_image": (picture, "image"),
            f"{FIELD}[{number}].guidance_start": (node_id, "start_percent"),
            f"{FIELD}[{number}].guidance_end": (node_id, "end_percent"),
        })  # fmt: skip
        reader.fields.setdefault("alwayson_scripts", (node_id, "control_net"))
        args.append(unit)
    if args:
        body["alwayson_scripts"] = {"ControlNet": {"args": args}}
