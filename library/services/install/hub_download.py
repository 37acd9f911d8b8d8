"""A Hugging Face Hub repo (``owner/name[:subfolder]``), downloaded into the staging folder through
huggingface_hub (``HF_ENDPOINT`` and ``HF_TOKEN`` honoured; its ``.incomplete`` files resume).

A repo of one weights file becomes that file, checked against the Hub's own sha256 of it; any other
becomes a folder of the files select_hub_files takes (a diffusers pipeline: the components
model_index.json names).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from library import files as library_files
from library.services.install.errors import InstallError
from library.services.install.progress_reports import Progress
from library.services.install.staging import Fetched, check_free_space, is_disk_full, one_install_at_a_time

REPO_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?::(?P<subfolder>[\w./-]+))?$")
HUB_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".msgpack", ".h5", ".onnx", ".onnx_data", ".pb", ".gguf")
HUB_SKIPPED_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".mp4", ".gitattributes")


@contextlib.contextmanager
def hub_online() -> Iterator[None]:
    """Let huggingface_hub reach the network for this install's own calls.

    Settings set HF_HUB_OFFLINE=1 (GARDEN_HF_OFFLINE) so that nothing else ever downloads; the
    library reads it once, at import, into ``huggingface_hub.constants.HF_HUB_OFFLINE``, which its
    HTTP layer asks on every request (``constants.is_offline_mode()``). The install turns that flag
    off while it runs and back afterwards; it runs in a process of its own (the command) or a
    default-queue worker process that does not paint, so no diffusers load happens meanwhile.
    """
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


def select_hub_files(files: dict[str, int], *, subfolder: str, variant: str, components: set[str] | None = None) -> list[str]:
    """The repo files an install takes (paths relative to the repo):

    - only those under ``subfolder``;
    - a diffusers pipeline (``model_index.json``): model_index.json, README.md and the folders of its
      components (``components``, read from model_index.json, when known: not an ONNX or spare VAE
      folder beside them), not the single-file checkpoints beside them;
    - weights: safetensors where a folder has them (not .bin/.msgpack/.h5/.onnx twins), and with
      ``variant`` (fp16) the ``*.fp16.*`` files where a folder has them, else the plain ones;
    - no pictures, no .gitattributes.
    """
    prefix = _prefix(subfolder)
    names = [path for path in files if path.startswith(prefix)]
    relative = {path[len(prefix) :]: path for path in names}
    if "model_index.json" in relative:
        # A pipeline's components live in sub-folders; files beside model_index.json other than the
        # README (which the scan reads) are single-file copies of the same model.
        relative = {
            rel: full
            for rel, full in relative.items()
            if ("/" in rel and (components is None or rel.split("/", 1)[0] in components)) or rel in ("model_index.json", "README.md")
        }
    chosen: list[str] = []
    by_folder: dict[str, list[str]] = {}
    for rel in relative:
        by_folder.setdefault(rel.rpartition("/")[0], []).append(rel)
    for rels in by_folder.values():
        weights = [rel for rel in rels if rel.endswith(HUB_WEIGHT_SUFFIXES)]
        others = [rel for rel in rels if rel not in weights and not rel.lower().endswith(HUB_SKIPPED_SUFFIXES)]
        safetensors = [rel for rel in weights if rel.endswith(".safetensors")]
        if safetensors:
            weights = safetensors
        tagged = [rel for rel in weights if variant and f".{variant}." in rel.rpartition("/")[2]]
        if variant and tagged:
            weights = tagged
        else:
            weights = [rel for rel in weights if not re.search(r"\.(fp16|bf16|fp32|ema|non_ema)\.", rel.rpartition("/")[2])] or weights
        chosen.extend(relative[rel] for rel in [*others, *weights])
    return sorted(chosen)


@dataclass
class _Downloaded:
    commit: str
    chosen: list[str]  # repo paths, now under the target folder
    hub_sha256: dict[str, str]  # repo path → the Hub's sha256 of it (LFS files)


def fetch_hub(
    repo_id: str,
    folder: Path,
    *,
    revision: str,
    subfolder: str,
    variant: str,
    progress: Progress,
    precheck: Callable[..., None] | None = None,
) -> Fetched:
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    target = folder / f"hub-{repo_id.replace('/', '--')}"
    where = f"{repo_id}{':' + subfolder if subfolder else ''}{'@' + revision if revision else ''}"
    try:
        with one_install_at_a_time(folder / f"{target.name}.lock", repo_id), hub_online():
            downloaded = _download(
                repo_id, target, where, revision=revision, subfolder=subfolder, variant=variant, progress=progress, precheck=precheck
            )
    except InstallError:
        raise
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        raise InstallError(
            f"{where}: repository not found or not accessible (a private or gated repo needs HF_TOKEN): {_first_line(exc)}"
        ) from None
    except RevisionNotFoundError as exc:
        raise InstallError(f"{where}: no such revision: {_first_line(exc)}") from None
    except (EntryNotFoundError, LocalEntryNotFoundError) as exc:
        raise InstallError(f"{where}: a file could not be fetched: {_first_line(exc)}") from None
    except HfHubHTTPError as exc:
        raise InstallError(f"{where}: the Hub answered an error: {_first_line(exc)}") from None
    except OSError as exc:
        if is_disk_full(exc):
            shutil.rmtree(target, ignore_errors=True)
            raise InstallError(f"disk full while downloading {where}: free some space and install again.") from None
        raise InstallError(f"{where}: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # httpx errors (connection refused, timeouts) and the like
        raise InstallError(f"{where}: {type(exc).__name__}: {_first_line(exc)}; run the same install again to resume.") from None
    return _as_fetched(repo_id, target, where, downloaded, subfolder=subfolder)


def _download(
    repo_id: str, target: Path, where: str, *, revision: str, subfolder: str, variant: str, progress: Progress, precheck=None
) -> _Downloaded:
    """The chosen files of the repo at one commit, into ``target``, their bytes summed into progress."""
    from huggingface_hub import HfApi, hf_hub_download
    from tqdm.auto import tqdm as base_tqdm

    token = os.environ.get("HF_TOKEN") or None
    endpoint = os.environ.get("HF_ENDPOINT", "").rstrip("/") or None
    info = HfApi(endpoint=endpoint, token=token).model_info(repo_id, revision=revision or None, files_metadata=True)
    commit = info.sha or ""
    files = {sibling.rfilename: int(sibling.size or 0) for sibling in info.siblings or []}
    hub_sha256 = {s.rfilename: (s.lfs.sha256 if s.lfs else "") for s in info.siblings or []}
    chosen = select_hub_files(files, subfolder=subfolder, variant=variant)
    if precheck is not None:  # what it would install, named and (one file) hashed by the Hub, before its bytes
        weights = [path for path in chosen if path.endswith(HUB_WEIGHT_SUFFIXES)]
        layout = [path for path in chosen if path.rpartition("/")[2] in ("model_index.json", "config.json")]
        if len(weights) == 1 and not layout:
            precheck(where, filename=weights[0].rpartition("/")[2], sha256=hub_sha256.get(weights[0], ""))
        else:
            precheck(where, filename=(subfolder.strip("/").rpartition("/")[2] or repo_id.rpartition("/")[2]), is_file=False)
    index_path = _prefix(subfolder) + "model_index.json"
    if index_path in chosen:
        # A pipeline: only the folders model_index.json names (its components).
        index_file = hf_hub_download(repo_id, index_path, revision=commit or None, local_dir=target, endpoint=endpoint, token=token)
        index = json.loads(Path(index_file).read_text())
        components = {key for key, value in index.items() if not key.startswith("_") and isinstance(value, list) and value and value[0]}
        chosen = select_hub_files(files, subfolder=subfolder, variant=variant, components=components)
    if not chosen:
        raise InstallError(f"{where}: no model files there (subfolder {subfolder or '-'}, variant {variant or '-'}).")
    total = sum(files[path] for path in chosen)
    check_free_space(target.parent, total, where)
    done_before = 0
    progress(0, total, repo_id)

    class Bar(base_tqdm):
        """hf_hub_download's per-file bar, summed into the install's progress."""

        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self._seen = int(kwargs.get("initial") or 0)
            progress(done_before + self._seen, total, repo_id)

        def update(self, n=1):
            self._seen += int(n or 0)
            progress(done_before + self._seen, total, repo_id)

    for path in chosen:
        hf_hub_download(
            repo_id, path, revision=commit or revision or None, local_dir=target, endpoint=endpoint, token=token, tqdm_class=Bar
        )
        done_before += files[path]
        progress(done_before, total, repo_id)
    return _Downloaded(commit, chosen, hub_sha256)


def _as_fetched(repo_id: str, target: Path, where: str, downloaded: _Downloaded, *, subfolder: str) -> Fetched:
    """What an install places: the one weights file of a single-file repo, else the (sub)folder."""
    staging_folder = target.parent
    weights = [path for path in downloaded.chosen if path.endswith(HUB_WEIGHT_SUFFIXES)]
    layout_files = [path for path in downloaded.chosen if path.rpartition("/")[2] in ("model_index.json", "config.json")]
    if len(weights) == 1 and not layout_files:
        # A single-file repo (a LoRA, a VAE, a checkpoint): install that file alone, hashed and checked
        # against the Hub's own sha256 of it.
        only = target / weights[0]
        sha = library_files.sha256_of(only)
        expected = downloaded.hub_sha256.get(weights[0], "")
        if expected and expected != sha:
            shutil.rmtree(target, ignore_errors=True)
            raise InstallError(f"{where}: {weights[0]} does not match the Hub's sha256 ({expected}); nothing installed.")
        loose = staging_folder / f"hub-{hashlib.sha256(repo_id.encode()).hexdigest()[:12]}-{only.name}"
        os.replace(only, loose)
        shutil.rmtree(target, ignore_errors=True)
        return Fetched(loose, only.name, sha256=sha, size=loose.stat().st_size, revision=downloaded.commit)
    # A folder: drop huggingface_hub's own bookkeeping; keep only the subfolder.
    shutil.rmtree(target / ".cache", ignore_errors=True)
    prefix = _prefix(subfolder)
    if prefix:
        moved = staging_folder / f"{target.name}-sub"
        shutil.rmtree(moved, ignore_errors=True)
        os.replace(target / prefix, moved)
        shutil.rmtree(target, ignore_errors=True)
        target = moved
    folder_name = (subfolder.strip("/").rpartition("/")[2] if prefix else "") or repo_id.rpartition("/")[2]
    size = sum(item.stat().st_size for item in target.rglob("*") if item.is_file())
    return Fetched(target, folder_name, size=size, revision=downloaded.commit)


def _prefix(subfolder: str) -> str:
    """A subfolder as a repo path prefix ("" for the repo's top)."""
    return subfolder.strip("/") + "/" if subfolder.strip("/") else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
