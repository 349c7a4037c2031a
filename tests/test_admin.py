import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from petitions.admin import FilteredCountPaginator
from petitions.models import ConsentWording, Letter, Signature
from petitions.services import signing
from tests.conftest import sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(client, petition, signer):
    for number, country in enumerate(["TN", "FR", "FR"]):
        fields = {"email": f"person{number}@example.org", "country": country, "last_name": f"Person{number}"}
        sign(client, petition, signer | fields)
    return list(Signature.objects.order_by("pk"))


class AdminTests:
    @pytest.mark.parametrize("model", ["petition", "target", "signature", "letter", "outbox", "consentwording"])
    def test_every_list_and_the_petition_form_open(self, client, superuser, petition, signed, model):
        client.force_login(superuser)
        assert client.get(reverse(f"admin:petitions_{model}_changelist")).status_code == 200
        assert client.get(reverse("admin:petitions_petition_change", args=[petition.pk])).status_code == 200

    def test_signatures_can_be_searched_by_name_and_email_and_filtered(self, client, superuser, signed):
        client.force_login(superuser)
        url = reverse("admin:petitions_signature_changelist")
        assert list(client.get(url, {"q": "Person1"}).context["cl"].result_list) == [signed[1]]
        assert list(client.get(url, {"q": "PERSON2@example.org"}).context["cl"].result_list) == [signed[2]]
        by_country = client.get(url, {"country": "FR"}).context["cl"].result_list
        assert sorted(s.pk for s in by_country) == [signed[1].pk, signed[2].pk]
        assert client.get(url, {"state": "confirmed"}).context["cl"].result_count == 0
        assert client.get(url, {"created_at__gte": "2000-01-01 00:00:00+00:00"}).status_code == 200

    def test_the_invalidate_action_stops_counting_and_cancels_unsent_letters(self, client, moderator, signed):
        for signature in signed:
            signing.signature_confirm(public_id=signature.public_id)
        client.force_login(moderator)
        response = client.post(
            reverse("admin:petitions_signature_changelist"),
            {
                "action": "invalidate",
                "_selected_action": [signed[0].pk, signed[1].pk],
                "reason": "bot wave from one IP",
            },
            follow=True,
        )
        assert "2 signature(s) invalidated." in response.content.decode()
        assert list(Signature.objects.counted().values_list("pk", flat=True)) == [signed[2].pk]
        invalidated_states = set(Letter.objects.filter(signature__in=signed[:2]).values_list("state", flat=True))
        assert invalidated_states == {Letter.State.CANCELLED}
        assert set(Letter.objects.filter(signature=signed[2]).values_list("state", flat=True)) == {Letter.State.QUEUED}
        invalidated = Signature.objects.get(pk=signed[0].pk)
        assert invalidated.invalidated_reason == "bot wave from one IP"
        decision = invalidated.last_decision
        assert (decision.actor, decision.action, decision.signature_count) == (moderator, "invalidate", 2)
        assert decision.reason == "bot wave from one IP"

    def test_the_retry_action_queues_failed_letters_again(self, client, campaigner, signed):
        signing.signature_confirm(public_id=signed[0].public_id)
        Letter.objects.update(state=Letter.State.FAILED, last_error="422 refused")
        client.force_login(campaigner)
        response = client.post(
            reverse("admin:petitions_letter_changelist"),
            {"action": "retry", "_selected_action": list(Letter.objects.values_list("pk", flat=True))},
            follow=True,
        )
        assert "2 failed letter(s) queued again." in response.content.decode()
        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.QUEUED}

    def test_letters_can_be_filtered_by_state_and_recipient(self, client, superuser, signed):
        signing.signature_confirm(public_id=signed[0].public_id)
        letter = Letter.objects.order_by("pk").first()
        client.force_login(superuser)
        url = reverse("admin:petitions_letter_changelist")
        assert client.get(url, {"state": "queued"}).context["cl"].result_count == 2
        assert list(client.get(url, {"target__id__exact": letter.target_id}).context["cl"].result_list) == [letter]

    def test_signatures_cannot_be_deleted_or_added_in_the_admin(self, client, superuser, signed):
        client.force_login(superuser)
        assert client.get(reverse("admin:petitions_signature_delete", args=[signed[0].pk])).status_code == 403
        assert client.get(reverse("admin:petitions_signature_add")).status_code == 403

    def test_a_signer_email_never_appears_on_public_pages(self, client, petition, signed):
        for name in ("detail", "signed", "confirmed", "count"):
            page = client.get(reverse(f"petitions:{name}", args=[petition.slug])).content.decode()
            assert "@example.org" not in page


