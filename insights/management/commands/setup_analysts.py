"""Create or reset the Analysts group; optionally make users analysts."""

from config.groups import RoleGroupCommand
from insights import services


class Command(RoleGroupCommand):
    help = "Create or reset the 'Analysts' group to exactly the insights rights; --user NAME makes a user an analyst (staff + group)."
    member = "an analyst"
    ensure_group = staticmethod(services.ensure_analysts_group)
    make_member = staticmethod(services.make_analyst)
