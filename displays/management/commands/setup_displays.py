"""Create or reset the Displays group; optionally make users display operators."""

from config.groups import RoleGroupCommand
from displays import services


class Command(RoleGroupCommand):
    help = (
        "Create or reset the 'Displays' group to exactly the display-zone rights; --user NAME makes a user a display "
        "operator (staff + group), who can fill zones in the admin and call /updateDisplay without being a superuser."
    )
    member = "a display operator"
    ensure_group = staticmethod(services.ensure_displays_group)
    make_member = staticmethod(services.make_display_operator)