def signatures_bulk_add(petition, countries):
    consent = ConsentWording.objects.filter(kind=ConsentWording.Kind.LETTER).first()
    Signature.objects.bulk_create(
        Signature(
            petition=petition, first_name="Nour", last_name=f"Mansour{number}", email=f"nour{number}@example.org",
            email_normalized=f"nour{number}@example.org", country=country, state=Signature.State.CONFIRMED,
            letter_consent=consent,
        )
        for number, country in enumerate(countries)
    )


def signature_counts(queries):
    return [query["sql"] for query in queries if "COUNT(" in query["sql"] and "petitions_signature" in query["sql"]]


class SignatureListCountTests:
    """A filtered signature list is counted only as far as the pages need: a
    full count of a million-row table's matches took most of the page's time."""

    @pytest.fixture(autouse=True)
    def small_steps(self, monkeypatch, petition):
        # Steps of 100 rows, two pages of 50, instead of 10,000: the same
        # arithmetic with few rows.
        monkeypatch.setattr(FilteredCountPaginator, "STEP", 100)
        signatures_bulk_add(petition, ["FR"] * 260 + ["TN"] * 40)

    def test_it_counts_a_filtered_list_up_to_a_limit_and_says_there_are_more(self, client, superuser):
        client.force_login(superuser)
        url = reverse("admin:petitions_signature_changelist")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"country": "FR"})
        [count] = signature_counts(queries)
        assert "LIMIT 101" in count
        page = response.content.decode()
        assert "more than 100 signatures" in page
        assert len(response.context["cl"].result_list) == 50
        # Links to the pages counted so far: 101 rows make three.
        assert 'href="?country=FR&amp;p=3"' in page and '&amp;p=4"' not in page

    def test_it_counts_further_as_staff_page_further_and_exactly_at_the_end(self, client, superuser):
        client.force_login(superuser)
        url = reverse("admin:petitions_signature_changelist")
        third = client.get(url, {"country": "FR", "p": 3})
        assert [s.last_name for s in third.context["cl"].result_list] == [f"Mansour{n}" for n in range(159, 109, -1)]
        assert "more than 200 signatures" in third.content.decode()
        assert 'href="?country=FR&amp;p=5"' in third.content.decode()
        with CaptureQueriesContext(connection) as queries:
            last = client.get(url, {"country": "FR", "p": 6})
        assert "LIMIT 401" in signature_counts(queries)[0]
        assert [s.last_name for s in last.context["cl"].result_list] == [f"Mansour{n}" for n in range(9, -1, -1)]
        assert "260 signatures" in last.content.decode()
        assert "more than" not in last.content.decode()

    def test_it_counts_a_short_filtered_list_and_the_whole_list_exactly(self, client, superuser):
        client.force_login(superuser)
        url = reverse("admin:petitions_signature_changelist")
        short = client.get(url, {"country": "TN"})
        assert short.context["cl"].result_count == 40 and "40 signatures" in short.content.decode()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        # Staff read the total of the unfiltered list: it is counted in full.
        assert "LIMIT" not in signature_counts(queries)[0]
        assert response.context["cl"].result_count == 300 and "300 signatures" in response.content.decode()
