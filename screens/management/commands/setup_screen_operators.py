"""Create or reset the Screen operators group; optionally make users screen operators."""

from config.groups import RoleGroupCommand
from screens import services


class Command(RoleGroupCommand):
    help = (
        "Create or reset the 'Screen operators' group to exactly the screens' rights (see the fleet, add and enrol "
        "screens, send them commands); --user NAME makes a user a screen operator (staff + group)."
    )
    member = "a screen operator"
    ensure_group = staticmethod(services.ensure_operators_group)
    make_member = staticmethod(services.make_screen_operator)
