"""Delivery you can see: the ESP's word on each letter, recorded from its
tracking webhook (signed as Resend signs it, anymail's real view), the public
ledger per recipient and its JSON, and a signer following their own letter
from the link in their thank-you email. Letters go to a fake ESP on 127.0.0.1."""

import base64
import json
import re
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse
from svix.webhooks import Webhook

from petitions.models import Letter, Signature, Target
from petitions.services import letters as letter_service
from petitions.services import signing, supporter_mail
from petitions.tokens import letter_state_token_make
from tests.conftest import SIGNER, sign
from tests.test_accessibility import axe_page, axe_run, chromium, site  # noqa: F401  (fixtures for the axe tests)

pytestmark = pytest.mark.django_db

BASIC = "esp-hook:a-long-webhook-secret"
SIGNING_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
COMMISSION = "Jean-Claude Juncker"
AT_10_42 = datetime(2026, 12, 4, 10, 42, tzinfo=UTC)
LIBYA = "Fayez Al-Sarraj"


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.ANYMAIL = (settings.ANYMAIL or {}) | {"WEBHOOK_SECRET": BASIC, "RESEND_SIGNING_SECRET": SIGNING_SECRET}


_event_numbers = iter(range(1, 1_000_000))


def esp_says(kind, letter, *, at="2026-12-04T10:42:00.000Z", event_id=None):
    """Post one Resend tracking event about `letter` as Resend would: svix-signed, with basic auth."""
    body = json.dumps({
        "type": kind,
        "created_at": at,
        "data": {"email_id": letter.esp_message_id, "to": [letter.target.email], "created_at": at, "headers": []},
    })
    event_id = event_id or f"msg_{next(_event_numbers)}"
    timestamp = datetime.now(UTC)
    headers = {
        "HTTP_SVIX_ID": event_id,
        "HTTP_SVIX_TIMESTAMP": str(int(timestamp.timestamp())),
        "HTTP_SVIX_SIGNATURE": Webhook(SIGNING_SECRET).sign(event_id, timestamp, body),
        "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(BASIC.encode()).decode(),
    }
    response = Client().post(reverse("resend_tracking_webhook"), data=body, content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    return event_id


def signer_confirmed(client, petition, **fields):
    sign(client, petition, SIGNER | fields)
    signature = Signature.objects.get(email=fields.get("email", SIGNER["email"]))
    signing.signature_confirm(public_id=signature.public_id)
    return signature


def letters_send():
    for letter in Letter.objects.filter(state=Letter.State.QUEUED):
        letter_service.letter_send(letter_id=letter.pk)


def letter_to(signature, name):
    return Letter.objects.select_related("target").get(signature=signature, target__name=name)


def ledger_line(page, name):
    """The figures of one recipient's row of the public page."""
    target = Target.objects.get(name=name)
    row = re.search(rf'<tr data-recipient="{target.pk}">(.*?)</tr>', page, re.S)
    assert row, page
    return dict(re.findall(r'<td data-field="(\w+)">(.*?)</td>', row.group(1), re.S))


class DeliveryLedgerTests:
    def test_it_records_each_letters_outcome_once_and_never_lets_a_late_event_undo_delivered(
        self, client, fake_esp, petition
    ):
        signature = signer_confirmed(client, petition)
        letters_send()
        letter = letter_to(signature, COMMISSION)
        assert letter.state == Letter.State.SENT and letter.esp_message_id and letter.outcome == ""

        esp_says("email.sent", letter, at="2026-12-04T10:41:00.000Z")
        letter.refresh_from_db()
        assert letter.outcome == Letter.Outcome.SENT
        delivered = esp_says("email.delivered", letter, at="2026-12-04T10:42:00.000Z")
        letter.refresh_from_db()
        assert (letter.outcome, letter.delivered_at) == (Letter.Outcome.DELIVERED, AT_10_42)

        # Webhooks repeat and arrive out of order: none of these undoes 'delivered'.
        esp_says("email.delivered", letter, at="2026-12-04T10:50:00.000Z", event_id=delivered)
        esp_says("email.sent", letter, at="2026-12-04T10:41:00.000Z")
        esp_says("email.delivery_delayed", letter, at="2026-12-04T10:40:00.000Z")
        letter.refresh_from_db()
        assert (letter.outcome, letter.delivered_at) == (Letter.Outcome.DELIVERED, AT_10_42)
        # ... while a complaint after delivery is news, and keeps the delivery time.
        esp_says("email.complained", letter, at="2026-12-04T12:00:00.000Z")
        letter.refresh_from_db()
        assert (letter.outcome, letter.delivered_at.hour) == (Letter.Outcome.COMPLAINED, 10)
        # The other letter heard nothing, and no event about it was mistaken for this one.
        assert letter_to(signature, LIBYA).outcome == ""

    def test_it_shows_per_recipient_figures_on_the_public_page_and_as_json_naming_no_signer(
        self, client, fake_esp, petition
    ):
        signers = [
            signer_confirmed(client, petition, email=f"signer{n}@example.org", first_name=f"Nadia{n}", last_name="Zed")
            for n in range(4)
        ]
        letters_send()
        esp_says("email.delivered", letter_to(signers[0], COMMISSION), at="2026-12-04T09:00:00.000Z")
        esp_says("email.delivered", letter_to(signers[1], COMMISSION), at="2026-12-04T10:42:00.000Z")
        esp_says("email.bounced", letter_to(signers[2], COMMISSION))
        esp_says("email.delivered", letter_to(signers[0], LIBYA), at="2026-12-04T08:00:00.000Z")
        # A fifth signer's letters wait: the commission's address is now held
        # after the bounce, and the Libyan recipient's is queued behind the cap.
        Target.objects.filter(name=LIBYA).update(hourly_cap=4)
        signer_confirmed(client, petition, email="late@example.org", first_name="Late", last_name="Signer")
        letters_send()

        page = client.get(reverse("petitions:delivery", args=[petition.slug])).content.decode()
        commission = ledger_line(page, COMMISSION)
        assert {k: v for k, v in commission.items() if k != "last_delivered_at"} == {
            "sent": "4", "delivered": "2", "bounced": "1", "held": "1", "waiting": "0",
        }
        assert "4 December 2026, 10:42" in commission["last_delivered_at"]
        libya = ledger_line(page, LIBYA)
        assert (libya["sent"], libya["delivered"], libya["held"], libya["waiting"]) == ("4", "1", "0", "1")
        assert "4 December 2026, 08:00" in libya["last_delivered_at"]

        data = client.get(reverse("petitions:delivery_json", args=[petition.slug])).json()
        by_name = {line["recipient"]["name"]: line for line in data["recipients"]}
        assert by_name[COMMISSION] | {"recipient": None} == {
            "recipient": None, "sent": 4, "delivered": 2, "bounced": 1, "held": 1, "waiting": 0, "failed": 0,
            "last_delivered_at": "2026-12-04T10:42:00+00:00",
        }
        assert by_name[LIBYA]["waiting"] == 1
        # Nothing personal: no signer's name, address or country appears.
        for text in (page, json.dumps(data)):
            for name in ("Nadia", "Zed", "Late", "Signer", "@example.org", "Tunisia"):
                assert name not in text, name

    def test_a_signer_follows_their_own_letter_from_the_thank_you_email(self, client, fake_esp, petition, settings):
        mine = signer_confirmed(client, petition)
        other = signer_confirmed(
            client, petition, email="someone.else@example.org", first_name="Otto", last_name="Else"
        )
        supporter_mail.outbox_drain()
        [thanks] = [m for m in fake_esp.messages_to(SIGNER["email"]) if m["subject"].startswith("Thank you")]
        link = next(word for word in thanks["text"].split() if "/letters/" in word)
        assert link in thanks["html"]
        path = link.removeprefix(settings.SITE_URL)

        page = client.get(path).content.decode()
        assert page.count("Waiting to be sent") == 2 and "Amira" in page

        letters_send()
        esp_says("email.delivered", letter_to(mine, COMMISSION), at="2026-12-04T10:42:00.000Z")
        esp_says("email.delivered", letter_to(other, LIBYA), at="2026-12-04T11:00:00.000Z")
        response = client.get(path)
        assert response.status_code == 200 and "no-store" in response["Cache-Control"]
        page = response.content.decode()
        commission = re.search(rf"<strong>{COMMISSION}, [^<]*</strong>: (.*?)</li>", page, re.S)
        assert commission and "Delivered" in commission.group(1) and "4 December, 10:42" in commission.group(1)
        libya = re.search(rf"<strong>{LIBYA}, [^<]*</strong>: (.*?)</li>", page, re.S)
        assert libya and "Sent" in libya.group(1) and "Delivered" not in libya.group(1)
        # Only this signer's letters: nothing of the other signer's.
        main = page[page.index("<main"):page.index("</main>")]
        assert "Otto" not in page and "11:00" not in page and len(re.findall(r"<li[ >]", main)) == 2

        # The other signer's link shows theirs; a tampered link shows nothing.
        theirs = client.get(reverse("petitions:letter_state", args=[letter_state_token_make(other.public_id)]))
        assert "Otto" in theirs.content.decode() and "11:00" in theirs.content.decode()
        tampered = client.get(path[:-3] + ("aaa" if not path.endswith("aaa/") else "bbb") + "/")
        assert tampered.status_code == 404 and "Amira" not in tampered.content.decode()


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class DeliveryPagesAxeTests:
    """The ledger and the signer's letter page pass axe on a phone, as the signing pages do."""

    @pytest.mark.parametrize("which", ["delivery", "letter_state", "letter_state_invalid"])
    def test_axe_finds_no_violation(self, site, axe_page, client, fake_esp, petition, which):  # noqa: F811
        signature = signer_confirmed(client, petition)
        letters_send()
        esp_says("email.delivered", letter_to(signature, COMMISSION))
        esp_says("email.bounced", letter_to(signature, LIBYA))
        token = letter_state_token_make(signature.public_id) if which == "letter_state" else "not-a-token"
        path = {
            "delivery": reverse("petitions:delivery", args=[petition.slug]),
            "letter_state": reverse("petitions:letter_state", args=[token]),
            "letter_state_invalid": reverse("petitions:letter_state", args=[token]),
        }[which]
        axe_page.goto(site.url + path)
        heading = axe_page.locator("h1").inner_text()
        assert heading == {
            "delivery": "Where the letters are", "letter_state": "Your letters, Amira",
            "letter_state_invalid": "This link does not work",
        }[which]
        results = axe_run(axe_page)
        assert results["violations"] == [], results["violations"]
