from django.apps import AppConfig


class RecommendConfig(AppConfig):
    name = "recommend"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from config.checks import require_choice
        from recommend import attribution
        from recommend.rankers import EXPLORATION, RANKERS

        # Requests in flight decide when waiting attribution rows are written (recommend.attribution).
        request_started.connect(attribution.request_started, dispatch_uid="attribution-started")
        request_finished.connect(attribution.request_finished, dispatch_uid="attribution-finished")
        require_choice("RECOMMEND_BACKEND", RANKERS)
        require_choice("RECOMMEND_EXPLORATION", EXPLORATION)
