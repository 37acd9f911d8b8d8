"""The GPU script's parts that read and write figures (testkit/gpu_figures.py, shared with bench/gpu_proof.py),
on canned input: nvidia-smi's dmon table, the direct child's figures, a memory option's answer.
The script's own path runs in tests/bench/test_smoke.py (``--smoke``)."""

from __future__ import annotations

from testkit import gpu_figures

DMON = """# gpu    sm   mem   enc   dec   jpg   ofa
# Idx     %     %     %     %     %     %
    0    31     9     0     0     0     0
    0    74    20     0     0     0     0
    0     -     -     -     -     -     -
    1    99    50     0     0     0     0
    0    52    14     0     0     0     0
"""


def test_the_sm_column_of_gpu_0_is_read_from_dmon():
    assert gpu_figures.parse_dmon(DMON) == [31, 74, 52]


def test_direct_figures_give_lines_and_lean_over_ordinary_ratios():
    figures = [
        {"part": "load", "seconds": 3.2, "device": "NVIDIA H100"},
        {"part": "batch 1", "name": "ordinary pipeline call, PIL pictures", "wall_ms": 100.0, "cpu_ms": 100.0},
        {"part": "batch 1", "name": "lean call, CUDA graphs", "wall_ms": 20.0, "cpu_ms": 5.0},
        {"part": "pixels", "name": "lean graphs vs ordinary", "max_levels": 1},
        {"part": "graphs", "skipped": "batch 8: the time budget"},
    ]
    lines = gpu_figures.direct_lines(figures)
    assert "lean call, CUDA graphs ÷ ordinary call (batch 1): wall 0.200, CPU 0.050" in lines
    assert "pixels, lean graphs vs ordinary: at most 1 level(s) of 255 apart" in lines
    assert "graphs: batch 8: the time budget (not measured)" in lines


def test_memory_answers_say_the_variant_the_peak_and_the_upcast():
    answer = {"load_s": 12.5, "resident_gib": 6.9, "variant": "no upcast", "vae_upcast": False, "s_per_picture": 0.6,
              "dtype": "float16", "peak_allocated_gib": 10.7, "peak_reserved_gib": 12.0}  # fmt: skip
    line = gpu_figures.memory_line("fp16, whole model:", answer)
    assert line.startswith("fp16, whole model: VAE no upcast: peak 10.70 GiB allocated, 12.00 GiB reserved")
    assert "VAE decodes in fp32: no" in line
    failed = gpu_figures.memory_line("budget 9", {"error": "Out of GPU memory twice painting 2 picture(s)"})
    assert failed == "budget 9: failed as a job would: Out of GPU memory twice painting 2 picture(s)"


def test_the_default_sections_fit_the_nine_minute_budget():
    assert sum(gpu_figures.BUDGET_S[name] for name in gpu_figures.DEFAULT_SECTIONS) <= gpu_figures.TOTAL_BUDGET_S <= 540
    assert gpu_figures.found(r"batched\): ([0-9.]+)", "job-path overhead (in-process task ÷ direct, batched): 1.820") == "1.820"
