"""The fault suite runs only when asked for: ``pytest -m faults tests/faults``.

It starts servers of its own and kills them on purpose (minutes of wall time), so a plain
``pytest`` (or any ``-m`` expression that does not name ``faults``) skips it.
"""

import pytest

from testkit.faults.processes import missing_tools
from testkit.faults.stack import running_stack


def pytest_collection_modifyitems(config, items):
    if "faults" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="fault suite: run it with `pytest -m faults tests/faults`")
    for item in items:
        if item.get_closest_marker("faults"):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def stack():
    """One installation for the module's scenarios, torn down at its end whatever happened."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"the fault suite needs {', '.join(missing)}")
    with running_stack() as running:
        yield running
