from django.apps import AppConfig


class RecommendConfig(AppConfig):
    name = "recommend"

    def ready(self) -> None:
        from config.checks import require_choice
        from recommend.rankers import EXPLORATION, RANKERS

        require_choice("RECOMMEND_BACKEND", RANKERS)
        require_choice("RECOMMEND_EXPLORATION", EXPLORATION)
