"""The GPU cards a worker process sees, said in its presence row (``details["cards"]``) so the System
status page shows which cards each host has (docs/deploy.md#several-machines).

Asked once, when a worker of a painting queue (the GPU queue, the live queue) starts, in its main
process. A prefork worker's main process must not touch CUDA before it forks (generation.worker.start),
so the cards come from torch only where CUDA is already set up in this process, else from
``nvidia-smi`` (NVML, no CUDA context), narrowed to ``CUDA_VISIBLE_DEVICES`` as CUDA narrows them.
In a container the NVIDIA Container Toolkit mounts only the reserved cards (``device_ids``) and
``nvidia-smi`` with them. No card, no nvidia-smi: an empty list.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

log = logging.getLogger(__name__)

NVIDIA_SMI = ["nvidia-smi", "--query-gpu=index,uuid,name,memory.total", "--format=csv,noheader,nounits"]
NVIDIA_SMI_TIMEOUT = 10


def visible_cards() -> list[dict]:
    """Each card this process may paint on, in CUDA's order: ``index`` (as CUDA numbers it here),
    ``name``, ``memory_gb`` and, where known, ``uuid``."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        found = []
        for index in range(torch.cuda.device_count()):
            memory = torch.cuda.get_device_properties(index).total_memory
            found.append({"index": index, "name": torch.cuda.get_device_name(index), "memory_gb": round(memory / 1e9, 1)})
        return found
    try:
        answer = subprocess.run(NVIDIA_SMI, capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT, check=True)
    except FileNotFoundError:  # no NVIDIA driver here: a CPU worker
        return []
    except (OSError, subprocess.SubprocessError) as exc:  # a driver that does not answer: say so, start anyway
        log.warning("could not list the GPU cards (nvidia-smi): %s", exc)
        return []
    return parse_nvidia_smi(answer.stdout, os.environ.get("CUDA_VISIBLE_DEVICES"))


def parse_nvidia_smi(output: str, visible: str | None) -> list[dict]:
    """``nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits`` lines,
    as CUDA sees them under ``CUDA_VISIBLE_DEVICES`` (indices or UUIDs, in its order; unset: all)."""
    cards = []
    for line in output.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) < 4 or not fields[0].isdigit():
            continue
        index, uuid, memory = fields[0], fields[1], fields[-1]
        name = ",".join(fields[2:-1]).strip()
        memory_gb = round(float(memory) * 2**20 / 1e9, 1) if memory.replace(".", "", 1).isdigit() else None
        cards.append({"index": int(index), "uuid": uuid, "name": name, "memory_gb": memory_gb})
    if visible is None:
        return cards
    chosen = []
    for wanted in (part.strip() for part in visible.split(",")):
        # CUDA stops at the first entry it cannot match (an invalid or negative index hides the rest).
        found = next((card for card in cards if wanted and (wanted == str(card["index"]) or card["uuid"].startswith(wanted))), None)
        if found is None or found in chosen:
            break
        chosen.append(found)
    return [{**card, "index": position} for position, card in enumerate(chosen)]
