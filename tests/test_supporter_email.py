"""Thanks, reminders, unsubscribing and the safety of every supporter email."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from petitions import emails
from petitions.models import Outbox, Signature, Suppression
from petitions.services import moderation, signing, supporter_mail
from petitions.tokens import unsubscribe_token_make
from tests.conftest import sign

pytestmark = pytest.mark.django_db


def deliver_outbox():
    for entry_id in Outbox.objects.filter(state=Outbox.State.PENDING).order_by("pk").values_list("pk", flat=True):
        supporter_mail.outbox_deliver(outbox_id=entry_id)


@pytest.fixture
def pending(client, petition, signer):
    sign(client, petition, signer | {"updates_consent": "on"})
    return Signature.objects.get()


def unsubscribe_path(signature):
    return reverse("petitions:unsubscribe", args=[unsubscribe_token_make(signature.public_id)])


class ThanksTests:
    def test_confirming_sends_a_thank_you_with_share_links_and_what_happens_next(self, pending):
        signing.signature_confirm(public_id=pending.public_id)
        deliver_outbox()
        thanks = mail.outbox[-1]
        assert thanks.subject == "Thank you: your letter is on its way"
        assert thanks.to == ["amira.haddad@example.org"]
        html = thanks.alternatives[0][0]
        for share in ("mailto:?subject=", "https://wa.me/?text=", "https://x.com/intent/post", "facebook.com/sharer"):
            assert share in thanks.body and share in html
        assert "What happens next" in html and "What happens next" in thanks.body

    def test_every_supporter_email_has_a_text_and_html_part_and_one_click_unsubscribe(
        self, client, petition, pending, repeat_signer
    ):
        sign(client, petition, repeat_signer)
        signing.signature_confirm(public_id=pending.public_id)
        Signature.objects.update(state=Signature.State.PENDING)  # so a reminder is still due
        Signature.objects.update(created_at=timezone.now() - timedelta(days=2))
        supporter_mail.reminders_queue()
        deliver_outbox()
        kinds = {message.subject.split(":")[0] for message in mail.outbox}
        assert kinds == {"Please confirm your signature", "You have already signed", "Thank you", "Reminder"}
        for message in mail.outbox:
            assert message.alternatives and message.alternatives[0][1] == "text/html"
            assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            link = message.extra_headers["List-Unsubscribe"].strip("<>")
            assert link.startswith("http://testserver/en/unsubscribe/")
            assert link in message.body


class ReminderTests:
    def test_a_pending_signer_is_reminded_twice_at_most_after_one_and_three_days(self, pending):
        now = timezone.now()
        assert supporter_mail.reminders_queue(now=now + timedelta(hours=23)) == 0
        assert supporter_mail.reminders_queue(now=now + timedelta(days=1, minutes=1)) == 1
        assert supporter_mail.reminders_queue(now=now + timedelta(days=2)) == 0
        assert supporter_mail.reminders_queue(now=now + timedelta(days=3, minutes=1)) == 1
        assert supporter_mail.reminders_queue(now=now + timedelta(days=30)) == 0
        assert Outbox.objects.filter(kind=Outbox.Kind.REMINDER_EMAIL).count() == 2
        Outbox.objects.update(next_attempt_at=timezone.now())  # queued "in the future" above
        deliver_outbox()
        reminders = [m for m in mail.outbox if "reminder" in m.subject.lower()]
        assert [m.subject.split(":")[0] for m in reminders] == ["Reminder", "Last reminder"]
        assert all("/confirm/" in m.body for m in reminders)

    @pytest.mark.parametrize("what", ["confirmed", "invalidated", "unsubscribed", "closed"])
    def test_no_reminder_after_confirming_invalidation_unsubscribing_or_closing(self, client, petition, pending, what):
        if what == "confirmed":
            signing.signature_confirm(public_id=pending.public_id)
        elif what == "invalidated":
            moderation.signatures_invalidate(signature_ids=[pending.pk], actor=None, reason="test")
        elif what == "unsubscribed":
            client.post(unsubscribe_path(pending))
        else:
            petition.is_open = False
            petition.save()
        assert supporter_mail.reminders_queue(now=timezone.now() + timedelta(days=5)) == 0

    def test_a_reminder_queued_before_the_signer_confirmed_is_not_sent(self, pending):
        supporter_mail.reminders_queue(now=timezone.now() + timedelta(days=2))
        signing.signature_confirm(public_id=pending.public_id)
        Outbox.objects.update(next_attempt_at=timezone.now())
        deliver_outbox()
        assert not [m for m in mail.outbox if "reminder" in m.subject.lower()]
        assert Outbox.objects.get(kind=Outbox.Kind.REMINDER_EMAIL).state == Outbox.State.SKIPPED


class UnsubscribeTests:
    def test_the_link_shows_a_button_and_changes_nothing_on_get(self, client, pending):
        response = client.get(unsubscribe_path(pending))
        assert response.status_code == 200 and "Unsubscribe" in response.content.decode()
        assert not Suppression.objects.exists()

    def test_one_click_post_without_a_cookie_unsubscribes(self, pending):
        client = Client(enforce_csrf_checks=True)
        response = client.post(
            unsubscribe_path(pending),
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        assert "You are unsubscribed" in response.content.decode()
        suppression = Suppression.objects.get()
        assert (suppression.email_normalized, suppression.reason) == ("amira.haddad@example.org", "unsubscribed")
        assert Signature.objects.get().updates_consent is None

    def test_unsubscribing_twice_is_harmless(self, client, pending):
        assert client.post(unsubscribe_path(pending)).status_code == 200
        assert client.post(unsubscribe_path(pending)).status_code == 200
        assert Suppression.objects.count() == 1

    def test_a_forged_or_mangled_link_changes_nothing(self, client, pending):
        token = unsubscribe_token_make(pending.public_id)
        for bad in (token[:-3], "x" + token, token.split(":")[0]):
            assert client.post(reverse("petitions:unsubscribe", args=[bad])).status_code == 400
        assert not Suppression.objects.exists()

    def test_after_unsubscribing_a_new_signature_still_gets_its_confirmation(self, client, petition, pending, signer):
        client.post(unsubscribe_path(pending))
        sign(client, petition, signer | {"email": "amira.haddad@example.org"})  # a repeat: already-signed notice
        deliver_outbox()
        subjects = [m.subject.split(":")[0] for m in mail.outbox]
        assert subjects == ["Please confirm your signature", "You have already signed"]


class HeaderSafetyTests:
    def test_a_name_with_a_line_break_never_reaches_a_header(self, petition, pending):
        # The form refuses line breaks; this checks the layer below it too.
        Signature.objects.update(first_name="Amira\r\nBcc: victim@example.org", last_name="Haddad\nX-Evil: 1")
        signing.signature_confirm(public_id=pending.public_id)
        letter = pending.letters.first()
        message = emails.letter_email(letter).message()
        headers = message.items()
        assert "Bcc" not in dict(headers) and "X-Evil" not in dict(headers)
        for name, value in headers:
            assert "\n" not in str(value).replace("\n ", "").replace("\r\n ", ""), name
        # Folded onto one line, and no longer readable as an address either.
        assert "Amira Bcc: victimexample.org Haddad X-Evil: 1" in str(message["From"])
