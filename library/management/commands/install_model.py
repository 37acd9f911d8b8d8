"""Install a model into GARDEN_MODELS_DIR from the Hub, a URL or a local path (docs/models.md#installing-models).

manage.py install_model stabilityai/sd-turbo --variant fp16
manage.py install_model https://example.org/ink-wash.safetensors --sha256 3f1c… --kind lora
manage.py install_model /mnt/usb/sdxl-base.safetensors --name sdxl-base
manage.py install_model --list            # the starter models; manage.py install_model sd-turbo
manage.py install_model ./enet_b0_8_best_vgaf.onnx --kind expression --classes labels.json   # docs/faces.md
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from library import starter_models
from library.services import install as installer


class Command(BaseCommand):
    help = (
        "Install a model into GARDEN_MODELS_DIR from a Hub repo id (owner/name[:subfolder]), an http(s) URL, a local file or "
        "folder, or a starter model's name (--list); verify it, record its source and sha256, and rescan the library."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", help="owner/name[:subfolder], https://…, a path, or a starter model's name")
        parser.add_argument("--list", action="store_true", help="print the starter models and exit")
        parser.add_argument("--name", default="", help="the entry's name (default: the file's stem or the folder's name)")
        parser.add_argument("--kind", default="", choices=installer.KINDS, help="where it goes (default: detected)")
        parser.add_argument("--revision", default="", help="Hub: a branch, tag or commit")
        parser.add_argument("--subfolder", default="", help="Hub: a folder of the repo (or owner/name:subfolder)")
        parser.add_argument("--variant", default="", help="Hub: take only this variant's weights where there are some (fp16)")
        parser.add_argument("--sha256", default="", help="refuse the file unless its sha256 is this")
        parser.add_argument("--force", action="store_true", help="replace an installed model of the same name")
        parser.add_argument("--no-rescan", action="store_true", help="do not rescan the library afterwards")
        parser.add_argument("--classes", default="", help="expression models: the class map (name=LABEL,… or a .json/.txt file)")
        parser.add_argument("--input-size", default="", help="expression models: input size when the model does not fix it (224)")
        parser.add_argument("--color", default="", help="expression models: grey, rgb or bgr when the channels do not tell")

    def handle(self, *args, **options):
        if options["list"]:
            self._list()
            return
        source = options["source"]
        if not source:
            raise CommandError("Name what to install: a Hub repo id, a URL, a path, or a starter model (--list).")
        source, kind, name, variant = installer.resolve_starter(
            source, kind=options["kind"], name=options["name"], variant=options["variant"]
        )
        bar = _Bar(self.stderr if options["verbosity"] > 0 else None)
        try:
            installed = installer.install(
                source,
                name=name,
                kind=kind,
                revision=options["revision"],
                subfolder=options["subfolder"],
                variant=variant,
                sha256=options["sha256"],
                force=options["force"],
                rescan=not options["no_rescan"],
                classes=options["classes"],
                input_size=options["input_size"],
                color=options["color"],
                progress=bar,
            )
        except installer.InstallError as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            raise CommandError("interrupted: nothing installed; run the same install again to resume a download.") from None
        finally:
            bar.close()
        self._report(installed)

    def _report(self, installed: installer.Installed) -> None:
        what = f"installed {installed.what}, {filesizeformat(installed.size)}"
        if installed.sha256:
            what += f", sha256 {installed.sha256}"
        self.stdout.write(self.style.SUCCESS(what))
        entry = installed.entry
        if entry is not None:
            line = f"{entry.kind_word:9} {entry.name}: {entry.family}, {filesizeformat(entry.size_bytes)}  [{entry.path}]"
            if getattr(entry, "short_hash", ""):
                line += f"  hash {entry.short_hash}"
            self.stdout.write(line)
        if installed.scan_note:
            self.stdout.write(self.style.WARNING(installed.scan_note))
        if installed.settings_lines:
            self.stdout.write("Set these for /emotion (docs/faces.md#own-expression-model), then restart web and workers:")
            for line in installed.settings_lines:
                self.stdout.write(f"  {line}")

    def _list(self) -> None:
        self.stdout.write("Starter models (manage.py install_model NAME):")
        width = max(len(starter.name) for starter in starter_models.STARTERS)
        for starter in starter_models.STARTERS:
            variant = f" --variant {starter.variant}" if starter.variant else ""
            kind = installer.KIND_WORDS.get(starter.kind, starter.kind)
            self.stdout.write(f"  {starter.name:{width}}  {kind:24} {starter.size:>7}  {starter.about}")
            self.stdout.write(f"  {'':{width}}  {starter.source}{variant}")
            self.stdout.write(f"  {'':{width}}  licence: {starter.licence}")


class _Bar:
    """A tqdm byte bar on stderr, made on the first report (whose total it takes)."""

    def __init__(self, stream) -> None:
        self.stream, self.bar, self.what = stream, None, ""

    def __call__(self, done: int, total: int | None, what: str) -> None:
        if self.stream is None:
            return
        if self.bar is None or what != self.what:
            from tqdm import tqdm

            self.close()
            self.what = what
            self.bar = tqdm(total=total, initial=done, unit="B", unit_scale=True, unit_divisor=1024, desc=what[:40], file=sys.stderr)
        if total is not None and self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
