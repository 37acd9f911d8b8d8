"""Reading one API-format graph: its links and inputs, the library's choice lists, and ComfyUI's
errors (``execution.py`` ``validate_prompt`` / ``validate_inputs``) naming the node and input.

comfy.graph compiles the sampling chain with it; comfy.pixels (upscales) and comfy.control
(ControlNet) read their nodes with the same reader, so every refusal has the one shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from comfy import nodes

LIST_SHOWN = 20  # ComfyUI names a choice list in its error only up to this length ("list of length N" beyond)


class GraphError(Exception):
    """ComfyUI's 400: ``{error: {type, message, details, extra_info}, node_errors}``."""

    def __init__(self, error: dict, node_errors: dict | None = None) -> None:
        super().__init__(error["message"])
        self.error, self.node_errors = error, node_errors or {}

    def answer(self) -> dict:
        return {"error": self.error, "node_errors": self.node_errors}


def error(kind: str, message: str, details: str = "", extra: dict | None = None) -> dict:
    return {"type": kind, "message": message, "details": details, "extra_info": extra or {}}


def node_error(graph: dict, node_id: str, detail: dict, outputs: list[str]) -> GraphError:
    """ComfyUI's ``prompt_outputs_failed_validation`` with one node's error."""
    class_type = graph.get(node_id, {}).get("class_type", "")
    node_errors = {node_id: {"errors": [detail], "dependent_outputs": outputs, "class_type": class_type}}
    return GraphError(error("prompt_outputs_failed_validation", "Prompt outputs failed validation"), node_errors)


def input_error(graph: dict, node_id: str, name: str, message: str, outputs: list[str], kind: str = "value_not_valid") -> GraphError:
    detail = {"type": kind, "message": message, "details": f"{name}: {message}", "extra_info": {"input_name": name}}
    return node_error(graph, node_id, detail, outputs)


@dataclass
class Library:
    """The library's names for the loaders whose lists it fills, read only when a graph uses them:
    ``upscalers`` name → scale (UpscaleModelLoader), ``controlnets`` (ControlNetLoader)."""

    upscalers: Callable[[], dict[str, int]] = dict
    controlnets: Callable[[], list[str]] = list


@dataclass
class Reader:
    """Walks one graph: links, inputs, and errors that name their node."""

    graph: dict
    load_image: Callable[[str], bytes]
    library: Library = field(default_factory=Library)
    outputs: list[str] = field(default_factory=list)
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)  # A1111 field → (node id, input name)
    used: list[str] = field(default_factory=list)

    def fail(self, node_id: str, name: str, message: str, kind: str = "value_not_valid") -> GraphError:
        return input_error(self.graph, node_id, name, message, self.outputs, kind)

    def node(self, node_id: str) -> dict:
        if node_id not in self.used:
            self.used.append(node_id)
        return self.graph[node_id]

    def class_of(self, node_id: str) -> str:
        return self.graph[node_id]["class_type"]

    def source(self, node_id: str, name: str, *classes: str) -> tuple[str, int, str]:
        """(the linked node's id, its output index, its class) for input ``name``, one of ``classes``."""
        value = self.node(node_id)["inputs"].get(name)
        if value is None:
            raise self.fail(node_id, name, "Required input is missing", "required_input_missing")
        if not (isinstance(value, list) and len(value) == 2 and str(value[0]) in self.graph and isinstance(value[1], int)):
            raise self.fail(node_id, name, "Expected a link [node id, output index]", "bad_linked_input")
        linked = str(value[0])
        class_type = self.class_of(linked)
        if class_type not in classes:
            shown = ", ".join(classes)
            raise self.fail(node_id, name, f"{class_type} cannot feed {name} here (the venue's jobs take {shown})", "return_type_mismatch")
        self.node(linked)
        return linked, value[1], class_type

    def value(self, node_id: str, name: str, field_name: str | None = None):
        """An input's own value (its declared default when left out); ``field_name``: the A1111 field it fills."""
        inputs = self.node(node_id)["inputs"]
        spec = nodes.input_spec(self.class_of(node_id), name)
        value = inputs.get(name, spec[1].get("default") if len(spec) > 1 else None)
        if value is None:
            raise self.fail(node_id, name, "Required input is missing", "required_input_missing")
        if isinstance(value, list):
            raise self.fail(node_id, name, "This input takes a value here, not a link", "bad_linked_input")
        value = nodes.checked(spec, value, lambda message: self.fail(node_id, name, message))
        if field_name:
            self.fields[field_name] = (node_id, name)
        return value

    def choice(self, node_id: str, name: str, choices: list[str], field_name: str | None = None) -> str:
        """A name from the library's list, or ComfyUI's ``value_not_in_list`` (the list shown while short)."""
        value = self.value(node_id, name, field_name)
        if value in choices:
            return value
        shown = str(choices) if len(choices) <= LIST_SHOWN else f"(list of length {len(choices)})"
        detail = {
            "type": "value_not_in_list",
            "message": "Value not in list",
            "details": f"{name}: '{value}' not in {shown}",
            "extra_info": {"input_name": name, "input_config": None, "received_value": value},
        }
        raise node_error(self.graph, node_id, detail, self.outputs)

    def picture(self, node_id: str, field_name: str | None = None) -> bytes:
        """LoadImage's uploaded picture (``image``), or ComfyUI's "Invalid image file" naming the node."""
        name = self.value(node_id, "image", field_name)
        try:
            return self.load_image(name)
        except LookupError:
            raise self.fail(
                node_id, "image", f"Invalid image file: {name} (upload it first: POST /upload/image)", "custom_validation_failed"
            ) from None
