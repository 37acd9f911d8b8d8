from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy


class InfraConfig(AppConfig):
    name = "infra"
    verbose_name = gettext_lazy("Infrastructure")

    def ready(self) -> None:
        from config import auth, idempotency
        from infra import client_keys
        from infra.idempotency import IdempotencyKeyRows

        idempotency.use_idempotency_records(IdempotencyKeyRows())  # the job API's, the kiosk's and A1111's write endpoints keep keys here
        auth.use_client_keys(client_keys.ClientKeyRows())  # every API view takes client keys (config.auth)
        # django-axes's section in the admin, under a name in the curator's language (its other
        # words, which axes ships no Korean or Japanese for, are in infra/third_party_words.py).
        if apps.is_installed("axes"):
            apps.get_app_config("axes").verbose_name = gettext_lazy("Login lock-out")
