"""The admin's bulk-generation form: it parses the curator's input into JobRequests.

Several emotions make one bulk job each (same favorite and settings). The favorite is chosen as a
kiosk visitor chooses it — season, weather and time, all three or all "Any" (garden.keys) — so new
images land in the folders kiosks ask for. Defaults and bounds are JobRequest's
(generation.requests); the form only offers them as initial values and widget limits, and shows
JobRequest's field errors next to its own fields.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from curation import selectors
from garden.keys import FAVORITE_PARTS
from garden.models import Emotion
from garden.words import FAVORITE_NAMES, favorite_words
from generation.backends import BACKENDS, PROCEDURAL, hires
from generation.models import GenerationJob
from generation.requests import DEFAULT_OTHERS, LANDSCAPE_SIZE, RESOLUTIONS, JobParameterError, JobRequest
from generation.requests.lora_tags import LoraSyntaxError, parse_lora_list
from library import selectors as library

RESOLUTION_CHOICES = [
    (f"{w}x{h}", format_lazy("{}x{}{}", w, h, gettext_lazy(" (original default)") if (w, h) == LANDSCAPE_SIZE else ""))
    for w, h in reversed(RESOLUTIONS)
]
# The hires fix as the curator chooses it: the site's rule (JobRequest's None), always, or never.
HIRES_CHOICES = {"": None, "on": True, "off": False}
# JobRequest field → the form field that carries it (errors are shown there).
FORM_FIELD = {"count": "repeat_count", "width": "resolution", "height": "resolution", "favorite": "season"}
MODEL_DEFAULT_HELP = gettext_lazy("Starts from the chosen model's default; empty: its default.")
FAVORITE_FIELDS = tuple(part for part, _ in FAVORITE_PARTS)  # season, weather, time
ANY = ("", gettext_lazy("Any"))
# The favorite parts' names in the field labels (garden.keys.FAVORITE_PARTS names them in English).
PART_LABELS = {
    "season": gettext_lazy("Favorite season"),
    "weather": gettext_lazy("Favorite weather"),
    "time": gettext_lazy("Favorite time"),
}


def model_defaults(entry) -> dict:
    """The steps and guidance a job of ``entry`` (a library pipeline, or None) paints with unless told."""
    steps = entry.default_steps if entry is not None and entry.default_steps else settings.GARDEN_DEFAULT_STEPS
    guidance = entry.default_guidance if entry is not None and entry.default_guidance is not None else settings.GARDEN_DEFAULT_GUIDANCE
    return {"steps": steps, "guidance": guidance}


def passes_text(*, width: int, height: int, steps: int, options: dict | None, backend: str = "") -> str:
    """How each picture of a job is painted: in one pass, or in the hires fix's two (the first at
    about the model's native size), with the steps of each; the procedural painter has no steps."""
    if backend == PROCEDURAL:
        return _("The demo's procedural painter paints each picture at once: steps, guidance, model and hires fix do not apply.")
    fix = hires.for_picture(options, width, height)
    if fix is None:
        return ngettext(
            "Each picture is painted in one pass of %(steps)d step.", "Each picture is painted in one pass of %(steps)d steps.", steps
        ) % {"steps": steps}
    return _(
        "Each picture is painted at %(first)s, then repainted at %(size)s (the hires fix, since the model paints smaller "
        "pictures): %(steps)d + %(second)d steps a picture."
    ) % {"first": f"{fix.first_width}x{fix.first_height}", "size": f"{width}x{height}", "steps": steps, "second": fix.steps}


def _favorite_field(part: str, words: tuple[str, ...], **kwargs) -> forms.ChoiceField:
    choices = [ANY, *((word, FAVORITE_NAMES.get(word, word.replace("-", " "))) for word in words)]  # the words visitors read
    return forms.ChoiceField(choices=choices, required=False, label=PART_LABELS[part], **kwargs)


