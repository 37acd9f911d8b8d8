"""Create or reset the Curators group; optionally make users curators."""

from config.groups import RoleGroupCommand
from curation import services


class Command(RoleGroupCommand):
    help = "Create or reset the 'Curators' group to exactly the curation rights; --user NAME makes a user a curator (staff + group)."
    member = "a curator"
    ensure_group = staticmethod(services.ensure_curators_group)
    make_member = staticmethod(services.make_curator)
