"""The open API under /api/v1/: read-only public data, CORS for GET, cached,
rate-limited, no personal data, and an OpenAPI 3 document that a
schema-driven fuzzer (schemathesis) finds no fault against."""

import json

import pytest
import schemathesis
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from petitions.models import Petition, Signature
from petitions.services import signing
from petitions.services.content import petition_seed_load
from tests.conftest import SIGNER

pytestmark = pytest.mark.django_db

OPENAPI = reverse("api-v1:openapi-json")


@pytest.fixture
def unthrottled(settings):
    settings.API_RATE_LIMIT = "100000/s"


def _confirmed_signer(petition, **fields):
    outcome = signing.signature_create(
        petition=petition,
        **({
            "first_name": SIGNER["first_name"], "last_name": SIGNER["last_name"], "email": SIGNER["email"],
            "country": SIGNER["country"], "postcode": "1000",
        } | fields),
    )
    signature = outcome.signature
    signing.signature_confirm(public_id=signature.public_id)
    return Signature.objects.get(public_id=signature.public_id)


class ApiTests:
    def test_it_lists_the_open_petitions_with_count_goal_and_state(self, client, petition, unthrottled):
        response = client.get(reverse("api-v1:petitions_list"), headers={"Origin": "https://partner.example"})

        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Cache-Control"].startswith("public, max-age=")
        (listed,) = response.json()
        assert listed["slug"] == petition.slug and listed["state"] == "open"
        assert listed["count"] == 0 and listed["goal"] == petition.goal
        assert listed["url"].endswith(reverse("petitions:detail", args=[petition.slug]))

    def test_it_gives_one_petition_with_texts_recipients_and_no_personal_data(self, client, petition, unthrottled):
        signature = _confirmed_signer(petition, comment="Because detention must end.")
        signature.comment_state = Signature.CommentState.APPROVED
        signature.save()

        answers = [
            client.get(reverse("api-v1:petition_read", args=[petition.slug])),
            client.get(reverse("api-v1:petition_countries", args=[petition.slug])),
            client.get(reverse("api-v1:petition_comments", args=[petition.slug])),
        ]

        detail, countries, comments = (answer.json() for answer in answers)
        assert detail["texts"][0]["title"] == petition.title
        assert [demand["text"] for demand in detail["texts"][0]["demands"]] == list(
            petition.demands.values_list("text", flat=True)
        )
        assert {recipient["name"] for recipient in detail["recipients"]} == set(
            petition.targets.filter(is_active=True).values_list("name", flat=True)
        )
        assert countries == [{"country": "TN", "name": "Tunisia", "count": 1}]
        assert comments[0]["first_name"] == "Amira" and comments[0]["comment"] == "Because detention must end."
        everything = json.dumps([detail, countries, comments]) + "".join(a.content.decode() for a in answers)
        for personal in (SIGNER["email"], SIGNER["last_name"], "1000", str(signature.public_id)):
            assert personal not in everything
        for target in petition.targets.all():
            assert target.email not in everything

    def test_it_gives_the_texts_in_each_language_that_has_them(self, client, petition, unthrottled):
        from petitions.content import libya_translations

        detail = client.get(reverse("api-v1:petition_read", args=[petition.slug])).json()
        by_language = {text["language"]: text for text in detail["texts"]}
        assert set(by_language) == {"en", "fr", "ar"}
        assert by_language["en"]["title"] == petition.title
        assert by_language["ar"]["title"] == libya_translations.TRANSLATIONS["ar"]["petition"]["title"]
        assert by_language["fr"]["demands"][0]["text"] == libya_translations.TRANSLATIONS["fr"]["demands"][0]

    def test_it_gives_the_delivery_ledger_without_any_signer(self, client, petition, unthrottled):
        signature = _confirmed_signer(petition)
        answer = client.get(reverse("api-v1:petition_delivery", args=[petition.slug]))
        assert answer.status_code == 200
        ledger = answer.json()
        assert {line["recipient"]["name"] for line in ledger["recipients"]} == set(
            petition.targets.filter(is_active=True).values_list("name", flat=True)
        )
        # The letters of the one signer are queued: waiting, none sent yet.
        assert sum(line["waiting"] + line["sent"] for line in ledger["recipients"]) == 2
        assert ledger["responses"] == []
        for personal in (SIGNER["email"], SIGNER["first_name"], SIGNER["last_name"], str(signature.public_id)):
            assert personal not in answer.content.decode()

    def test_it_hides_drafts_and_reads_only(self, client, petition, unthrottled):
        petition.is_published = False
        petition.save()

        assert client.get(reverse("api-v1:petition_read", args=[petition.slug])).status_code == 404
        assert client.get(reverse("api-v1:petitions_list")).json() == []
        assert client.post(reverse("api-v1:petitions_list")).status_code == 405

    def test_it_keeps_an_answer_for_its_cache_seconds(self, client, petition, unthrottled, settings):
        settings.API_CACHE_SECONDS = 60
        url = reverse("api-v1:petition_read", args=[petition.slug])
        before = client.get(url).json()
        # As another process (or a staff edit elsewhere) would change it: no
        # save in this process to clear its copy.
        Petition.objects.filter(pk=petition.pk).update(title="A new title")

        assert client.get(url).json()["title"] == before["title"]
        settings.API_CACHE_SECONDS = 0
        assert client.get(url).json()["title"] == "A new title"

    def test_it_limits_the_rate_per_client(self, client, petition, settings):
        settings.API_RATE_LIMIT = "3/m"
        url = reverse("api-v1:petitions_list")

        statuses = [client.get(url).status_code for _ in range(4)]

        assert statuses == [200, 200, 200, 429]
        assert client.get(url, REMOTE_ADDR="192.0.2.9").status_code == 200

    def test_it_publishes_an_openapi_3_document(self, client, unthrottled):
        document = client.get(OPENAPI).json()

        assert document["openapi"].startswith("3.")
        assert set(document["paths"]) >= {
            "/api/v1/petitions", "/api/v1/petitions/{slug}", "/api/v1/petitions/{slug}/countries",
            "/api/v1/petitions/{slug}/comments",
        }


@pytest.mark.django_db(transaction=True)
def test_it_meets_its_own_openapi_document_under_fuzzing(live_server, settings):
    """Every operation of the document, fuzzed by schemathesis with every
    check it has (no server error, status codes, content types, headers and
    bodies as documented), against a running server; 0 failures."""
    settings.API_RATE_LIMIT = "100000/s"
    petition_seed_load()
    schema = schemathesis.openapi.from_url(live_server.url + OPENAPI)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 5

    statuses = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def meets_the_document(case):
            response = case.call_and_validate(base_url=live_server.url)
            statuses.setdefault(case.operation.label, set()).add(response.status_code)

        meets_the_document()
    # The fuzzer reached real data (the documented example), not only 404s.
    assert all(200 in seen for seen in statuses.values()), statuses
