"""Every relative link in README.md and docs/*.md reaches a file, and every `#anchor` a heading
(GitHub's slug of it) or an `<a id>` of the page it names: a page split or a heading renamed fails
here with the links to fix."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCED = re.compile(r"```.*?```", re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    found: set[str] = set(re.findall(r'<a id="([^"]+)"', text))
    repeats: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} (.+)$", FENCED.sub("", text), re.M):
        name = slug(heading)
        found.add(f"{name}-{repeats[name]}" if name in repeats else name)  # GitHub numbers repeated headings
        repeats[name] = repeats.get(name, 0) + 1
    return found


def broken_links() -> list[str]:
    broken = []
    for page in PAGES:
        for target in LINK.findall(FENCED.sub("", page.read_text(encoding="utf-8"))):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, fragment = target.partition("#")
            destination = (page.parent / path).resolve() if path else page
            if not destination.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif fragment and destination.suffix == ".md" and fragment not in anchors(destination):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    return broken


def test_the_docs_link_to_pages_and_headings_that_exist():
    assert not broken_links(), "\n".join(broken_links())


def test_a_heading_slug_is_githubs():
    assert slug("What `/garden` returns") == "what-garden-returns"
    assert slug("A bred picture's head start") == "a-bred-pictures-head-start"
    assert slug("Where `/garden`'s CPU goes") == "where-gardens-cpu-goes"
