"""Garden's table and column names, for raw SQL in other apps: read from the models, so a renamed
table or column reaches every statement that names it. Quote them where they go into SQL
(``connection.ops.quote_name``)."""

from garden.models import CatalogChange, Image, ServingState, Visitor


def _column(model, field: str) -> str:
    return model._meta.get_field(field).column


IMAGE = Image._meta.db_table
IMAGE_ID = _column(Image, "id")
IMAGE_KEY = _column(Image, "key")
IMAGE_SEARCH_KEY = _column(Image, "search_key")

VISITOR = Visitor._meta.db_table
VISITOR_ID = _column(Visitor, "id")
VISITOR_SEGMENT = _column(Visitor, "segment")

SERVING_STATE = ServingState._meta.db_table
SERVING_STATE_VERSION = _column(ServingState, "version")

CATALOG_CHANGE = CatalogChange._meta.db_table
CATALOG_CHANGE_VERSION = _column(CatalogChange, "version")
