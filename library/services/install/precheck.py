"""Before the first byte: an install whose name is taken, or whose file (by its sha256, when the
caller or the Hub gives it) is in the library already, is refused before anything is fetched.
``--force`` skips both checks: the placement replaces the installed model of that name, and still
refuses a file the library has under another name (placement.refuse_a_second_copy).

The name is what the placement would give it (``--name``, else the file's stem or the folder's
name); with ``--kind`` the check looks in that kind's folder for the name with any suffix, without
it for the same file name in every kind's folder (a LoRA and a checkpoint may share a stem).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from library.models import LibraryEntry
from library.services.install.errors import InstallError
from library.services.install.placement import KIND_FOLDERS, entry_name

WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pth", ".onnx", ".tflite")


@dataclass(frozen=True)
class Precheck:
    root: Path
    name: str = ""
    kind: str = ""
    sha256: str = ""  # the caller's --sha256 (lower case), or ""
    force: bool = False

    def __call__(self, what: str, *, filename: str = "", is_file: bool = True, sha256: str = "") -> None:
        """Refuse before fetching ``what`` when ``filename`` (as the source names it) would land on
        an installed model, or its sha256 (``sha256``, else the caller's) is in the library."""
        if self.force:
            return
        known = (sha256 or self.sha256).lower()
        if known:
            entry = LibraryEntry.objects.filter(sha256=known, present=True).first()
            if entry is not None:
                raise InstallError(
                    f"{what}: a file with sha256 {known} is in the library already, as {entry.name} ({entry.kind_word}, "
                    f"{entry.path}); nothing downloaded."
                )
        if not filename:
            return
        taken = self._taken(filename, is_file)
        if taken:
            raise InstallError.naming(
                "{taken} is already installed; nothing downloaded ({force} replaces it, {name} installs it beside).", taken=taken
            )

    def _taken(self, filename: str, is_file: bool) -> str:
        suffix = Path(filename).suffix if is_file else ""
        if is_file and not suffix:
            suffix = ".safetensors"  # as the placement names a file without one
        try:
            stem = entry_name(self.name, filename, suffix, is_file)
        except InstallError:
            return ""  # the placement names it (or refuses the name) after the download
        if self.kind:
            folders = [self.root / KIND_FOLDERS[self.kind]]
            candidates = [folder / (stem + ending) for folder in folders for ending in ("", *WEIGHT_SUFFIXES)]
        else:
            folders = [self.root / folder for folder in dict.fromkeys(KIND_FOLDERS.values())]
            candidates = [folder / (stem + suffix) for folder in folders]
        for candidate in candidates:
            if candidate.exists() and candidate != self.root:
                return candidate.relative_to(self.root).as_posix() or candidate.name
        return ""
