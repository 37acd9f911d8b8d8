"""Peak memory of one SDXL-architecture VAE decode (random weights), by dtype, on the CPU.

Why: on the H100, SDXL at 1024² (2 pictures a call) peaked 4 GiB lower in bf16 than in fp16, and
sequential offload peaked near model offload (docs/models.md → GPU figures). diffusers' SDXL
pipeline decodes an fp16 VAE in float32 when its config sets ``force_upcast`` (the SDXL VAE's
does), and keeps a bf16 VAE in bf16; this measures what that costs: each case runs in a fresh
process, and the decode's peak is the resident set's high-water mark above what the weights and
the latents already hold (Linux: ``/proc/self/clear_refs`` resets the mark).

    python bench/vae_decode_memory.py --size 256 --batch 1 --dtype float32
    python bench/vae_decode_memory.py --size 256 --batch 1 --dtype bfloat16
    python bench/vae_decode_memory.py --all --size 256   # each dtype in its own process; JSON lines
    python bench/vae_decode_memory.py --smoke            # both dtypes at 64², in seconds (tests/bench)

The decode's activations grow with pixels x batch: 1024² x 2 is 32 times 256² x 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

# The SDXL VAE's configuration (stabilityai/stable-diffusion-xl-base-1.0, vae/config.json).
SDXL_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "latent_channels": 4,
    "norm_num_groups": 32,
    "sample_size": 1024,
    "scaling_factor": 0.13025,
    "force_upcast": True,
}


def _memory_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure(size: int, batch: int, dtype_name: str, threads: int) -> dict:
    import torch
    from diffusers import AutoencoderKL

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dtype = getattr(torch, dtype_name)
    vae = AutoencoderKL(**SDXL_VAE).to(dtype).eval()
    latents = torch.randn(batch, 4, size // 8, size // 8, dtype=dtype)
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the high-water mark starts again from the resident set now
    before = _memory_kib("VmRSS")
    started = time.perf_counter()
    with torch.inference_mode():
        pictures = vae.decode(latents / vae.config.scaling_factor).sample
    seconds = time.perf_counter() - started
    peak = _memory_kib("VmHWM")
    weights = sum(p.numel() * p.element_size() for p in vae.parameters())
    return {
        "dtype": dtype_name,
        "size": size,
        "batch": batch,
        "weights_mib": round(weights / 2**20, 1),
        "decode_peak_above_start_mib": round((peak - before) / 1024, 1),
        "output_mib": round(pictures.numel() * pictures.element_size() / 2**20, 1),
        "seconds": round(seconds, 2),
        "torch": torch.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--all", action="store_true", help="float32 and bfloat16, each in a fresh process")
    parser.add_argument("--smoke", action="store_true", help="--all at 64², one thread: the whole path in seconds")
    args = parser.parse_args()
    if args.smoke:
        args.all, args.size, args.batch, args.threads = True, 64, 1, 1
    if not args.all:
        print(json.dumps(measure(args.size, args.batch, args.dtype, args.threads)))
        return
    for dtype in ("float32", "bfloat16"):
        command = [sys.executable, __file__, "--size", str(args.size), "--batch", str(args.batch), "--dtype", dtype]
        subprocess.run([*command, "--threads", str(args.threads)], check=True)


if __name__ == "__main__":
    main()
