"""Share cards: Open Graph and Twitter tags on the petition page, a 1200x630
PNG per petition with its title and current count, cached for a few minutes,
icons, and share links on the thank-you page that carry the signer's code."""

import io
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from PIL import Image

from petitions import caches
from petitions.models import Signature
from petitions.services import signing
from tests.conftest import SIGNER

pytestmark = pytest.mark.django_db

ACCENT = (255, 221, 0)


def _set_count(petition, count):
    cache.set(f"petition:{petition.pk}:confirmed-count", count, 60)
    caches.pages_forget()


def _meta(page, attribute, name):
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', page)
    assert match, name
    return match.group(1)


class ShareCardsTests:
    def test_it_puts_open_graph_and_twitter_tags_on_the_petition_page(self, client, petition, settings):
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()

        image_url = settings.SITE_URL + reverse("petitions:share_image", args=[petition.slug])
        assert _meta(page, "property", "og:title") == petition.title
        assert _meta(page, "property", "og:image") == image_url
        page_url = settings.SITE_URL + reverse("petitions:detail", args=[petition.slug])
        assert _meta(page, "property", "og:url") == page_url
        assert _meta(page, "property", "og:image:width") == "1200"
        assert _meta(page, "property", "og:image:height") == "630"
        assert _meta(page, "name", "twitter:card") == "summary_large_image"
        assert _meta(page, "name", "twitter:image") == image_url

    def test_it_draws_a_1200_by_630_png_whose_bar_shows_the_count(self, client, petition, settings):
        petition.goal = 1000
        petition.save()
        _set_count(petition, 500)

        response = client.get(reverse("petitions:share_image", args=[petition.slug]))

        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["Cache-Control"] == f"public, max-age={settings.SHARE_IMAGE_SECONDS}"
        image = Image.open(io.BytesIO(response.content))
        assert image.format == "PNG" and image.size == (1200, 630)
        rgb = image.convert("RGB")
        assert rgb.getpixel((70 + 530 - 20, 540)) == ACCENT  # half the bar is filled
        assert rgb.getpixel((70 + 530 + 20, 540)) != ACCENT

    def test_it_redraws_the_image_only_after_its_cache_seconds(self, client, petition):
        url = reverse("petitions:share_image", args=[petition.slug])
        _set_count(petition, 0)
        first = client.get(url).content
        _set_count(petition, petition.goal)

        assert client.get(url).content == first
        cache.clear()  # as SHARE_IMAGE_SECONDS passing would
        _set_count(petition, petition.goal)
        assert client.get(url).content != first

    def test_it_hides_a_drafts_image(self, client, petition):
        petition.is_published = False
        petition.save()

        assert client.get(reverse("petitions:share_image", args=[petition.slug])).status_code == 404

    def test_it_serves_a_favicon_and_app_icons(self, client, petition):
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()

        for rel in ("icon", "apple-touch-icon", "manifest"):
            assert re.search(rf'<link rel="{rel}"[^>]* href="[^"]+"', page), rel

    def test_it_gives_the_confirmed_signer_share_links_with_their_code(self, client, petition):
        outcome = signing.signature_create(
            petition=petition, first_name="Amira", last_name="Haddad", email=SIGNER["email"], country="TN"
        )
        code = Signature.objects.get(pk=outcome.signature.pk).referral_code
        confirm = reverse("petitions:confirm", args=[_token(outcome.signature)])

        page = client.post(confirm, follow=True).content.decode()

        assert code and f"?ref={code}" in page
        assert f"%3Fref%3D{code}" in page  # inside the encoded share links too


def _token(signature):
    from django.utils import timezone

    from petitions.tokens import confirmation_token_make

    return confirmation_token_make(signature, timezone.now())


@pytest.mark.django_db
class ThanksEmailShareLinksTests:
    def test_the_thank_you_email_offers_share_links_with_the_signers_code(self, petition, settings):
        from petitions.emails import thanks_email

        outcome = signing.signature_create(
            petition=petition, first_name="Amira", last_name="Haddad", email=SIGNER["email"], country="TN"
        )
        signature = Signature.objects.get(pk=outcome.signature.pk)

        message = thanks_email(signature, issued_at=signature.created_at)

        html = message.alternatives[0][0]
        assert f"%3Fref%3D{signature.referral_code}" in message.body
        assert f"%3Fref%3D{signature.referral_code}" in html
