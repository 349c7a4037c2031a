"""The ESP's tracking webhook: authenticated by anymail, each event acted on once."""

import base64
import json
from datetime import UTC, datetime

import pytest
from svix.webhooks import Webhook

from petitions.models import EspEvent, Letter, Mailing, MailingRecipient, Suppression, Target
from petitions.services import letters as letter_service
from petitions.services import mailings, signing
from tests.test_mailings import supporters_create

pytestmark = pytest.mark.django_db

BASIC = "esp-hook:a-long-webhook-secret"
SIGNING_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
URL = "/anymail/resend/tracking/"


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.ANYMAIL = (settings.ANYMAIL or {}) | {"WEBHOOK_SECRET": BASIC, "RESEND_SIGNING_SECRET": SIGNING_SECRET}


def event_body(kind, to, message="The recipient's email provider sent a hard bounce message."):
    return json.dumps({
        "type": kind,
        "created_at": "2026-11-22T10:00:00.000Z",
        "data": {"email_id": "em_1", "to": [to], "bounce": {"message": message}, "headers": []},
    })


def post_event(client, body, *, event_id="msg_1", auth=BASIC, secret=SIGNING_SECRET, tamper=False):
    timestamp = datetime.now(UTC)
    signature = Webhook(secret).sign(event_id, timestamp, body)
    headers = {
        "HTTP_SVIX_ID": event_id,
        "HTTP_SVIX_TIMESTAMP": str(int(timestamp.timestamp())),
        "HTTP_SVIX_SIGNATURE": signature,
    }
    if auth:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return client.post(URL, data=body + (" " if tamper else ""), content_type="application/json", **headers)


class WebhookTests:
    def test_a_bounce_suppresses_the_next_send(self, client, fake_esp, petition, campaigner):
        supporters_create(petition, 3)
        response = post_event(client, event_body("email.bounced", "Supporter1@Example.org"))
        assert response.status_code == 200
        suppression = Suppression.objects.get()
        assert (suppression.email_normalized, suppression.reason) == ("supporter1@example.org", "bounced")
        mailing = Mailing.objects.create(petition=petition, subject="News", body="News.", created_by=campaigner)
        mailings.mailing_start(mailing_id=mailing.pk)
        mailings.mailing_send(mailing_id=mailing.pk)
        assert sorted(m["to"][0] for m in fake_esp.messages) == ["Supporter0@Example.org", "Supporter2@Example.org"]

    def test_a_complaint_suppresses_and_a_bounce_after_the_start_skips_the_copy(
        self, client, fake_esp, petition, campaigner
    ):
        supporters_create(petition, 2)
        mailing = Mailing.objects.create(petition=petition, subject="News", body="News.", created_by=campaigner)
        mailings.mailing_start(mailing_id=mailing.pk)
        post_event(client, event_body("email.complained", "supporter0@example.org"))
        assert Suppression.objects.get().reason == "complained"
        assert MailingRecipient.objects.get(email_normalized="supporter0@example.org").state == "skipped"
        mailings.mailing_send(mailing_id=mailing.pk)
        assert [m["to"][0] for m in fake_esp.messages] == ["Supporter1@Example.org"]

    @pytest.mark.parametrize(
        "how",
        [
            {"auth": "esp-hook:wrong"},
            {"auth": None},
            {"secret": "whsec_" + base64.b64encode(b"x" * 32).decode()},
            {"tamper": True},
        ],
        ids=["wrong-basic-auth", "no-basic-auth", "wrong-signature", "tampered-body"],
    )
    def test_an_unauthenticated_call_is_refused_and_writes_nothing(self, client, petition, how):
        response = post_event(client, event_body("email.bounced", "someone@example.org"), **how)
        assert response.status_code in (400, 401, 403)
        assert not Suppression.objects.exists() and not EspEvent.objects.exists()

    @pytest.mark.parametrize(
        "body,status",
        [("{not json", 400), ("[]", 400), ('{"type": "email.bounced", "data": 5}', 400),
         # Well-formed but naming no recipient: accepted, and nothing to act on.
         ('{"type": "email.bounced"}', 200)],
    )
    def test_a_malformed_call_is_refused_or_ignored_and_writes_nothing(self, client, petition, body, status):
        assert post_event(client, body).status_code == status
        assert not Suppression.objects.exists() and not EspEvent.objects.exists()

    def test_a_replayed_event_is_processed_once(self, client, petition):
        body = event_body("email.bounced", "someone@example.org")
        assert post_event(client, body, event_id="msg_7").status_code == 200
        Suppression.objects.all().delete()  # staff removed it after fixing things
        assert post_event(client, body, event_id="msg_7").status_code == 200
        assert not Suppression.objects.exists()
        assert EspEvent.objects.count() == 1

    def test_a_bouncing_recipient_is_held_instead_of_burning_letters(self, client, fake_esp, petition, signer):
        from tests.conftest import sign

        target = Target.objects.get(name="Fayez Al-Sarraj")
        post_event(client, event_body("email.bounced", target.email))
        target.refresh_from_db()
        assert target.bounce_held_since is not None and "bounced" in target.bounce_reason
        sign(client, petition, signer)
        signing.signature_confirm(public_id=petition.signatures.get().public_id)
        for letter in Letter.objects.all():
            letter_service.letter_send(letter_id=letter.pk)
        assert [m["to"][0] for m in fake_esp.messages] == [
            "Jean-Claude Juncker <president@european-commission.example>"
        ]
        held = Letter.objects.get(target=target)
        assert held.state == Letter.State.QUEUED
        assert letter_service.letters_dispatch() == 0
        from petitions.services.suppression import target_bounce_clear

        assert target_bounce_clear(target_ids=[target.pk]) == 1
        assert letter_service.letters_dispatch() == 1

    def test_delivered_and_opened_events_change_nothing(self, client, petition):
        assert post_event(client, event_body("email.delivered", "someone@example.org")).status_code == 200
        assert not Suppression.objects.exists()
