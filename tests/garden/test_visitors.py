"""garden.visitors: what counts as a visitor id, and its stored form."""

import math

import pytest

from garden.visitors import InvalidVisitorId, new_visitor_id, parse_visitor_id


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("1234567890", "1234567890"),
        (1234567890, "1234567890"),
        (1234567890.0, "1234567890"),
        (12.5, "12.5"),
        ("47F9EEB5-4252-435E-A1C9-B4A936F015AE", "47f9eeb5-4252-435e-a1c9-b4a936f015ae"),
        ("47F9EEB5", "47F9EEB5"),  # not a UUID: kept exactly
        ("kiosk 3 / visitor #42", "kiosk 3 / visitor #42"),
        ("방문자-7", "방문자-7"),
        ("x" * 64, "x" * 64),
    ],
)
def test_accepted_ids_and_their_stored_form(sent, stored):
    assert parse_visitor_id(sent) == stored


@pytest.mark.parametrize("sent", [True, False, None, [], {}, "", " x", "x ", "x" * 65, "a\nb", "\x85", math.inf, math.nan])
def test_refused_ids(sent):
    with pytest.raises(InvalidVisitorId):
        parse_visitor_id(sent)


def test_new_ids_are_uuid4_strings():
    first, second = new_visitor_id(), new_visitor_id()
    assert first != second and len(first) == 36 and first[14] == "4"
