"""The admin's bulk-generation form (defaults from CONTRACTS.md's "Generation defaults")."""

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from garden.models import Emotion

# The resolutions the original offered; each index makes this landscape and its portrait twin.
RESOLUTIONS = [("1280x800", "1280x800 (original default)"), ("1024x600", "1024x600"), ("768x512", "768x512 (fastest)")]
DEFAULT_OTHERS = "flowers, fantasy, concept art, trending on artstation, highly detailed, intricate, sharp focus, digital art"


def _backend_choices():
    from generation import backends

    return [(name, name) for name in backends.BACKENDS]


class BulkGenerationForm(forms.Form):
    emotion = forms.ChoiceField(choices=Emotion.choices, initial=Emotion.HAPPY)
    emotion_text = forms.CharField(
        max_length=200, required=False, help_text="Words for the emotion in the prompt; empty: the emotion's name."
    )
    favorite = forms.CharField(
        max_length=100, required=False, help_text="Optional, e.g. spring,cloudy,day (season,weather,time) or a word like cat."
    )
    others = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 80}), required=False, initial=DEFAULT_OTHERS)
    repeat_count = forms.IntegerField(min_value=1, initial=10, help_text="Each index makes one landscape and one portrait.")
    resolution = forms.ChoiceField(choices=RESOLUTIONS, initial="1280x800", help_text="Landscape size; the portrait swaps it.")
    steps = forms.IntegerField(min_value=1)
    guidance = forms.FloatField(min_value=0, max_value=30, initial=7.5)
    seed = forms.IntegerField(min_value=0, required=False, help_text="Empty: random. Image n of the batch uses seed + n.")
    backend = forms.ChoiceField(choices=_backend_choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["steps"].initial = settings.GARDEN_DEFAULT_STEPS
        # Limits come from settings at request time; generation.services enforces them too.
        self.fields["steps"].validators.append(MaxValueValidator(settings.GARDEN_MAX_STEPS))
        self.fields["steps"].widget.attrs["max"] = settings.GARDEN_MAX_STEPS
        self.fields["repeat_count"].validators.append(MaxValueValidator(settings.GARDEN_MAX_COUNT))
        self.fields["repeat_count"].widget.attrs["max"] = settings.GARDEN_MAX_COUNT
        self.fields["guidance"].initial = settings.GARDEN_DEFAULT_GUIDANCE
        self.fields["backend"].initial = settings.GARDEN_GENERATOR_BACKEND

    def job_parameters(self) -> dict:
        data = self.cleaned_data
        width, height = (int(v) for v in data["resolution"].split("x"))
        return {
            "emotion": data["emotion"],
            "emotion_text": data["emotion_text"],
            "favorite": data["favorite"].strip().lower(),
            "others": data["others"],
            "count": data["repeat_count"],
            "width": width,
            "height": height,
            "steps": data["steps"],
            "guidance": data["guidance"],
            "seed": data["seed"],
            "backend": data["backend"],
        }
