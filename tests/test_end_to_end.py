"""Sign, confirm and deliver with every part real: a Celery worker process on a
real Redis, the test database, anymail's Resend backend and a fake ESP on
127.0.0.1. Only the ESP's far side is imitated."""

import time

import pytest

from petitions.delivery import engine
from petitions.models import Letter, Outbox, Signature
from petitions.services import letters as letter_service
from petitions.services import mailings, supporter_mail
from petitions.services.content import petition_seed_load
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
        fields = {"first_name": "Zoë", "last_name": "Ó Súilleabháin", "reply_consent": "on"}
        response = sign(client, petition, signer | fields)
        assert response.status_code == 302

        [confirmation] = esp.wait_for(1, timeout=30)
        assert confirmation["to"] == ["amira.haddad@example.org"]
        link = next(word for word in confirmation["text"].split() if "/confirm/" in word)
        assert client.post(link.removeprefix(settings.SITE_URL)).status_code == 302

        esp.wait_for(4, timeout=30)  # the two letters and the thank-you email
        wait_until(
            lambda: Letter.objects.filter(state=Letter.State.SENT).count() == 2,
            message="letters marked sent\n" + worker.log(),
        )
        # Provoke the redundant publishing that a real deployment sees (the
        # periodic sweeps running while tasks are in flight), then give the
        # worker time to act on it: still nothing may go out twice.
        Letter.objects.update(enqueued_at=None)
        letter_service.letters_dispatch()
        Outbox.objects.update(published_at=None)
        supporter_mail.outbox_republish()
        for letter_id in Letter.objects.values_list("pk", flat=True):
            engine.hand_over(letter_service.LETTERS, "letters_send", [[letter_id]])
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


class MailingEndToEndTests:
    def test_an_update_reaches_a_few_hundred_supporters_in_batches_exactly_once(self, client, esp, worker, settings):
        from django.test import Client

        from petitions.models import Mailing, MailingRecipient, Suppression
        from tests.test_mailings import supporters_create

        petition, _ = petition_seed_load()
        supporters_create(petition, 320)
        mailing = Mailing.objects.create(petition=petition, subject="Tajoura closed", body="**Thank you.**")
        assert mailings.mailing_start(mailing_id=mailing.pk) == 320

        esp.wait_for(320, timeout=60)
        wait_until(
            lambda: Mailing.objects.get().state == Mailing.State.SENT,
            message="mailing marked sent\n" + worker.log(),
        )
        time.sleep(2)  # time for any stray second copy to arrive
        messages = esp.messages
        assert len(messages) == 320 and len({m["to"][0] for m in messages}) == 320
        assert esp.request_count == 4  # 4 batches of at most 100: 4 API calls, not 320
        assert MailingRecipient.objects.filter(state=MailingRecipient.State.SENT).count() == 320

        # The List-Unsubscribe header works as a mail client uses it: a POST
        # with no cookie and no CSRF token.
        message = messages[17]
        link = message["headers"]["List-Unsubscribe"].strip("<>")
        assert message["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        response = Client(enforce_csrf_checks=True).post(
            link.removeprefix(settings.SITE_URL), data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        assert Suppression.objects.get().email_normalized == message["to"][0].lower()
