"""An expression model for /emotion (docs/faces.md#installing-an-expression-model): one .onnx or
.tflite file in ``expression/``, loaded and run once as /emotion would before it is placed, with the
settings that point /emotion at it. Not a library entry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from library.services.install.errors import InstallError
from library.services.install.staging import named_with_suffix

EXPRESSION_SUFFIXES = (".onnx", ".tflite")


@dataclass(frozen=True)
class ExpressionSettings:
    """--classes, --input-size and --color: how /emotion is to read the model (docs/faces.md)."""

    classes: str = ""
    input_size: str = ""
    color: str = ""


def check_file(is_file: bool, filename: str) -> None:
    if not is_file:
        raise InstallError("an expression model is one .onnx or .tflite file, not a folder.")
    if Path(filename).suffix.lower() not in EXPRESSION_SUFFIXES:
        raise InstallError(f"not an expression model: {filename} is not an .onnx or .tflite file.")


def parse_classes(classes: str) -> list[str]:
    """The class map as ``name=LABEL`` entries in output order, from ``--classes``: the same text as
    GARDEN_EXPRESSION_CLASSES, or a file: JSON (a list of names, ``{"0": "anger", …}``, or
    ``{"anger": "ANGRY", …}`` in output order) or text (one name per line, or ``name=LABEL``). A bare
    name is mapped by its meaning (FER/AffectNet names: neutral → CALM, happiness → HAPPY, …; contempt
    is dropped); a name with no meaning must be mapped by hand."""
    from garden.faces.evaluation import label_of

    path = Path(classes).expanduser()
    if "=" not in classes and "," not in classes and path.is_file():
        names = _names_in_file(path)
    else:
        names = [part.strip() for part in classes.split(",") if part.strip()]
    entries = []
    for item in names:
        if "=" in item:
            entries.append(item)
            continue
        label = "-" if item.strip().lower() == "contempt" else label_of(item) or label_of(item.rstrip("s"))
        if label is None:
            raise InstallError(f"class {item!r} maps to no expression the app knows; map it by hand: {item}=LABEL or {item}=-.")
        entries.append(f"{item}={label}")
    return entries


def _names_in_file(path: Path) -> list[str]:
    text = path.read_text()
    if path.suffix.lower() != ".json":
        return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    data = json.loads(text)
    if isinstance(data, dict) and all(str(key).isdigit() for key in data):
        return [str(data[key]) for key in sorted(data, key=int)]
    if isinstance(data, dict):
        return [f"{key}={value}" for key, value in data.items()]
    if isinstance(data, list):
        return [str(item) for item in data]
    raise InstallError(f"{path.name}: expected a JSON list or object of class names.")


def check_model(path: Path, destination: Path, asked: ExpressionSettings) -> list[str]:
    """Load the model as /emotion would (garden.faces.expression) and run it once; the settings to set."""
    from garden.faces import expression

    classes, input_size, color = asked.classes, asked.input_size, asked.color
    entries = parse_classes(classes)
    try:
        labels = expression.parse_class_labels(entries)
        size = expression.parse_input_size(input_size)
    except expression.ExpressionModelError as exc:
        raise InstallError(
            str(exc).replace("GARDEN_EXPRESSION_CLASSES", "--classes").replace("GARDEN_EXPRESSION_SIZE", "--input-size")
        ) from None
    if color not in expression.COLORS:
        raise InstallError(f"--color {color!r}: use grey, rgb or bgr.")
    with named_with_suffix(path, destination.suffix.lower()) as staged:  # the runtimes choose by suffix
        config = expression.ExpressionConfig(
            path=staged,
            mode=expression.REPLACE,
            weight=1.0,
            size=size,
            color=color,
            divisor=255.0,
            mean=(0.0,),
            std=(1.0,),
            labels=labels,
            output=expression.LOGITS,
            margin=1.1,
        )
        try:
            expression.ExpressionModel(config, threads=1)
        except expression.ExpressionModelError as exc:
            message = str(exc).replace(f"GARDEN_EXPRESSION_MODEL={staged.name!r}", destination.name).replace(staged.name, destination.name)
            raise InstallError(f"not a usable expression model: {message}") from None
    lines = [f"GARDEN_EXPRESSION_MODEL={destination}", f"GARDEN_EXPRESSION_CLASSES={','.join(entries)}"]
    if input_size:
        lines.append(f"GARDEN_EXPRESSION_SIZE={input_size}")
    if color:
        lines.append(f"GARDEN_EXPRESSION_COLOR={color}")
    return lines


def write_class_map(destination: Path, settings_lines: list[str]) -> None:
    """The class map beside the model (``<model>.classes``), as GARDEN_EXPRESSION_CLASSES holds it."""
    destination.with_name(destination.name + ".classes").write_text(settings_lines[1].partition("=")[2] + "\n")
