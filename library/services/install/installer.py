"""install(): the one entry point (manage.py install_model, the worker task). It checks the options,
fetches the source by its kind (an http(s) URL, a local file or folder, a Hub repo id; a starter
model's name is resolved to its source first, resolve_starter) into the staging folder, and places
what came (library.services.install.placement). The staging folder is emptied either way."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from library.services.install.addresses import Unresolvable, check_url_allowed
from library.services.install.errors import InstallError, NoLibrary
from library.services.install.expression_model import ExpressionSettings
from library.services.install.hub_download import REPO_ID, fetch_hub
from library.services.install.local_copy import copy_local
from library.services.install.placement import ENTRY_NAME, KINDS, Installed, Options, place
from library.services.install.precheck import Precheck
from library.services.install.progress_reports import Progress, no_progress
from library.services.install.staging import Fetched, check_sha256, models_root, staging_root
from library.services.install.url_download import fetch_url

WEB_SCHEMES = ("http://", "https://")


def install(
    source: str,
    *,
    name: str = "",
    kind: str = "",
    revision: str = "",
    subfolder: str = "",
    variant: str = "",
    sha256: str = "",
    force: bool = False,
    rescan: bool = True,
    classes: str = "",
    input_size: str = "",
    color: str = "",
    progress: Progress | None = None,
) -> Installed:
    """Install ``source`` (a Hub repo id ``owner/name[:subfolder]``, an http(s) URL, or a local file
    or folder) into the library; see the package's docstring. ``kind`` is one of KINDS ("" detects
    it). ``classes``, ``input_size`` and ``color`` are for ``kind="expression"`` (docs/faces.md)."""
    progress = progress or no_progress
    source = source.strip()
    expected = _check_options(name=name, kind=kind, sha256=sha256, classes=classes)
    root = models_root()
    staging = staging_root()
    is_hub = not source.startswith(WEB_SCHEMES) and not Path(source).expanduser().exists() and REPO_ID.match(source)
    if (revision or subfolder or variant) and not is_hub:
        raise InstallError.naming("{revision}, {subfolder} and {variant} are for Hub repo ids (owner/name), not URLs or paths.")
    precheck = Precheck(root, name=name, kind=kind, sha256=expected, force=force)
    fetched = _fetch(
        source, staging, expected=expected, revision=revision, subfolder=subfolder, variant=variant, progress=progress, precheck=precheck
    )
    if expected and not fetched.is_file:
        fetched.discard()
        raise InstallError.naming("{sha256} checks one file; this source is a folder.")
    options = Options(source, name=name, kind=kind, revision=fetched.revision, force=force, rescan=rescan)
    expression = ExpressionSettings(classes=classes, input_size=input_size, color=color)
    try:
        return place(fetched, root, options, expression)
    finally:
        fetched.discard()


def check_source(source: str, *, revision: str = "", variant: str = "") -> None:
    """What every worker refuses of the source itself, in the words it would use: another scheme
    (ftp://), a URL whose host is not public (unless GARDEN_MODELS_ALLOW_PRIVATE_URLS), text that
    is neither a URL, a path nor a Hub repo id, and Hub options for a source that is no repo id. A
    path is the worker's (it may exist there only): here only its shape is looked at."""
    path_like = source.startswith(("/", "~", "./", "../")) or Path(source).expanduser().exists()
    if source.startswith(WEB_SCHEMES):
        with contextlib.suppress(Unresolvable):  # the worker may resolve what the web host cannot (it checks again)
            check_url_allowed(source)
    elif "://" in source:
        raise InstallError(f"{source}: only http(s) URLs, Hub repo ids (owner/name) and local paths can be installed.")
    elif not path_like and REPO_ID.match(source) is None:
        raise InstallError(f"{source}: not an http(s) URL, an existing file or folder, or a Hub repo id (owner/name).")
    if (revision or variant) and (path_like or source.startswith(WEB_SCHEMES)):
        raise InstallError.naming("{revision}, {subfolder} and {variant} are for Hub repo ids (owner/name), not URLs or paths.")


def precheck_source(
    source: str, *, name: str = "", kind: str = "", sha256: str = "", force: bool = False, revision: str = "", variant: str = "", **_others
) -> None:
    """What the admin's page checks before queueing: the source and the options as the worker would
    refuse them (check_source, the name's and sha256's form), then no library at all (NoLibrary), then
    an installed name (a URL's or a local file's name, a Hub repo's folder) or a sha256 the library
    has. Each is refused with no worker asked."""
    from django.conf import settings

    source, kind, name, variant = resolve_starter(source, kind=kind, name=name, variant=variant)
    source = source.strip()
    check_source(source, revision=revision, variant=variant)
    if kind != "expression":  # its class map is the command's alone (the form offers no expression kind)
        _check_options(name=name, kind=kind, sha256=sha256, classes="")
    if not settings.GARDEN_MODELS_DIR:
        raise NoLibrary()  # a worker could only fail it, and would have nowhere to say so
    if kind and kind not in KINDS:
        return
    check = Precheck(Path(settings.GARDEN_MODELS_DIR).expanduser(), name=name, kind=kind, sha256=sha256.strip().lower(), force=force)
    if source.startswith(WEB_SCHEMES):
        check(source, filename=source.split("?", 1)[0].rstrip("/").rpartition("/")[2])
    elif Path(source).expanduser().exists():
        check(source, filename=Path(source).expanduser().name, is_file=Path(source).expanduser().is_file())
    else:
        check(source)


def _check_options(*, name: str, kind: str, sha256: str, classes: str) -> str:
    """Refuse options that cannot be right whatever the source; the expected sha256 (lower case)."""
    if kind and kind not in KINDS:
        raise InstallError.naming("{kind} {asked!r}: use one of {kinds}.", asked=kind, kinds=", ".join(KINDS))
    if name and (not ENTRY_NAME.match(name) or name.startswith(".")):
        raise InstallError.naming(
            "{name} {asked!r}: use letters, digits, spaces, '.', '_', '+', '@' or '-' (no slashes), not starting with a dot.", asked=name
        )
    expected = sha256.strip().lower()
    if expected and not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise InstallError.naming("{sha256} {asked!r}: expected 64 hexadecimal digits.", asked=sha256)
    if kind == "expression" and not classes:
        raise InstallError(
            "An expression model needs its class map: --classes neutral=CALM,happiness=HAPPY,… in output order, "
            "or --classes a .json/.txt file of the class names (docs/faces.md#installing-an-expression-model)."
        )
    return expected


def _fetch(
    source: str, staging: Path, *, expected: str, revision: str, subfolder: str, variant: str, progress: Progress, precheck: Precheck
) -> Fetched:
    """The source, by its kind, into the staging folder (a URL's and a local file's sha256 checked);
    ``precheck`` refuses a name or file the library has before the first byte."""
    if source.startswith(WEB_SCHEMES):
        return fetch_url(source, staging, expected=expected, progress=progress, precheck=precheck)
    if "://" in source:
        raise InstallError(f"{source}: only http(s) URLs, Hub repo ids (owner/name) and local paths can be installed.")
    if Path(source).expanduser().exists():
        local = Path(source).expanduser()
        precheck(source, filename=local.name, is_file=local.is_file())
        return copy_local(local, staging, expected=expected, progress=progress)
    match = REPO_ID.match(source)
    if match is None:
        raise InstallError(f"{source}: not an http(s) URL, an existing file or folder, or a Hub repo id (owner/name).")
    precheck(source)  # the sha256 asked for; the Hub's names and hashes are checked once it lists them
    fetched = fetch_hub(
        match.group("repo"),
        staging,
        revision=revision,
        subfolder=subfolder or match.group("subfolder") or "",
        variant=variant,
        progress=progress,
        precheck=precheck,
    )
    if fetched.is_file:
        check_sha256(expected, fetched.sha256, fetched.path)
    return fetched


def resolve_starter(source: str, *, kind: str = "", name: str = "", variant: str = "") -> tuple[str, str, str, str]:
    """A starter model's name (library.starter_models) → its source, kind, name and variant; any
    other source unchanged. What the caller gave wins over the starter's own."""
    from library import starter_models

    starter = starter_models.get(source.strip())
    if starter is None:
        return source, kind, name, variant
    return starter.source, kind or starter.kind, name or starter.name, variant or starter.variant
