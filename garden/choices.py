"""garden's value sets, in one place: a picture's status, the image check's verdict, orientation
and a visitor's age group.

The model's fields and constraint, the named queries (garden.queries), the admin filters and every
other app spell these values through the names here, never as string literals
(tests/garden/test_choices.py reads the code for them). The stored strings are database values
and, for the age group, wire values: they never change.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from garden.keys import LANDSCAPE, PORTRAIT


class Status(models.TextChoices):
    """Where a picture is in the garden (docs/development.md#glossary: serving, pool, rejected)."""

    POOL = "pool", _("Pool (awaiting review)")
    SERVING = "serving", _("Serving")
    REJECTED = "rejected", _("Rejected")


class Verdict(models.TextChoices):
    """The image check's verdict (safety.images); flagged and not released is quarantined."""

    PASSED = "passed", _("Passed")
    FLAGGED = "flagged", _("Flagged")
    UNCHECKED = "unchecked", _("Unchecked")


class Orientation(models.TextChoices):
    LANDSCAPE = LANDSCAPE, _("Landscape")
    PORTRAIT = PORTRAIT, _("Portrait")


class AgeGroup(models.TextChoices):
    """A visitor's apparent age group: "generation" on the wire (docs/development.md#glossary)."""

    TODDLER = "toddler"
    CHILD = "child"
    TEENAGER = "teenager"
    YOUNG_ADULT = "young-adult"
    ADULT = "adult"
    MIDDLE_AGE = "middle-age"
    ELDER = "elder"


# The image check's verdicts as conditions on Image's columns (the named queries and the model's
# constraint use them). Quarantined: flagged and not released by a curator; never served, bred
# from or promoted. Cleared: the check passed it, or a curator released it; promotable with no curator.
QUARANTINED = models.Q(safety_verdict=Verdict.FLAGGED, safety_released=False)
CLEARED = models.Q(safety_verdict=Verdict.PASSED) | models.Q(safety_released=True)
