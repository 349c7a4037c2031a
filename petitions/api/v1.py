"""Version 1 of the open API: read-only, public data only (see schemas.py),
open to any origin for GET (CORS), cached, rate-limited per client address.

Every answer is built once per API_CACHE_SECONDS per process and per path, so
a burst of readers costs the database nothing more; the client address rate
limit (API_RATE_LIMIT) is kept in the shared cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import get_language
from django_countries import countries
from ninja import NinjaAPI, Path
from ninja.throttling import AnonRateThrottle
from pydantic import TypeAdapter

from petitions import caches
from petitions.api import schemas
from petitions.content import libya
from petitions.models import Petition
from petitions.selectors.delivery_ledger import delivery_ledger, response_as_json, responses_shown
from petitions.selectors.public import (
    comments_approved,
    counts_by_country,
    petitions_open,
    petitions_public,
    thermometer_read,
)
from petitions.selectors.texts import petition_texts

COMMON_RESPONSES: dict[int, Any] = {404: schemas.Problem, 429: schemas.Problem}
# A petition's address name, with the seeded petition's as the example (the
# schema fuzzer tries it along with made-up ones).
Slug = Annotated[str, Path(description="The petition's address name, as in /p/<slug>/.", example=libya.SLUG)]


class ClientRateThrottle(AnonRateThrottle):
    """API_RATE_LIMIT requests per client address, read when checked (tests and the benchmark change it)."""

    def __init__(self) -> None:
        super().__init__(rate=settings.API_RATE_LIMIT)

    def allow_request(self, request: HttpRequest) -> bool:
        if self.rate != settings.API_RATE_LIMIT:
            self.rate = settings.API_RATE_LIMIT
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)


api = NinjaAPI(
    title="Petitions open API",
    version="1",
    description=(
        "Read-only data about the published petitions: texts, counts, recipients' names and titles, "
        "counts by country and approved comments. No personal data of signers beyond the first name and "
        "country shown with an approved comment."
    ),
    urls_namespace="api-v1",
    docs_url=None,
    openapi_url="/openapi.json",
    throttle=[ClientRateThrottle()],
)

def _cached(request: HttpRequest, shape: Any, build: Callable[[], Any]) -> HttpResponse:
    """The answer as JSON bytes, one process-wide copy per path and language
    for API_CACHE_SECONDS. Checked against its schema (`shape`) once, when
    built; django-ninja passes a ready HttpResponse through unchanged, so a
    cached answer costs no validation or serialisation per request."""

    def serialise() -> bytes:
        adapter = _adapters.setdefault(shape, TypeAdapter(shape))
        return adapter.dump_json(adapter.validate_python(build()))

    content = caches.api_answers.get((request.path, get_language()), serialise)
    return HttpResponse(content, content_type="application/json; charset=utf-8")


_adapters: dict[Any, TypeAdapter] = {}


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


def _state(petition: Petition) -> str:
    if not petition.accepts_signatures:
        return "closed"
    return "paused" if petition.signing_paused else "open"


def _summary(petition: Petition) -> dict[str, Any]:
    thermometer = thermometer_read(petition)
    return {
        "slug": petition.slug,
        "title": petition.title,
        "summary": petition.summary,
        "state": _state(petition),
        "count": thermometer.count,
        "goal": thermometer.goal,
        "closes_at": petition.closes_at,
        "url": settings.SITE_URL + reverse("petitions:detail", args=[petition.slug]),
    }


def _public_petition(slug: str) -> Petition:
    return get_object_or_404(petitions_public(), slug=slug)


@api.get("/petitions", response={200: list[schemas.PetitionSummary], **COMMON_RESPONSES}, summary="Open petitions")
def petitions_list(request: HttpRequest) -> Any:
    return _cached(
        request, list[schemas.PetitionSummary], lambda: [_summary(petition) for petition in petitions_open()]
    )


@api.get("/petitions/{slug}", response={200: schemas.PetitionDetail, **COMMON_RESPONSES}, summary="One petition")
def petition_read(request: HttpRequest, slug: Slug) -> Any:
    def build() -> dict[str, Any]:
        petition = _public_petition(slug)
        # The original and each translation of it (a language without one
        # is left out rather than repeating the original).
        texts = []
        for language, _name in settings.LANGUAGES:
            words = petition_texts(petition, language)
            if words.is_fallback:
                continue
            texts.append({
                "language": words.language,
                "title": words.title,
                "headline": words.headline,
                "summary": words.summary,
                "body": words.body,
                "call_to_action": words.call_to_action,
                "demands": [{"text": demand} for demand in words.demands],
                "background": [
                    {"text": fact.text, "source_name": fact.source_name, "source_detail": fact.source_detail}
                    for fact in words.background_facts
                ],
            })
        recipients = [
            {"name": target.name, "title": target.title, "organisation": target.organisation}
            for target in petition.targets.filter(is_active=True)
        ]
        return _summary(petition) | {
            "outcome": petition.outcome,
            "outcome_message": petition.outcome_message,
            "texts": texts,
            "recipients": recipients,
        }

    return _cached(request, schemas.PetitionDetail, build)


@api.get(
    "/petitions/{slug}/countries",
    response={200: list[schemas.CountryCount], **COMMON_RESPONSES},
    summary="Signatures by country (top 50)",
)
def petition_countries(request: HttpRequest, slug: Slug) -> Any:
    def build() -> list[dict[str, Any]]:
        petition = _public_petition(slug)
        return [
            {"country": code, "name": str(countries.name(code)), "count": count}
            for code, count in counts_by_country(petition, limit=50)
        ]

    return _cached(request, list[schemas.CountryCount], build)


@api.get(
    "/petitions/{slug}/comments",
    response={200: list[schemas.Comment], **COMMON_RESPONSES},
    summary="Approved comments (newest 50)",
)
def petition_comments(request: HttpRequest, slug: Slug) -> Any:
    def build() -> list[dict[str, Any]]:
        petition = _public_petition(slug)
        return [
            {
                "first_name": signature.first_name,
                "country": str(signature.country),
                "comment": signature.comment,
                "created_at": signature.created_at,
            }
            for signature in comments_approved(petition, limit=50)
        ]

    return _cached(request, list[schemas.Comment], build)


@api.get(
    "/petitions/{slug}/delivery",
    response={200: schemas.Delivery, **COMMON_RESPONSES},
    summary="The delivery ledger: what became of the letters, per recipient, and the recipients' responses",
)
def petition_delivery(request: HttpRequest, slug: Slug) -> Any:
    def build() -> dict[str, Any]:
        petition = _public_petition(slug)
        return {
            "recipients": [line.as_json() for line in delivery_ledger(petition)],
            "responses": [
                response | {"recipient": response["recipient"] and {"organisation": "", **response["recipient"]}}
                for response in (response_as_json(reply) for reply in responses_shown(petition))
            ],
        }

    return _cached(request, schemas.Delivery, build)
