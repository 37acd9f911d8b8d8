"""Translation catalogs: how they are made (`make messages`) and what CI checks (docs/languages.md).

Every app with visitor or staff text has its own ``locale/`` folder; the project's templates
(``templates/``) and anything else go to ``locale/`` at the root (LOCALE_PATHS). Python and template
strings are the ``django`` domain, JavaScript strings the ``djangojs`` domain. Catalogs carry file
names, not line numbers, so moving a string within a file leaves them alone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = ("ko", "ja")
DOMAINS = ("django", "djangojs")
# Folders makemessages never reads: the virtualenv, tests, benches, build and run outputs, vendored
# scripts and the compiled JavaScript catalogs themselves.
IGNORE = (".venv", "tests", "bench", "staticfiles", "var", "test-artifacts", "*/vendor/*", "*.min.js", "*/jsi18n/*", "deploy")
COPY_SKIP = {".venv", ".git", "var", "staticfiles", "test-artifacts", "node_modules", "__pycache__"}


def makemessages_args(domain: str) -> list[str]:
    args = ["makemessages", "-d", domain, "--add-location=file", "--no-obsolete"]
    args += [f"-l{code}" for code in TRANSLATED]
    args += [f"--ignore={pattern}" for pattern in IGNORE]
    return args


def make_messages(root: Path = ROOT, python: str = sys.executable) -> None:
    """Extract every string into the catalogs (new ones untranslated) and compile them."""
    for domain in DOMAINS:
        subprocess.run([python, "manage.py", *makemessages_args(domain)], cwd=root, check=True, capture_output=True)
    subprocess.run([python, "manage.py", "compilemessages", *(f"--ignore={p}" for p in IGNORE)], cwd=root, check=True, capture_output=True)
    subprocess.run([python, "manage.py", "compilejsi18n"], cwd=root, check=True, capture_output=True)


JS_CATALOGS = ROOT / "garden" / "static" / "jsi18n"


def check_js_compiled(report: Report, root: Path = ROOT, python: str = sys.executable) -> None:
    """The committed JavaScript catalogs are what compilejsi18n makes from today's .po files."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([python, "manage.py", "compilejsi18n", "-o", tmp], cwd=root, check=True, capture_output=True)
        for fresh in sorted(Path(tmp).glob("*/djangojs.js")):
            committed = JS_CATALOGS / fresh.parent.name / fresh.name
            if not committed.exists() or committed.read_text(encoding="utf-8") != fresh.read_text(encoding="utf-8"):
                report.add(committed, "stale or missing JavaScript catalog (run make messages)")


def catalogs(root: Path = ROOT) -> list[Path]:
    """Every .po file of the project (not of the virtualenv)."""
    found = []
    for locale in [root / "locale", *sorted(root.glob("*/locale"))]:
        found += sorted(locale.glob("*/LC_MESSAGES/*.po"))
    return found


def _key(entry) -> tuple[str, str, str]:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)

    def add(self, catalog: Path, what: str) -> None:
        self.problems.append(f"{catalog.relative_to(ROOT)}: {what}")


def check_translated(report: Report, root: Path = ROOT) -> None:
    """No untranslated or fuzzy entry, and the compiled .mo holds what the .po says."""
    import polib

    for po_path in catalogs(root):
        po = polib.pofile(str(po_path))
        for entry in po.untranslated_entries():
            report.add(po_path, f"untranslated: {entry.msgid!r}")
        for entry in po.fuzzy_entries():
            report.add(po_path, f"fuzzy: {entry.msgid!r}")
        # gettext's own verdict too (the figures docs/languages.md quotes).
        msgfmt = subprocess.run(["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po_path)], capture_output=True, text=True)
        if msgfmt.returncode or "untranslated" in msgfmt.stderr or "fuzzy" in msgfmt.stderr:
            report.add(po_path, f"msgfmt: {msgfmt.stderr.strip()}")
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists():
            report.add(po_path, "no compiled .mo (run make messages)")
            continue
        wanted = {_key(e): (e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in po.translated_entries()}
        compiled = {_key(e): (e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in polib.mofile(str(mo_path)) if e.msgid}
        if wanted != compiled:
            report.add(po_path, "the .mo is older than the .po (run make messages)")


def check_current(report: Report, root: Path = ROOT, python: str = sys.executable) -> None:
    """makemessages run on a copy of the tree would add or drop no entry of any catalog."""
    import polib

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "tree"
        shutil.copytree(root, copy, ignore=lambda _dir, names: [n for n in names if n in COPY_SKIP])
        for domain in DOMAINS:
            subprocess.run([python, "manage.py", *makemessages_args(domain)], cwd=copy, check=True, capture_output=True)
        before = {p.relative_to(root) for p in catalogs(root)}
        after = {p.relative_to(copy) for p in catalogs(copy)}
        for missing in sorted(after - before):
            report.add(root / missing, "missing: makemessages would create it")
        for relative in sorted(before & after):
            old = {_key(e) for e in polib.pofile(str(root / relative)) if not e.obsolete}
            new = {_key(e) for e in polib.pofile(str(copy / relative)) if not e.obsolete}
            for key in sorted(new - old):
                report.add(root / relative, f"not in the catalog yet: {key[1]!r}")
            for key in sorted(old - new):
                report.add(root / relative, f"no longer in the code: {key[1]!r}")


def check(root: Path = ROOT) -> list[str]:
    report = Report()
    check_translated(report, root)
    check_js_compiled(report, root)
    check_current(report, root)
    return report.problems
