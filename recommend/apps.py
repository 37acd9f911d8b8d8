from django.apps import AppConfig


class RecommendConfig(AppConfig):
    name = "recommend"

    def ready(self) -> None:
        from config.cache import on_recovery
        from config.checks import require_choice
        from recommend import tokens
        from recommend.rankers import EXPLORATION, RANKERS

        # A token replacement lost in a cache outage must not leave a copy kept under the old token.
        on_recovery(tokens.renew_all)
        require_choice("RECOMMEND_BACKEND", RANKERS)
        require_choice("RECOMMEND_EXPLORATION", EXPLORATION)
