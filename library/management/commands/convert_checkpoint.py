"""Convert a .ckpt/.pth pickle into .safetensors beside it, without running code from the file.

manage.py convert_checkpoint models/old-model.ckpt [--output models/old-model.safetensors] [--half] [--remove]

The pickle is read by torch's ``weights_only`` unpickler (tensors and plain containers only: a
file that names anything else is refused), the state dict (a checkpoint's ``state_dict``, else the
whole mapping) is written with safetensors, and a rescan lists the new file (docs/models.md).
Needs torch (a worker's environment).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Convert a .ckpt/.pth pickle into a .safetensors file (torch's weights_only unpickler: no code from the file runs)."

    def add_arguments(self, parser):
        parser.add_argument("source", help="the .ckpt or .pth file")
        parser.add_argument("--output", help="the .safetensors file to write (default: beside the source, same stem)")
        parser.add_argument("--half", action="store_true", help="store floating-point tensors as fp16 (half the size)")
        parser.add_argument("--remove", action="store_true", help="delete the pickle once the .safetensors file is written")

    def handle(self, *args, source: str, output: str | None, half: bool, remove: bool, **options):
        try:
            import torch
            from safetensors.torch import save_file
        except ImportError:
            raise CommandError("convert_checkpoint needs torch and safetensors: run it where a GPU worker runs.") from None
        path = Path(source)
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        target = Path(output) if output else path.with_suffix(".safetensors")
        if target.exists():
            raise CommandError(f"{target} exists already: remove it or choose --output.")
        try:
            loaded = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # UnpicklingError for a global outside the allow-list, a zip error…
            raise CommandError(f"{path} cannot be read safely ({type(exc).__name__}: {exc}).") from None
        state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
        if not isinstance(state, dict):
            raise CommandError(f"{path} holds no state dict of tensors.")
        tensors = {str(key): value for key, value in state.items() if isinstance(value, torch.Tensor)}
        if not tensors:
            raise CommandError(f"{path} holds no tensors.")
        if half:
            tensors = {key: value.half() if value.is_floating_point() else value for key, value in tensors.items()}
        staging = target.with_name(f".{target.name}.partial")
        # Shared tensors (tied weights) must be separate copies in safetensors.
        save_file({key: value.contiguous().clone() for key, value in tensors.items()}, str(staging), metadata={"converted_from": path.name})
        staging.replace(target)
        left_out = len(state) - len(tensors)
        self.stdout.write(self.style.SUCCESS(f"wrote {target} ({len(tensors)} tensors, {left_out} other entries left out)"))
        if remove:
            path.unlink()
            self.stdout.write(f"removed {path}")
        if settings.GARDEN_MODELS_DIR:
            from library.services import entries as library

            self.stdout.write(f"model library: {library.scan().summary()}")
