"""The GPU script's report (bench/gpu_proof.py): each section's output as printed, written as it
comes, and the aims' figures gathered for the table at the end."""

from __future__ import annotations

from pathlib import Path

FIGURES: dict[str, str] = {}  # the aims' figures, for the table at the end


class Report:
    def __init__(self, path: Path):
        self.path, self.lines = path, []

    def add(self, text: str) -> None:
        print(text, flush=True)
        self.lines.append(text)
        self.path.write_text("\n".join(self.lines) + "\n")
