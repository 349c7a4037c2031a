"""Attribution: a signature records the source and UTM parameters of the
address its signer arrived at (through the cached, script-free page, from the
sign POST's Referer), the site that embedded the form, and the referral code
of the supporter whose link they followed; the dashboard and the export show
them."""

import csv
import io

import pytest
from django.urls import reverse

from petitions.models import Signature
from petitions.selectors.attribution import referrals_brought
from petitions.services import signing
from tests.conftest import FROM_THE_PETITION_PAGE, staff

pytestmark = pytest.mark.django_db


def _sign_from(client, petition, signer, arrived_at, *, route="petitions:sign"):
    """Post the form as a browser does from the page at `arrived_at`: the
    site's Referrer-Policy (same-origin) sends that full address."""
    headers = FROM_THE_PETITION_PAGE | {"Referer": f"http://testserver{arrived_at}"}
    return client.post(reverse(route, args=[petition.slug]), signer, headers=headers)


class AttributionTests:
    def test_it_keeps_the_source_and_utm_parameters_of_the_address_the_signer_arrived_at(
        self, client, petition, signer
    ):
        page = reverse("petitions:detail", args=[petition.slug])
        arrived_at = f"{page}?source=newsletter&utm_source=mailchimp&utm_medium=email&utm_campaign=march"

        assert client.get(arrived_at).content == client.get(page).content  # the same cached page for all
        assert _sign_from(client, petition, signer, arrived_at).status_code == 302

        signature = Signature.objects.get()
        assert (signature.source, signature.utm_source, signature.utm_medium, signature.utm_campaign) == (
            "newsletter", "mailchimp", "email", "march"
        )
        assert signature.embed_site == "" and signature.referred_by == ""
        assert len(signature.referral_code) >= 12

    def test_it_drops_values_that_are_not_plain_text_and_another_sites_referer(self, client, petition, signer):
        page = reverse("petitions:detail", args=[petition.slug])
        _sign_from(client, petition, signer, f"{page}?source=%3Cscript%3E&utm_source=ok")
        signature = Signature.objects.get()
        assert (signature.source, signature.utm_source) == ("", "ok")

        headers = FROM_THE_PETITION_PAGE | {"Referer": "https://elsewhere.example/?source=spoofed"}
        other = dict(signer, email="b@example.org")
        client.post(reverse("petitions:sign", args=[petition.slug]), other, headers=headers)
        assert Signature.objects.get(email="b@example.org").source == ""

    def test_it_credits_the_supporter_whose_link_was_followed(self, client, petition, signer):
        supporter = signing.signature_create(
            petition=petition, first_name="Zoë", last_name="O'Brien", email="zoe@example.org", country="IE"
        ).signature
        signing.signature_confirm(public_id=supporter.public_id)
        code = Signature.objects.get(pk=supporter.pk).referral_code
        page = reverse("petitions:detail", args=[petition.slug])

        _sign_from(client, petition, signer, f"{page}?ref={code}")
        signed = Signature.objects.get(email=signer["email"])
        assert signed.referred_by == code
        assert referrals_brought(referral_code=code) == 0  # not yet confirmed
        signing.signature_confirm(public_id=signed.public_id)
        assert referrals_brought(referral_code=code) == 1

    def test_it_records_the_embedding_site_only_when_staff_listed_it(self, client, petition, signer):
        petition.embed_origins = "https://partner.example.org"
        petition.save()
        embed = reverse("petitions:embed", args=[petition.slug])

        _sign_from(client, petition, signer, f"{embed}?site=https://partner.example.org", route="petitions:embed_sign")
        _sign_from(
            client, petition, dict(signer, email="b@example.org"), f"{embed}?site=https://unlisted.example",
            route="petitions:embed_sign",
        )

        assert Signature.objects.get(email=signer["email"]).embed_site == "https://partner.example.org"
        assert Signature.objects.get(email="b@example.org").embed_site == ""

    def test_the_dashboard_shows_sources_embedding_sites_and_top_referrers_by_first_name(
        self, client, petition, signer
    ):
        supporter = signing.signature_create(
            petition=petition, first_name="Zoë", last_name="O'Brien", email="zoe@example.org", country="IE",
            attribution=signing.Attribution(source="newsletter"),
        ).signature
        signing.signature_confirm(public_id=supporter.public_id)
        code = Signature.objects.get(pk=supporter.pk).referral_code
        referred = signing.signature_create(
            petition=petition, first_name="Ana", last_name="Silva", email="ana@example.org", country="PT",
            attribution=signing.Attribution(source="newsletter", embed_site="https://partner.example.org",
                                            referred_by=code),
        ).signature
        signing.signature_confirm(public_id=referred.public_id)
        signing.signature_create(
            petition=petition, first_name="Bo", last_name="Lee", email="bo@example.org", country="KR",
            attribution=signing.Attribution(source="newsletter"),
        )
        viewer = staff("viewer", role="Campaigner")
        client.force_login(viewer)

        page = client.get(reverse("admin:petitions_dashboard")).content.decode()

        assert "Where signatures came from" in page
        assert "<th scope=\"row\">newsletter</th><td>3</td><td>2</td><td>66.7%</td>" in page
        assert "https://partner.example.org" in page
        assert "Zoë (IE)</th><td>1</td>" in page
        assert "O&#x27;Brien" not in page and "zoe@example.org" not in page

    def test_the_export_can_include_where_each_signature_came_from(self, petition):
        from petitions.selectors.exports import csv_stream, signatures_for_export

        signing.signature_create(
            petition=petition, first_name="Ana", last_name="Silva", email="ana@example.org", country="PT",
            attribution=signing.Attribution(source="newsletter", utm_campaign="march"),
        )
        columns = ["first_name", "source", "utm_campaign", "embed_site", "referred_by"]
        rows, fields = signatures_for_export(petition=petition, states=["pending"], columns=columns)
        text = b"".join(csv_stream(rows=rows, fields=fields, columns=columns, on_complete=lambda *a: None)).decode()

        assert list(csv.reader(io.StringIO(text))) == [
            ["First name", "Source", "UTM campaign", "Embedded on", "Referral code followed"],
            ["Ana", "newsletter", "march", "", ""],
        ]
