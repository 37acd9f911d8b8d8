"""``{% bilingual %}…{% endbilingual %}``: the enclosed words in the page's language, then, when
GARDEN_SECOND_LANGUAGE is set, once more in that language under them (docs/languages.md).

The enclosed template holds ordinary {% translate %} tags, so makemessages finds the words.
"""

from django import template
from django.utils import translation
from django.utils.html import format_html, json_script

from garden.languages import js_catalog, second_language

register = template.Library()


class BilingualNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context):
        first = self.nodelist.render(context)
        second = second_language()
        if not second:
            return first
        with translation.override(second):
            again = self.nodelist.render(context)
        return format_html('{} <span class="second-language" lang="{}">{}</span>', first, second, again)


@register.tag
def bilingual(parser, token):
    nodelist = parser.parse(("endbilingual",))
    parser.delete_first_token()
    return BilingualNode(nodelist)


@register.simple_tag
def second_language_catalog():
    """The second language's JavaScript catalog as a JSON <script> block (kiosk/common.js reads it),
    or nothing when GARDEN_SECOND_LANGUAGE is unset."""
    second = second_language()
    if not second:
        return ""
    return json_script({"language": second, **js_catalog(second)}, "second-language-catalog")
