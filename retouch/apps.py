from dataclasses import replace

from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class RetouchConfig(AppConfig):
    """Retouching (docs/retouch.md) and upscaling: generation jobs of the three kinds it registers
    here, whose own state is a RetouchJob row (retouch.models)."""

    name = "retouch"
    verbose_name = gettext_lazy("Retouch")

    def ready(self) -> None:
        from garden import keys
        from generation import kinds
        from provenance import xmp
        from retouch import runner, serializers, uploads, upscale, upscale_runner, views
        from retouch.models import RetouchKind
        from retouch.requests import validate_retouch

        uploads.check_private_storage()  # the uploads never inside the served media folder
        # Generation's job API, request validation, worker, file naming, provenance and sweep hand
        # these kinds to us (generation.kinds).
        retouch = kinds.JobKind(
            label=RetouchKind.RETOUCH.label,
            validate=validate_retouch,
            run=runner.retouch_all,
            submit=views.submit_job,
            parser=serializers.RetouchMultiPartParser,
            form=serializers.RetouchJobSerializer,
            responses={
                413: "Retouch pictures over GARDEN_RETOUCH_MAX_BODY_BYTES or GARDEN_RETOUCH_MAX_PIXELS",
                503: "A retouch feature whose model is not configured (names the setting)",
            },
            answer_field="retouch",
            answer=lambda job: job.retouch_job.answer(),
            relation="retouch_job",
            extension=keys.PNG,  # lossless: the untouched pixels stay the source's
            source_type=xmp.COMPOSITE,  # an edit of a picture with trained-model pixels
            sweep=uploads.purge_finished_uploads,
        )
        kinds.register(RetouchKind.RETOUCH.value, retouch)
        kinds.register(RetouchKind.BATCH.value, replace(retouch, label=RetouchKind.BATCH.label))
        # One uploaded picture enlarged by a library upscaler or a resampler (retouch.upscale).
        kinds.register(
            upscale.UPSCALE,
            kinds.JobKind(
                label=upscale.LABEL,
                validate=upscale.validate_upscale,
                run=upscale_runner.upscale_all,
                submit=views.submit_upscale,
                parser=serializers.RetouchMultiPartParser,
                form=serializers.UpscaleJobSerializer,
                responses={413: "Upscale pictures over GARDEN_RETOUCH_MAX_BODY_BYTES or GARDEN_RETOUCH_MAX_PIXELS"},
                answer_field="upscale",
                answer=lambda job: job.retouch_job.answer(),
                relation="retouch_job",
                extension=keys.PNG,
                source_type=xmp.COMPOSITE,  # an edit of a picture, as img2img's: its pixels are a trained model's
                sweep=uploads.purge_finished_uploads,
            ),
        )
