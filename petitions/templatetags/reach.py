"""Template tags for what every public page shows, rendered with or without a request."""

from django import template

from petitions.models import Organisation
from petitions.selectors.public import organisation_current

register = template.Library()


@register.simple_tag
def organisation() -> Organisation | None:
    """The organisation running the campaign, or None until staff enter it."""
    return organisation_current()
