from django.urls import path

from generation import pages, retouch_views, views
from generation.a1111 import catalog_views as sdapi
from generation.a1111 import views as a1111

urlpatterns = [
    # POST: the legacy API; GET: the page an old `?prompt=` link opens (views.text2image dispatches).
    path("text2image", views.text2image, name="text2image"),
    # The staff page (generation/pages.py); APPEND_SLASH is off, so it also answers without the slash.
    path("kiosk/text2image/", pages.text2image, name="kiosk-text2image"),
    path("kiosk/text2image", pages.text2image),
    path("api/v1/jobs", views.JobListView.as_view(), name="generation-jobs"),
    path("api/v1/jobs/<uuid:job_id>", views.JobDetailView.as_view(), name="generation-job"),
    path("api/v1/jobs/<uuid:job_id>/cancel", views.JobCancelView.as_view(), name="generation-job-cancel"),
    path("api/v1/jobs/<uuid:job_id>/retry", views.JobRetryView.as_view(), name="generation-job-retry"),
    # Retouch (docs/retouch.md): the staff page, its helpers, and the A1111-compatible subset.
    path("kiosk/retouch/", pages.retouch, name="kiosk-retouch"),
    path("kiosk/retouch", pages.retouch),
    path("api/v1/jobs/<uuid:job_id>/archive", retouch_views.JobArchiveView.as_view(), name="generation-job-archive"),
    path("api/v1/retouch/status", retouch_views.RetouchStatusView.as_view(), name="retouch-status"),
    path("api/v1/retouch/edges", retouch_views.EdgesView.as_view(), name="retouch-edges"),
    path("api/v1/retouch/tags", retouch_views.TagsView.as_view(), name="retouch-tags"),
    path("sdapi/v1/img2img", a1111.Img2ImgView.as_view(), name="a1111-img2img"),
    path("sdapi/v1/options", a1111.OptionsView.as_view(), name="a1111-options"),
    path("controlnet/detect", a1111.DetectView.as_view(), name="a1111-detect"),
    path("controlnet/detect-only", a1111.DetectView.as_view()),
    path("tagger/v1/interrogate", a1111.InterrogateView.as_view(), name="a1111-interrogate"),
    path("tagger/v1/interrogators", a1111.InterrogatorsView.as_view(), name="a1111-interrogators"),
    # The rest of what A1111 clients call (docs/a1111.md).
    path("sdapi/v1/txt2img", sdapi.Txt2ImgView.as_view(), name="a1111-txt2img"),
    path("sdapi/v1/sd-models", sdapi.SDModelsView.as_view(), name="a1111-sd-models"),
    path("sdapi/v1/samplers", sdapi.SamplersView.as_view(), name="a1111-samplers"),
    path("sdapi/v1/schedulers", sdapi.SchedulersView.as_view(), name="a1111-schedulers"),
    path("sdapi/v1/upscalers", sdapi.UpscalersView.as_view(), name="a1111-upscalers"),
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
]
