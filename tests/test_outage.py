"""A person signing while Redis is down gets the normal page, and nothing is lost."""

import pytest
from django.urls import reverse

from campaign.celery import app
from petitions.models import Outbox, Signature
from petitions.services import letters as letter_service
from petitions.services import signing, supporter_mail
from tests.conftest import sign

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


def _reset_broker_pools():
    # Forget the cached pools so the next publish connects to app.conf.broker_url.
    # They are not closed: kombu keeps producer pools per URL in a global
    # registry, and the real broker's pool must stay usable for later tests.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def redis_down(settings):
    """Both the broker and the cache point at a port where nothing listens."""
    original = app.conf.broker_url
    app.conf.broker_url = DEAD_REDIS
    _reset_broker_pools()
    # Only the shared cache is Redis; the others (the page fragments') stay as they are.
    settings.CACHES = settings.CACHES | {"default": settings.CACHES["default"] | {"LOCATION": DEAD_REDIS}}
    yield
    app.conf.broker_url = original
    _reset_broker_pools()


class OutageTests:
    def test_signing_works_while_redis_is_down_and_the_sweep_catches_up(
        self, client, petition, signer, redis_down, django_capture_on_commit_callbacks, settings
    ):
        page = client.get(reverse("petitions:detail", args=[petition.slug]))
        assert page.status_code == 200
        assert page.context["confirmed_count"] == 0

        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = sign(client, petition, signer)
        assert response.status_code == 302
        assert response["Location"] == reverse("petitions:signed", args=[petition.slug])
        assert len(callbacks) == 1
        assert Signature.objects.get().state == Signature.State.PENDING
        entry = Outbox.objects.get()
        assert entry.published_at is None  # publishing failed and said so

        assert supporter_mail.outbox_republish() == 0  # still down: nothing handed over
        assert Outbox.objects.get().published_at is None

        app.conf.broker_url = settings.REDIS_URL
        _reset_broker_pools()
        assert supporter_mail.outbox_republish() == 1
        assert Outbox.objects.get().published_at is not None

    def test_confirming_while_redis_is_down_leaves_letters_for_the_dispatcher(
        self, client, petition, signer, redis_down, django_capture_on_commit_callbacks, settings
    ):
        sign(client, petition, signer)
        with django_capture_on_commit_callbacks(execute=True):
            signing.signature_confirm(public_id=Signature.objects.get().public_id)
        letters = petition.signatures.get().letters.all()
        assert len(letters) == 2 and all(letter.enqueued_at is None for letter in letters)
        app.conf.broker_url = settings.REDIS_URL
        _reset_broker_pools()
        assert letter_service.letters_dispatch() == 2
