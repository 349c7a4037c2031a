"""Share cards: the 1200x630 PNG that chat apps and social sites show for a
link to a petition, with its title and current count.

Drawn at most once per SHARE_IMAGE_SECONDS per petition and language in the
shared cache, so a link going viral costs one drawing every few minutes.
"""

from __future__ import annotations

import io
import logging
import textwrap
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import get_language, get_language_bidi, gettext
from django.views.decorators.http import require_GET
from PIL import Image, ImageDraw, ImageFont, features
from redis.exceptions import RedisError

from petitions.models import Petition
from petitions.selectors.public import petitions_public, thermometer_read
from petitions.selectors.texts import petition_texts

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1200, 630
BACKGROUND, INK, ACCENT = (26, 26, 26), (255, 255, 255), (255, 221, 0)
# Any TrueType font with the scripts of the site's languages; Pillow's own
# font stands in where it is missing.
FONT_CANDIDATES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in (getattr(settings, "SHARE_IMAGE_FONT", ""), *FONT_CANDIDATES):
        if candidate and Path(candidate).exists():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


def _shapes_right_to_left() -> bool:
    """Whether Pillow can lay out Arabic (it needs libraqm, which the wheels
    here lack): without it, Arabic letters come out unjoined and reversed."""
    return bool(features.check("raqm"))


def share_image_draw(petition: Petition) -> bytes:
    """The card as PNG bytes: title, "N signatures of GOAL" and a bar, in the
    active language. A right-to-left language that Pillow cannot lay out here
    gets the petition's original title and an English count line instead of
    scrambled letters (its page's og: tags are still in that language)."""
    language = get_language()
    if get_language_bidi() and not _shapes_right_to_left():
        language = petition.language
    with translation.override(language):
        return _card_draw(petition)


def _card_draw(petition: Petition) -> bytes:
    thermometer = thermometer_read(petition)
    title = petition_texts(petition, get_language()).title
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title_font, count_font = _font(64), _font(44)
    y = 70
    for line in textwrap.wrap(title, width=30)[:4]:
        draw.text((70, y), line, font=title_font, fill=INK)
        y += 80
    count_line = gettext("%(count)s signatures of %(goal)s") % {
        "count": number_format(thermometer.count, force_grouping=True),
        "goal": number_format(thermometer.goal, force_grouping=True),
    }
    draw.text((70, 440), count_line, font=count_font, fill=ACCENT)
    draw.rectangle((70, 520, WIDTH - 70, 560), outline=INK, width=3)
    filled = 70 + round((WIDTH - 140) * thermometer.percent / 100)
    if filled > 70:
        draw.rectangle((70, 520, filled, 560), fill=ACCENT)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@require_GET
def petition_share_image(request: HttpRequest, slug: str) -> HttpResponse:
    key = f"share-image:{slug}:{get_language()}"
    try:
        png = cache.get(key)
    except RedisError:
        png = None
    if png is None:
        png = share_image_draw(get_object_or_404(petitions_public(), slug=slug))
        try:
            cache.set(key, png, settings.SHARE_IMAGE_SECONDS)
        except RedisError:
            logger.warning("Cache unavailable; share image of %s not stored", slug)
    response = HttpResponse(png, content_type="image/png")
    response.headers["Cache-Control"] = f"public, max-age={settings.SHARE_IMAGE_SECONDS}"
    return response
