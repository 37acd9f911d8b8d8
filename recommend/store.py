"""The trained model as web processes see it: the latest ModelVersion, loaded from its row (and kept
per process by the serving cache, recommend.serving, while it is the latest). /garden reads the
latest version's id in its context statement, so a rebuild made by a Celery worker reaches every
web process in its next request, without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from recommend.als import ALSFactors
from recommend.lineage import Lineage
from recommend.models import ModelVersion
from recommend.ranking import Params
from recommend.taste import Taste


@dataclass(frozen=True)
class LoadedModel:
    version: int  # 0: nothing trained yet (default parameters)
    params: Params
    als: ALSFactors | None = None
    taste: Taste | None = None  # how segments like what pictures show (recommend.taste); None: counts alone
    lineage: Lineage | None = None  # bred pictures' head start from their parents (recommend.lineage)

    @property
    def label(self) -> str:
        return f"counting-v{self.version}" + ("+als" if self.als is not None and self.params.als_weight else "")


def default_params() -> Params:
    return Params(
        als_weight=settings.RECOMMEND_ALS_WEIGHT if settings.RECOMMEND_ALS_ENABLED else 0.0,
        als_min_likes=settings.RECOMMEND_ALS_MIN_LIKES,
    )


def latest_version_id() -> int:
    """The newest ModelVersion's id; 0 when nothing was trained yet."""
    return ModelVersion.objects.order_by("-id").values_list("id", flat=True).first() or 0


def load_model(version: int) -> LoadedModel:
    """The model of ModelVersion ``version``; the defaults when there is none (0: nothing trained)."""
    row = ModelVersion.objects.filter(pk=version).first() if version else None
    if row is None:
        return LoadedModel(version=0, params=default_params())
    # Fitted priors come from the row; whether ALS counts is this deployment's setting.
    defaults = default_params()
    params = Params.from_dict({**row.params, "als_weight": defaults.als_weight, "als_min_likes": defaults.als_min_likes})
    return LoadedModel(
        version=row.pk, params=params, als=ALSFactors.loads(row.artefact), taste=Taste.loads(row.taste), lineage=Lineage.loads(row.lineage)
    )
