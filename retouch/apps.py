from django.apps import AppConfig


class RetouchConfig(AppConfig):
    """Retouching (docs/retouch.md): its jobs are generation jobs of the kinds it registers here."""

    name = "retouch"

    def ready(self) -> None:
        from generation import kinds
        from generation.models import GenerationJob
        from retouch import runner, serializers, views
        from retouch.options import RetouchOptions

        # Generation's job API, request validation and worker hand these kinds to us (generation.kinds).
        kinds.register(
            GenerationJob.RETOUCH_KINDS,
            kinds.JobKind(
                run=runner.retouch_all,
                default_options=RetouchOptions,
                submit=views.submit_job,
                parser=serializers.RetouchMultiPartParser,
                form=serializers.RetouchJobSerializer,
            ),
        )
