"""The AUTOMATIC1111-compatible routes (docs/a1111.md), at the paths A1111 clients call."""

from django.urls import path, re_path

from a1111 import catalog_views as sdapi
from a1111 import queue_views, views

urlpatterns = [
    path("sdapi/v1/img2img", views.Img2ImgView.as_view(), name="a1111-img2img"),
    path("sdapi/v1/options", views.OptionsView.as_view(), name="a1111-options"),
    path("controlnet/detect", views.DetectView.as_view(), name="a1111-detect"),
    path("controlnet/detect-only", views.DetectView.as_view()),
    path("tagger/v1/interrogate", views.InterrogateView.as_view(), name="a1111-interrogate"),
    path("tagger/v1/interrogators", views.InterrogatorsView.as_view(), name="a1111-interrogators"),
    # The rest of what A1111 clients call (docs/views.md).
    path("sdapi/v1/txt2img", sdapi.Txt2ImgView.as_view(), name="a1111-txt2img"),
    path("sdapi/v1/extra-single-image", sdapi.ExtraSingleImageView.as_view(), name="a1111-extra-single-image"),
    path("sdapi/v1/sd-models", sdapi.SDModelsView.as_view(), name="a1111-sd-models"),
    path("sdapi/v1/samplers", sdapi.SamplersView.as_view(), name="a1111-samplers"),
    path("sdapi/v1/schedulers", sdapi.SchedulersView.as_view(), name="a1111-schedulers"),
    path("sdapi/v1/upscalers", sdapi.UpscalersView.as_view(), name="a1111-upscalers"),
    path("sdapi/v1/latent-upscale-modes", sdapi.LatentUpscaleModesView.as_view(), name="a1111-latent-upscale-modes"),
    path("sdapi/v1/sd-vae", sdapi.SDVaeView.as_view(), name="a1111-sd-vae"),
    path("sdapi/v1/loras", sdapi.LorasView.as_view(), name="a1111-loras"),
    path("sdapi/v1/embeddings", sdapi.EmbeddingsView.as_view(), name="a1111-embeddings"),
    path("sdapi/v1/prompt-styles", sdapi.PromptStylesView.as_view(), name="a1111-prompt-styles"),
    path("sdapi/v1/scripts", sdapi.ScriptsView.as_view(), name="a1111-scripts"),
    path("sdapi/v1/cmd-flags", sdapi.CmdFlagsView.as_view(), name="a1111-cmd-flags"),
    path("sdapi/v1/refresh-checkpoints", sdapi.RefreshView.as_view(), name="a1111-refresh-checkpoints"),
    path("sdapi/v1/refresh-loras", sdapi.RefreshView.as_view(), name="a1111-refresh-loras"),
    path("sdapi/v1/progress", sdapi.ProgressView.as_view(), name="a1111-progress"),
    path("sdapi/v1/interrupt", sdapi.InterruptView.as_view(), name="a1111-interrupt"),
    path("sdapi/v1/skip", sdapi.InterruptView.as_view(), name="a1111-skip"),
    path("sdapi/v1/interrogate", sdapi.InterrogateView.as_view(), name="a1111-sdapi-interrogate"),
    path("sdapi/v1/png-info", sdapi.PngInfoView.as_view(), name="a1111-png-info"),
    path("controlnet/version", sdapi.ControlNetVersionView.as_view(), name="a1111-controlnet-version"),
    path("controlnet/module_list", sdapi.ControlNetModulesView.as_view(), name="a1111-controlnet-modules"),
    path("controlnet/model_list", sdapi.ControlNetModelsView.as_view(), name="a1111-controlnet-models"),
    path("controlnet/settings", sdapi.ControlNetSettingsView.as_view(), name="a1111-controlnet-settings"),
    path("controlnet/control_types", sdapi.ControlNetControlTypesView.as_view(), name="a1111-controlnet-control-types"),
    path("sdapi/v1/hypernetworks", sdapi.HypernetworksView.as_view(), name="a1111-hypernetworks"),
    path("sdapi/v1/face-restorers", sdapi.FaceRestorersView.as_view(), name="a1111-face-restorers"),
    path("sdapi/v1/realesrgan-models", sdapi.RealesrganModelsView.as_view(), name="a1111-realesrgan-models"),
    path("sdapi/v1/script-info", sdapi.ScriptInfoView.as_view(), name="a1111-script-info"),
    path("sdapi/v1/extensions", sdapi.ExtensionsView.as_view(), name="a1111-extensions"),
    path("sdapi/v1/refresh-vae", sdapi.RefreshView.as_view(), name="a1111-refresh-vae"),
    path("sdapi/v1/refresh-embeddings", sdapi.RefreshView.as_view(), name="a1111-refresh-embeddings"),
    # A1111's per-task progress and queue (modules/progress.py), and Gradio's queue probe.
    path("internal/progress", queue_views.TaskProgressView.as_view(), name="a1111-internal-progress"),
    path("internal/pending-tasks", queue_views.PendingTasksView.as_view(), name="a1111-pending-tasks"),
    path("queue/status", queue_views.QueueStatusView.as_view(), name="a1111-queue-status"),
    # Last: any other /sdapi/ route answers A1111's JSON 404 (clients parse JSON), never Django's HTML page.
    re_path(r"^sdapi/", views.unknown_route, name="a1111-unknown"),
]
