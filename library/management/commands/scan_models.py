"""Scan GARDEN_MODELS_DIR into the model library and print what it holds (docs/models.md).

manage.py scan_models
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from config.errors import DomainError
from library import selectors as library
from library.services import follow as library_follow


class Command(BaseCommand):
    help = (
        "Scan GARDEN_MODELS_DIR for models (diffusers folders, single-file checkpoints), LoRAs, embeddings, VAEs "
        "and upscalers; print what was found, each file's short hash, and what cannot be used and why."
    )

    def handle(self, *args, **options):
        if not settings.GARDEN_MODELS_DIR:
            self.stdout.write("GARDEN_MODELS_DIR is empty: no model library; jobs use GARDEN_DIFFUSION_MODEL.")
            return
        try:
            result = library_follow.scan_now("command")  # waits while another process scans
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        for entry in result.found:
            flag = " (default)" if entry.is_default else ""
            line = f"{entry.kind_word:9} {entry.name}{flag}: {entry.family}, {filesizeformat(entry.size_bytes)}"
            if entry.kind == entry.Kind.PIPELINE:
                guidance = "-" if entry.default_guidance is None else f"{entry.default_guidance:g}"
                line += f", {entry.default_steps or '-'} steps, cfg {guidance}, {entry.default_width or '-'}x{entry.default_height or '-'}"
            if entry.short_hash:
                line += f", hash {entry.short_hash}"
            if entry.source:
                line += f", from {entry.source}"
            self.stdout.write(f"{line}  [{entry.path}]")
            if not entry.usable:
                self.stdout.write(self.style.WARNING(f"          not usable: {entry.unusable_reason}"))
        for entry in result.missing:
            self.stdout.write(f"missing   {entry.name} ({entry.kind}): no longer in {settings.GARDEN_MODELS_DIR}")
        for path, why in result.skipped:
            self.stdout.write(f"skipped   {path}: {why}")
        self.stdout.write(self.style.SUCCESS(f"model library: {result.summary()}"))
        self.stdout.write(f"this scan: {result.changes()}")
        problem = library.default_state().problem
        if problem and problem != result.default_note:
            self.stdout.write(self.style.WARNING(problem))
