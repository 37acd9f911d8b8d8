from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class RecommendConfig(AppConfig):
    name = "recommend"
    verbose_name = gettext_lazy("Recommendations")

    def ready(self) -> None:
        from config.checks import require_choice
        from recommend.rankers import EXPLORATION, RANKERS

        require_choice("RECOMMEND_BACKEND", RANKERS)
        require_choice("RECOMMEND_EXPLORATION", EXPLORATION)
