"""A petition as a campaigner runs it: drafts previewed by staff, a closing
date, an outcome, a goal ladder and a readable thermometer, and `/` listing
the open petitions."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from petitions import caches
from petitions.models import Petition, Signature
from petitions.services.content import petitions_close_due
from tests.conftest import sign

pytestmark = pytest.mark.django_db


def _second_petition(petition, **changes):
    """Another petition, copied from the seeded one (its texts are realistic)."""
    other = Petition.objects.get(pk=petition.pk)
    other.pk = None
    other.slug = changes.pop("slug", "second-petition")
    other.title = changes.pop("title", "A second petition")
    for name, value in changes.items():
        setattr(other, name, value)
    other.save()
    return other


def _set_count(petition, count):
    """The public count as the periodic reconcile would have stored it."""
    cache.set(f"petition:{petition.pk}:confirmed-count", count, 60)
    caches.pages_forget()


def _thermometer(page):
    start = page.index('<section class="count thermometer"')
    return page[start : page.index("</section>", start)]


class CampaignStatesTests:
    def test_it_lists_the_open_petitions_at_home_each_at_its_own_address(self, client, petition):
        second = _second_petition(petition)
        _second_petition(petition, slug="a-draft", title="Secret draft", is_published=False)
        _second_petition(petition, slug="old-one", title="Closed long ago", is_open=False)

        response = client.get(reverse("petitions:home"))

        assert response.status_code == 200
        page = response.content.decode()
        assert reverse("petitions:detail", args=[petition.slug]) in page
        assert reverse("petitions:detail", args=[second.slug]) in page
        assert "Secret draft" not in page and "Closed long ago" not in page

    def test_it_hides_a_draft_from_the_public_and_shows_staff_a_preview(self, client, petition, campaigner):
        draft = _second_petition(petition, slug="a-draft", title="Secret draft", is_published=False)

        assert client.get(reverse("petitions:detail", args=[draft.slug])).status_code == 404
        assert client.get(reverse("petitions:count", args=[draft.slug])).status_code == 404
        assert client.get(reverse("petitions:preview", args=[draft.slug])).status_code == 302  # to the login

        client.force_login(campaigner)
        preview = client.get(reverse("petitions:preview", args=[draft.slug]))
        assert preview.status_code == 200
        assert "Secret draft" in preview.content.decode()
        assert "Preview of a draft" in preview.content.decode()
        assert preview.headers["Cache-Control"] == "private, no-store"

    def test_it_refuses_signatures_after_the_closing_date_and_closes_it(self, client, petition, signer):
        petition.closes_at = timezone.now() - timedelta(minutes=1)
        petition.save()
        caches.pages_forget()

        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        assert "This petition has closed" in page
        assert 'name="email"' not in page
        assert sign(client, petition, signer).status_code == 409
        assert not Signature.objects.exists()

        assert petitions_close_due() == 1
        petition.refresh_from_db()
        assert petition.is_open is False and petition.closed_at == petition.closes_at
        assert petitions_close_due() == 0

    def test_it_takes_signatures_before_the_closing_date(self, client, petition, signer):
        petition.closes_at = timezone.now() + timedelta(days=3)
        petition.save()

        assert sign(client, petition, signer).status_code == 302
        assert Signature.objects.get().email == signer["email"]

    def test_it_shows_the_outcome_and_its_message(self, client, petition):
        petition.outcome = Petition.Outcome.WON
        petition.outcome_message = "The minister released all twelve.\nThank you."
        petition.save()

        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()

        assert "We won" in page
        assert "<p>The minister released all twelve.</p>" in page

    def test_it_invites_the_first_signers_instead_of_showing_zero(self, client, petition):
        _set_count(petition, 0)

        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        thermometer = _thermometer(page)

        assert "Be one of the first to sign" in thermometer
        assert "0 people" not in thermometer and "0 signatures" not in thermometer
        assert f'<progress max="{petition.goal}" value="0"' in thermometer

    def test_it_reads_n_of_goal_and_climbs_the_goal_ladder(self, client, petition):
        petition.goal = 100
        petition.goal_steps = "250, 1000"
        petition.save()

        _set_count(petition, 40)
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        assert "data-count>40</strong> signatures of <strong data-goal>100</strong>" in page

        _set_count(petition, 100)
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        assert "signatures of <strong data-goal>250</strong>" in page

        _set_count(petition, 1500)
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        assert "signatures of <strong data-goal>2,000</strong>" in page  # past the ladder, the goal doubles
        assert client.get(reverse("petitions:count", args=[petition.slug])).json() == {"confirmed": 1500, "goal": 2000}