class BulkGenerationForm(forms.Form):
    # None checked at first: each emotion checked starts a job, so only the curator's choice may start one.
    emotion = forms.MultipleChoiceField(
        choices=Emotion.choices,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Emotions"),
        help_text=gettext_lazy("One job per emotion checked, each with the settings below."),
        error_messages={"required": gettext_lazy("Check at least one emotion: each one checked starts a job.")},
    )
    emotion_text = forms.CharField(
        required=False,
        label=gettext_lazy("Emotion text"),
        help_text=gettext_lazy("Words for the emotion in the prompt; empty: the emotion's name. Only with a single emotion."),
    )
    season = _favorite_field(*FAVORITE_PARTS[0])
    weather = _favorite_field(*FAVORITE_PARTS[1])
    time = _favorite_field(
        *FAVORITE_PARTS[2],
        help_text=gettext_lazy(
            "The favorite as a kiosk visitor picks it: all three (e.g. spring, cloudy, day), or all Any (the emotion's folder)."
        ),
    )
    others = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}), required=False, initial=DEFAULT_OTHERS, label=gettext_lazy("Others")
    )
    repeat_count = forms.IntegerField(
        initial=10, label=gettext_lazy("Repeat count"), help_text=gettext_lazy("Each index makes one landscape and one portrait.")
    )
    resolution = forms.ChoiceField(
        choices=RESOLUTION_CHOICES,
        initial="{}x{}".format(*LANDSCAPE_SIZE),
        label=gettext_lazy("Resolution"),
        help_text=gettext_lazy("Landscape size; the portrait swaps it."),
    )
    steps = forms.IntegerField(required=False, label=gettext_lazy("Steps"), help_text=MODEL_DEFAULT_HELP)
    guidance = forms.FloatField(required=False, label=gettext_lazy("Guidance"), help_text=MODEL_DEFAULT_HELP)
    seed = forms.IntegerField(
        required=False, label=gettext_lazy("Seed"), help_text=gettext_lazy("Empty: random. Image n of the batch uses seed + n.")
    )
    backend = forms.ChoiceField(choices=[(name, name) for name in BACKENDS], label=gettext_lazy("Backend"))
    model = forms.ChoiceField(
        required=False, label=gettext_lazy("Model"), help_text=gettext_lazy("A model of the library (diffusers backend).")
    )
    hires_fix = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Hires fix"),
        help_text=gettext_lazy(
            "Paints each picture at about the model's own size first, then repaints it at the chosen size: no doubled "
            "faces or limbs from a model asked for pictures larger than it learned, for about twice the time. "
            "Diffusers backend only."
        ),
    )
    loras = forms.CharField(
        required=False,
        label=gettext_lazy("LoRAs"),
        help_text=gettext_lazy("LoRAs of the model library as name:weight, separated by commas (e.g. ink:0.6, watercolor:1)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Initial values and widget hints from the settings JobRequest uses, read per request; steps
        # and guidance start from the default model's, and follow the model chosen (curation/jobs.js).
        self.fields["steps"].widget.attrs.update(min=1, max=settings.GARDEN_MAX_STEPS)
        self.fields["repeat_count"].widget.attrs.update(min=1, max=settings.GARDEN_MAX_COUNT)
        self.fields["backend"].initial = settings.GARDEN_GENERATOR_BACKEND
        default = library.default_pipeline()
        pipelines = list(library.pipelines())
        defaults = {entry.name: model_defaults(entry) for entry in pipelines} | {"": model_defaults(default)}
        self.fields["steps"].initial, self.fields["guidance"].initial = defaults[""]["steps"], defaults[""]["guidance"]
        self.fields["model"].widget.attrs["data-defaults"] = json.dumps(defaults)
        self.fields["model"].choices = [
            ("", _("Default (%(name)s)") % {"name": default.name} if default else _("The site's model (no library)")),
            *((entry.name, f"{entry.name} ({entry.get_family_display()})") for entry in pipelines),
        ]
        self.fields["hires_fix"].choices = [
            (
                "",
                _("The site's default: on when the picture is larger than the model paints")
                if settings.GARDEN_HIRES_FIX
                else _("The site's default: off"),
            ),
            ("on", _("On: two passes when the picture is larger than the model paints")),
            ("off", _("Off: one pass at the chosen size")),
        ]
        known = ", ".join(library.loras().values_list("name", flat=True))
        more = _("Known: %(names)s.") % {"names": known} if known else _("The library has none.")
        self.fields["loras"].help_text = f"{self.fields['loras'].help_text} {more}"

    def clean_loras(self):
        try:
            return parse_lora_list(self.cleaned_data.get("loras", ""))
        except LoraSyntaxError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        data = super().clean()
        chosen = [name for name in FAVORITE_FIELDS if data.get(name)]
        if 0 < len(chosen) < len(FAVORITE_FIELDS):
            self.add_error("season", _("Pick a season, a weather and a time (as kiosks do), or set all three to Any."))
        if data.get("emotion_text", "").strip() and len(data.get("emotion") or ()) > 1:
            self.add_error("emotion_text", _("Emotion text names one emotion: check a single emotion, or leave it empty."))
        return data

    def favorite(self) -> str:
        """``season,weather,time`` or "" (Any)."""
        parts = [self.cleaned_data.get(name, "") for name in FAVORITE_FIELDS]
        return ",".join(parts) if all(parts) else ""

    def job_requests(self) -> list[JobRequest]:
        """One bulk JobRequest per emotion checked, in the order of the emotions."""
        checked = set(self.cleaned_data["emotion"])
        return [self._request(emotion) for emotion in Emotion.values if emotion in checked]

    def _request(self, emotion: str) -> JobRequest:
        data = self.cleaned_data
        width, height = (int(value) for value in data["resolution"].split("x"))
        return JobRequest(
            kind=GenerationJob.Kind.BULK,
            emotion=emotion,
            emotion_text=data.get("emotion_text", ""),
            favorite=self.favorite(),
            others=data.get("others", ""),
            count=data["repeat_count"],
            width=width,
            height=height,
            steps=data.get("steps"),
            guidance=data.get("guidance"),
            seed=data.get("seed"),
            backend=data["backend"],
            model=data.get("model") or None,
            loras=data.get("loras", []),
            hires_fix=HIRES_CHOICES.get(data.get("hires_fix", "")),
        )

    def plan(self) -> str:
        """What *Generate* would start, said before it starts: the jobs and pictures, and how each
        picture is painted (one pass, or the hires fix's two with their steps). "" while the size,
        count or backend do not validate (their own errors say why)."""
        self.is_valid()  # cleaned_data: the fields that are valid
        data = self.cleaned_data
        if not {"resolution", "repeat_count", "backend"} <= set(data):
            return ""
        emotions = [emotion for emotion in Emotion.values if emotion in set(data.get("emotion") or ())]
        try:  # the settings are the same for every emotion: one stands for all
            valid = self._request(emotions[0] if emotions else Emotion.HAPPY).validate()
        except JobParameterError:
            return ""
        passes = passes_text(width=valid.width, height=valid.height, steps=valid.steps, options=valid.options, backend=valid.backend)
        if not emotions:
            return _("No emotion checked: nothing would start.") + " " + passes
        pictures = 2 * valid.count * len(emotions)  # each index: a landscape and its portrait
        jobs = ngettext("%(count)d job (%(emotions)s)", "%(count)d jobs (%(emotions)s)", len(emotions)) % {
            "count": len(emotions),
            "emotions": pgettext("list separator", ", ").join(str(Emotion(emotion).label) for emotion in emotions),
        }
        words = {"jobs": jobs, "pictures": pictures}
        if self.favorite():
            words["favorite"] = favorite_words(self.favorite())
            made = ngettext(
                "%(jobs)s, %(pictures)d picture for %(favorite)s.", "%(jobs)s, %(pictures)d pictures for %(favorite)s.", pictures
            )
        else:
            made = ngettext("%(jobs)s, %(pictures)d picture.", "%(jobs)s, %(pictures)d pictures.", pictures)
        return f"{made % words} {passes} {selectors.bulk_time_text(valid, jobs=len(emotions))}".strip()

    def show_errors(self, error: JobParameterError) -> None:
        """Put JobRequest's field errors next to the fields that carry them."""
        if not error.fields:
            self.add_error(None, error.message)
        for name, message in error.fields.items():
            field = FORM_FIELD.get(name, name)
            self.add_error(field if field in self.fields else None, message)
