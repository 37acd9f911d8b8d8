"""The names a person reads for an emotion and a favorite, in the page's language (the admin's
tables: ``{{ row.emotion|emotion_label }}``, ``{{ job.favorite|favorite_label }}``)."""

from django import template

from garden import words
from garden.models import EMOTION_LABELS

register = template.Library()


@register.filter
def emotion_label(value: str) -> str:
    """ "calm" → "Calm", "평온", "穏やか"; an unknown value as it is."""
    return str(EMOTION_LABELS.get(value, value))


@register.filter
def favorite_label(value: str) -> str:
    """ "winter,sunny,the-early-dawn" → "Winter, Sunny, Early dawn" in the page's language ("" stays "")."""
    return str(words.favorite_words(value)) if value else ""
