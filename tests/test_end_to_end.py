"""Sign, confirm and deliver with every part real: a Celery worker process on a
real Redis, the test database, anymail's Resend backend and a fake ESP on
127.0.0.1. Only the ESP's far side is imitated."""

import time

import pytest

from petitions import services
from petitions.models import Letter, Outbox, Signature
from petitions.services import petition_seed_load
from tests.conftest import sign
from tests.support.fake_esp import FakeESP
from tests.support.processes import CeleryWorker, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def esp():
    with FakeESP(api_key="test-key") as esp:
        yield esp


@pytest.fixture
def worker(esp):
    with CeleryWorker(esp.url) as worker:
        yield worker


class EndToEndTests:
    def test_it_signs_confirms_and_delivers_each_letter_exactly_once(self, client, esp, worker, signer, settings):
        petition, _ = petition_seed_load()
        response = sign(client, petition, signer | {"first_name": "Zoë", "last_name": "Ó Súilleabháin", "reply_consent": "on"})
        assert response.status_code == 302

        [confirmation] = esp.wait_for(1, timeout=30)
        assert confirmation["to"] == ["amira.haddad@example.org"]
        link = next(word for word in confirmation["text"].split() if "/confirm/" in word)
        assert client.post(link.removeprefix(settings.SITE_URL)).status_code == 302

        esp.wait_for(4, timeout=30)  # the two letters and the thank-you email
        wait_until(lambda: Letter.objects.filter(state=Letter.State.SENT).count() == 2, message="letters marked sent\n" + worker.log())
        # Provoke the redundant publishing that a real deployment sees (the
        # periodic sweeps running while tasks are in flight), then give the
        # worker time to act on it: still nothing may go out twice.
        Letter.objects.update(enqueued_at=None)
        services.letters_dispatch()
        Outbox.objects.update(published_at=None)
        services.outbox_republish()
        for letter_id in Letter.objects.values_list("pk", flat=True):
            services._letters_publish([letter_id])
        time.sleep(3)

        letters = [m for m in esp.messages if m["subject"] == petition.letter_subject]
        assert sorted(m["to"][0] for m in letters) == [
            "Fayez Al-Sarraj <prime-minister@libya-government.example>",
            "Jean-Claude Juncker <president@european-commission.example>",
        ]
        assert len(esp.messages) == 4 and esp.duplicates_suppressed == 0
        [thanks] = [m for m in esp.messages if m["subject"].startswith("Thank you")]
        assert thanks["to"] == ["amira.haddad@example.org"]
        for message in letters:
            assert message["from"] == f"Zoë Ó Súilleabháin <{settings.LETTER_FROM_EMAIL}>"
            assert message["reply_to"] == ["amira.haddad@example.org"]
            assert message["text"].rstrip().endswith("Yours sincerely,\n\nZoë Ó Súilleabháin\nTunisia")
        assert {letter.esp_message_id for letter in Letter.objects.all()} == {m["id"] for m in letters}
        assert Signature.objects.get().state == Signature.State.CONFIRMED
