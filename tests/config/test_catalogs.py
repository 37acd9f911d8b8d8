"""The translation catalogs are complete and current (docs/languages.md, config/catalogs.py)."""

import pytest

from config import catalogs

# Depends on no database, cache or broker of the run: CI runs it once, in the pass on the embedded defaults.
pytestmark = pytest.mark.backend_free


def test_every_catalog_entry_is_translated_and_compiled():
    report = catalogs.Report()
    catalogs.check_translated(report)
    assert not report.problems, "\n".join(report.problems)


def test_the_javascript_catalogs_are_compiled_from_todays_catalogs():
    report = catalogs.Report()
    catalogs.check_js_compiled(report)
    assert not report.problems, "\n".join(report.problems)


@pytest.mark.slow
def test_makemessages_would_change_no_catalog():
    """A string added to the code without its catalog entry (make messages, then translate) fails here."""
    report = catalogs.Report()
    catalogs.check_current(report)
    assert not report.problems, "\n".join(report.problems)
