"""The GPU proof's figures read and written (bench/gpu_proof.py and its parts), shared with their tests.

Its sections and their time budgets, nvidia-smi's dmon table read, the direct child's figures and
a memory option's answer turned into report lines, a figure found in a bench's output: the parts
tests/generation/test_lean_gpu_script.py checks on canned input, without a GPU.
"""

from __future__ import annotations

import re

SECTIONS = ("direct", "live-parts", "kiosks", "jobs", "memory", "classifier")
DEFAULT_SECTIONS = SECTIONS[:-1]
# Seconds per section (the models' first build included); under 9 minutes in all.
BUDGET_S = {"direct": 90, "live-parts": 60, "kiosks": 180, "jobs": 160, "memory": 45, "classifier": 60}
TOTAL_BUDGET_S = 540


def found(pattern: str, text: str) -> str:
    """The first group of ``pattern`` in a bench's output ("not measured" when it is not there)."""
    match = re.search(pattern, text)
    return match.group(1) if match else "not measured"


def direct_lines(figures: list[dict]) -> list[str]:
    """The report's lines for the child's figures, with lean ÷ ordinary ratios in the same run."""
    lines, by_name = [], {}
    for figure in figures:
        if "skipped" in figure or "error" in figure:
            lines.append(f"{figure['part']}: {figure.get('skipped') or figure.get('error')} (not measured)")
        elif figure["part"] == "load":
            lines.append(f"model loaded in {figure['seconds']} s on {figure['device']}")
        elif figure["part"] == "pixels":
            lines.append(f"pixels, {figure['name']}: at most {figure['max_levels']} level(s) of 255 apart")
        elif figure["part"] == "graphs":
            lines.append(f"{figure['name']}: {figure['seconds']} s")
        else:
            by_name[(figure["part"], figure["name"])] = figure
            rate = f", {figure['pictures_per_s']} pictures/s" if "pictures_per_s" in figure else ""
            lines.append(f"{figure['part']}, {figure['name']}: {figure['wall_ms']:.2f} ms wall, {figure['cpu_ms']:.2f} ms CPU{rate}")
    base = by_name.get(("batch 1", "ordinary pipeline call, PIL pictures"))
    for (part, name), figure in by_name.items():
        if base and part == "batch 1" and name.startswith("lean"):
            wall, cpu = figure["wall_ms"] / base["wall_ms"], figure["cpu_ms"] / base["cpu_ms"]
            lines.append(f"{name} ÷ ordinary call (batch 1): wall {wall:.3f}, CPU {cpu:.3f}")
    return lines


def memory_line(name: str, answer: dict) -> str:
    """One report line for one answer (the smoke test and the GPU share it)."""
    variant = answer.get("variant", "")
    name = f"{name} {'nothing else' if variant == 'none' else 'VAE ' + variant}" if variant else name
    if "error" in answer:
        return f"{name}: failed as a job would: {answer['error'][:600]}"
    memory = ""
    if "peak_allocated_gib" in answer:
        memory = f"peak {answer['peak_allocated_gib']:.2f} GiB allocated, {answer['peak_reserved_gib']:.2f} GiB reserved"
        memory += f" (weights after load {answer['resident_gib']:.2f}; VAE decodes in fp32: {'yes' if answer['vae_upcast'] else 'no'}); "
    return f"{name}: {memory}load {answer['load_s']:.1f} s, {answer['s_per_picture']:.2f} s/picture ({answer['dtype']})"


def parse_dmon(text: str) -> list[int]:
    """The ``sm`` column of ``nvidia-smi dmon -s u`` output (GPU 0), header lines skipped."""
    samples, column = [], 1
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "#":
            if "sm" in fields:
                column = fields.index("sm") - 1
            continue
        if fields[0] == "0" and len(fields) > column and fields[column].isdigit():
            samples.append(int(fields[column]))
    return samples
