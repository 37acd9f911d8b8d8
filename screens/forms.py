"""The fleet page's screen form: name, location, kind, and the zone a signage screen shows."""

from __future__ import annotations

import re

from django import forms
from django.utils.html import escape
from django.utils.translation import gettext as _

from screens.models import Screen

ZONE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")  # a display zone's name (garden.keys.DISPLAY_ZONE_RE)


class ScreenForm(forms.ModelForm):
    class Meta:
        model = Screen
        fields = ["name", "location", "kind", "zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The admin renders help texts as HTML: these are plain text ("/display/<zone>/" showed as
        # "/display//", its placeholder taken for a tag), so they are escaped here, in the page's language.
        for field in self.fields.values():
            if field.help_text:
                field.help_text = escape(field.help_text)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the screen a name operators will recognise, e.g. “Hall kiosk 1”."))
        return name

    def clean(self):
        data = super().clean()
        zone = (data.get("zone") or "").strip()
        if data.get("kind") == Screen.Kind.SIGNAGE:
            if not ZONE_RE.match(zone):
                self.add_error("zone", _("A signage screen shows a display zone: its short lower-case name, e.g. lobby."))
        else:
            zone = ""
        data["zone"] = zone
        return data


class CommandForm(forms.Form):
    kind = forms.ChoiceField(choices=[])
    argument = forms.CharField(required=False, max_length=16)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from screens.models import ScreenCommand

        self.fields["kind"].choices = ScreenCommand.Kind.choices
