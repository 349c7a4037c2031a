"""The per-country breakdown on the petition page: the top countries of the
counted signatures, most first."""

import pytest
from django.urls import reverse

from petitions import caches
from petitions.services import signing

pytestmark = pytest.mark.django_db


def _confirmed(petition, email, country, **fields):
    signature = signing.signature_create(
        petition=petition, first_name="Sam", last_name="Doe", email=email, country=country, **fields
    ).signature
    signing.signature_confirm(public_id=signature.public_id)


class CountriesTests:
    def test_it_lists_the_top_countries_of_counted_signatures_most_first(self, client, petition):
        _confirmed(petition, "a@example.org", "PT")
        _confirmed(petition, "b@example.org", "TN")
        _confirmed(petition, "c@example.org", "TN")
        signing.signature_create(petition=petition, first_name="P", last_name="Q", email="p@example.org", country="FR")
        caches.pages_forget()

        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()

        section = page[page.index('<section class="countries"'):]
        section = section[: section.index("</section>")]
        assert "Where signers come from" in section
        assert section.index("Tunisia: 2 signatures") < section.index("Portugal: 1 signature")
        assert "France" not in section  # pending: not counted

    def test_it_shows_no_breakdown_before_anyone_is_counted(self, client, petition):
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()

        assert 'class="countries"' not in page
