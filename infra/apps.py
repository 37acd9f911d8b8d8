from django.apps import AppConfig
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
