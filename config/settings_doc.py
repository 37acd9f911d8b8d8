"""docs/settings.md, written from the settings' declarations (config.appsettings): ``bin/settings-doc``.

The page is one table per conf module (the core first, then the apps in INSTALLED_APPS order), each
setting with its variable, type, default and meaning. The prose above the tables and above the core
sections' tables is the page's own: written there, and kept as it is when the tables are written.
tests/config/test_app_settings.py fails while the committed page differs from what this writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from config import conf
from config.appsettings import BASE_DIR, TYPE_NAMES, Setting, app_conf_modules


@dataclass(frozen=True)
class Group:
    """One conf module as the docs show it."""

    module: str
    title: str
    doc: str  # the feature page that explains these settings ("recommendation.md#settings")
    settings: list[Setting] = field(default_factory=list)
    sections: dict[str, list[Setting]] = field(default_factory=dict)  # the core's, by title


def groups(installed_apps: Iterable[str]) -> list[Group]:
    modules = [conf, *app_conf_modules(installed_apps)]
    return [
        Group(module.__name__, module.TITLE, getattr(module, "DOC", ""), list(module.SETTINGS), getattr(module, "SECTIONS", {}))
        for module in modules
    ]


PAGE = BASE_DIR / "docs" / "settings.md"
# The generated part begins at the first table's section: its heading, then "Declared in `…`".
_FIRST_TABLE = re.compile(r"\n## .+\n\nDeclared in `")
# A core section's words above its table.
_SECTION_PROSE = re.compile(r"^### (.+)\n\n((?:(?!\| variable \|).*\n)*?)\| variable \|", re.M)


def kept_prose(page: Path) -> tuple[str, dict[str, str]]:
    """The page's prose, written in docs/settings.md itself and kept as it is: everything above the
    first table's section, and each core section's words above its table."""
    text = page.read_text() if page.exists() else "# Settings\n"
    header = _FIRST_TABLE.split(text, maxsplit=1)[0]
    return header, {title: prose.strip() for title, prose in _SECTION_PROSE.findall(text)}


def shown_default(setting: Setting) -> str:
    if setting.shown_default:
        return setting.shown_default
    if callable(setting.default):
        raise ValueError(f"{setting.name}: a computed default needs shown_default, the way the docs say it")
    value = setting.default
    if value in ("", None, []):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return f"`{','.join(map(str, value))}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def meaning(setting: Setting) -> str:
    notes = []
    if setting.on_settings and setting.name != setting.var and setting.name == setting.old_var:
        notes.append(f"setting `{setting.name}`, also the former variable (still read until the next release)")
    else:
        if setting.on_settings and not setting.read_by and setting.name != setting.var:
            notes.append(f"setting `{setting.name}`")
        if setting.old_var:
            notes.append(f"formerly `{setting.old_var}` (still read until the next release)")
    if setting.read_by:
        notes.append(f"read by {setting.read_by}")
    return setting.help + (" — " + "; ".join(notes) if notes else "")


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def rows(settings: Iterable[Setting]) -> list[str]:
    lines = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for setting in settings:
        lines.append(f"| `{setting.var}` | {TYPE_NAMES[setting.type]} | {cell(shown_default(setting))} | {cell(meaning(setting))} |")
    return lines


def table(group: Group, section_prose: dict[str, str]) -> str:
    source = group.module.replace(".", "/") + ".py"
    lines = [f"## {group.title}", "", f"Declared in `{source}`" + (f"; more in {group.doc}." if group.doc else "."), ""]
    if not group.sections:
        return "\n".join([*lines, *rows(group.settings)]) + "\n"
    for title, settings in group.sections.items():
        prose = section_prose.get(title, "")
        lines += [f"### {title}", "", *([prose, ""] if prose else []), *rows(settings), ""]
    return "\n".join(lines)


def render(installed_apps: Iterable[str], page: Path = PAGE) -> str:
    header, section_prose = kept_prose(page)
    return "\n".join([header, *(table(group, section_prose) for group in groups(installed_apps))])


def write(installed_apps: Iterable[str], page: Path = PAGE) -> bool:
    """Write the page; True when it changed."""
    text = render(installed_apps, page)
    if page.exists() and page.read_text() == text:
        return False
    page.write_text(text)
    return True
