"""The admin's bulk-generation form: it parses the curator's input into a JobRequest.

Defaults and bounds are JobRequest's (generation.requests); the form only offers them as
initial values and widget limits, and shows JobRequest's field errors next to its own fields.
"""

from __future__ import annotations

from django import forms
from django.conf import settings

from garden.models import Emotion
from generation.backends import BACKENDS
from generation.models import GenerationJob
from generation.requests import DEFAULT_OTHERS, LANDSCAPE_SIZE, RESOLUTIONS, JobParameterError, JobRequest

RESOLUTION_CHOICES = [
    (f"{w}x{h}", f"{w}x{h}" + (" (original default)" if (w, h) == LANDSCAPE_SIZE else "")) for w, h in reversed(RESOLUTIONS)
]
# JobRequest field → the form field that carries it (errors are shown there).
FORM_FIELD = {"count": "repeat_count", "width": "resolution", "height": "resolution"}


class BulkGenerationForm(forms.Form):
    emotion = forms.ChoiceField(choices=Emotion.choices, initial=Emotion.HAPPY)
    emotion_text = forms.CharField(required=False, help_text="Words for the emotion in the prompt; empty: the emotion's name.")
    favorite = forms.CharField(required=False, help_text="Optional, e.g. spring,cloudy,day (season,weather,time) or a word like cat.")
    others = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 80}), required=False, initial=DEFAULT_OTHERS)
    repeat_count = forms.IntegerField(initial=10, help_text="Each index makes one landscape and one portrait.")
    resolution = forms.ChoiceField(
        choices=RESOLUTION_CHOICES, initial="{}x{}".format(*LANDSCAPE_SIZE), help_text="Landscape size; the portrait swaps it."
    )
    steps = forms.IntegerField()
    guidance = forms.FloatField()
    seed = forms.IntegerField(required=False, help_text="Empty: random. Image n of the batch uses seed + n.")
    backend = forms.ChoiceField(choices=[(name, name) for name in BACKENDS])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Initial values and widget hints from the settings JobRequest uses, read per request.
        self.fields["steps"].initial = settings.GARDEN_DEFAULT_STEPS
        self.fields["steps"].widget.attrs.update(min=1, max=settings.GARDEN_MAX_STEPS)
        self.fields["repeat_count"].widget.attrs.update(min=1, max=settings.GARDEN_MAX_COUNT)
        self.fields["guidance"].initial = settings.GARDEN_DEFAULT_GUIDANCE
        self.fields["backend"].initial = settings.GARDEN_GENERATOR_BACKEND

    def job_request(self) -> JobRequest:
        data = self.cleaned_data
        width, height = (int(value) for value in data["resolution"].split("x"))
        return JobRequest(
            kind=GenerationJob.Kind.BULK,
            emotion=data["emotion"],
            emotion_text=data["emotion_text"],
            favorite=data["favorite"].strip().lower(),
            others=data["others"],
            count=data["repeat_count"],
            width=width,
            height=height,
            steps=data["steps"],
            guidance=data["guidance"],
            seed=data["seed"],
            backend=data["backend"],
        )

    def show_errors(self, error: JobParameterError) -> None:
        """Put JobRequest's field errors next to the fields that carry them."""
        if not error.fields:
            self.add_error(None, error.message)
        for name, message in error.fields.items():
            field = FORM_FIELD.get(name, name)
            self.add_error(field if field in self.fields else None, message)
