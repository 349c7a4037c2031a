"""Text typed in one script shown inside text of another.

A Latin name in an Arabic sentence, or an Arabic name in an English letter,
would otherwise take its neighbours' direction and scramble the line. HTML
isolates with <bdi> or dir="auto"; plain text (emails' text parts, letters)
with the Unicode isolates FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE.
"""

import unicodedata

from django import template
from django.utils.translation import get_language_bidi

register = template.Library()

FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"


_RIGHT_TO_LEFT = {"R", "AL"}
_LEFT_TO_RIGHT = {"L"}


@register.filter
def isolate(value: object, direction: str | None = None) -> str:
    """`value` isolated for plain text written in `direction` ("ltr" or
    "rtl"; by default the active language's), when it holds letters of the
    other direction; otherwise as it is, so that a letter's text carries no
    invisible characters it does not need."""
    text = str(value)
    if direction is None:
        direction = "rtl" if get_language_bidi() else "ltr"
    other = _LEFT_TO_RIGHT if direction == "rtl" else _RIGHT_TO_LEFT
    if any(unicodedata.bidirectional(char) in other for char in text):
        return f"{FIRST_STRONG_ISOLATE}{text}{POP_DIRECTIONAL_ISOLATE}"
    return text
