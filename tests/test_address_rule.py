"""One address rule everywhere: a bounce, a complaint, an unsubscribe or a
staff-added suppression for one spelling of a mailbox stops mail to every
spelling of it (petitions.addresses.email_canonical)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from petitions.models import Mailing, Outbox, Signature, Suppression
from petitions.selectors.mailings import mailing_audience
from petitions.services import mailings, signing, supporter_mail, suppression
from tests.conftest import sign
from tests.test_webhooks import event_body, post_event

pytestmark = pytest.mark.django_db

JANE = {"first_name": "Jane", "last_name": "Doe", "country": "GB", "postcode": "", "letter_consent": "on"}


def signed_up(client, petition, email):
    """A confirmed signer who asked for updates, as the form and the link leave them."""
    assert sign(client, petition, JANE | {"email": email, "updates_consent": "on"}).status_code == 302
    signature = Signature.objects.get()
    signing.signature_confirm(public_id=signature.public_id)
    return signature


def audience(petition):
    return set(mailing_audience(petition_id=petition.pk).values_list("email", flat=True))


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("email.bounced", Suppression.Reason.BOUNCED), ("email.complained", Suppression.Reason.COMPLAINED)],
)
class EspEventAddressTests:
    def test_an_event_for_a_dotted_gmail_spelling_suppresses_the_signer(self, client, petition, kind, reason, settings):
        settings.ANYMAIL = (settings.ANYMAIL or {}) | {"WEBHOOK_SECRET": "esp-hook:a-long-webhook-secret"}
        signed_up(client, petition, "janedoe@gmail.com")
        assert audience(petition) == {"janedoe@gmail.com"}
        assert post_event(client, event_body(kind, "Jane.Doe+news@GoogleMail.com")).status_code == 200
        assert Suppression.objects.get().email_normalized == "janedoe@gmail.com"
        assert Suppression.objects.get().reason == reason
        assert audience(petition) == set()

    def test_an_event_for_the_punycode_spelling_suppresses_the_unicode_signer(
        self, client, petition, kind, reason, settings
    ):
        settings.ANYMAIL = (settings.ANYMAIL or {}) | {"WEBHOOK_SECRET": "esp-hook:a-long-webhook-secret"}
        signed_up(client, petition, "h@bücher.example")
        assert post_event(client, event_body(kind, "H@xn--bcher-kva.example")).status_code == 200
        assert audience(petition) == set()


class SuppressionSpellingTests:
    def test_a_staff_added_suppression_in_any_spelling_stops_updates(self, client, petition, superuser):
        signed_up(client, petition, "janedoe@gmail.com")
        client.force_login(superuser)
        response = client.post(
            reverse("admin:petitions_suppression_add"),
            {
                "email_normalized": "  Jane.Doe@GMAIL.com ",
                "reason": Suppression.Reason.MANUAL,
                "detail": "Asked by phone",
            },
        )
        assert response.status_code == 302
        assert Suppression.objects.get().email_normalized == "janedoe@gmail.com"
        assert audience(petition) == set()

    def test_an_unsubscribe_from_one_spelling_covers_the_mailbox(self, client, petition):
        signature = signed_up(client, petition, "Jane.Doe@gmail.com")
        assert suppression.supporter_unsubscribe(public_id=signature.public_id)
        assert suppression.supporter_email_blocked("janedoe@gmail.com", Outbox.Kind.REMINDER_EMAIL)
        assert audience(petition) == set()

    def test_a_full_width_suppression_stops_reminders_to_the_ascii_signer(self, client, petition):
        assert sign(client, petition, JANE | {"email": "janedoe@gmail.com"}).status_code == 302
        suppression.suppression_add(email="ｊａｎｅ．ｄｏｅ＠ｇｍａｉｌ．ｃｏｍ")
        Signature.objects.update(created_at=timezone.now() - timedelta(days=2))
        assert supporter_mail.reminders_queue() == 0

    def test_a_mailing_skips_a_copy_suppressed_after_the_start_in_another_spelling(
        self, client, petition, campaigner, fake_esp
    ):
        signed_up(client, petition, "janedoe@gmail.com")
        mailing = Mailing.objects.create(petition=petition, subject="News", body="News.", created_by=campaigner)
        assert mailings.mailing_start(mailing_id=mailing.pk) == 1
        suppression.suppression_add(email="JANE.DOE+lists@gmail.com", reason=Suppression.Reason.BOUNCED)
        mailings.mailing_send(mailing_id=mailing.pk)
        assert [m for m in fake_esp.messages if m["subject"] == "News"] == []
