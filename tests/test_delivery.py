"""Supporter emails through the outbox, and letters to the named recipients,
sent through anymail's real Resend backend to the fake ESP on 127.0.0.1."""

import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from petitions import caches
from petitions.delivery import transport
from petitions.models import Letter, Outbox, RateLimit, Signature, Suppression, Target
from petitions.services import letters as letter_service
from petitions.services import moderation, signing, supporter_mail
from tests.conftest import sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(client, petition, signer):
    sign(client, petition, signer)
    return Signature.objects.get()


@pytest.fixture
def confirmed(pending):
    signing.signature_confirm(public_id=pending.public_id)
    pending.refresh_from_db()
    return pending


def deliver_outbox():
    for entry_id in Outbox.objects.filter(state=Outbox.State.PENDING).order_by("pk").values_list("pk", flat=True):
        supporter_mail.outbox_deliver(outbox_id=entry_id)


def send_letters():
    letter_ids = Letter.objects.order_by("pk").values_list("pk", flat=True)
    return [letter_service.letter_send(letter_id=pk) for pk in letter_ids]


class OutboxDeliveryTests:
    def test_it_sends_the_confirmation_email_once_even_when_asked_twice(self, fake_esp, pending):
        entry = Outbox.objects.get()
        assert supporter_mail.outbox_deliver(outbox_id=entry.pk)
        assert supporter_mail.outbox_deliver(outbox_id=entry.pk) is None
        [message] = fake_esp.messages
        assert message["to"] == ["amira.haddad@example.org"]
        assert message["subject"] == (
            "Please confirm your signature: Demand Libya stop the detention and sale of migrants"
        )
        assert "/confirm/" in message["text"] and "/confirm/" in message["html"]
        assert message["idempotency_key"] == f"outbox-{entry.pk}"
        entry.refresh_from_db()
        assert entry.state == Outbox.State.DONE and entry.esp_message_id == message["id"]

    def test_the_link_in_the_email_confirms(self, client, fake_esp, pending):
        deliver_outbox()
        link = next(word for word in fake_esp.messages[0]["text"].split() if "/confirm/" in word)
        path = link.removeprefix("http://testserver")
        assert client.post(path).status_code == 302
        assert Signature.objects.get().state == Signature.State.CONFIRMED

    def test_a_repeat_signer_is_told_by_email_and_given_the_link_again(
        self, client, fake_esp, petition, pending, repeat_signer
    ):
        sign(client, petition, repeat_signer)
        deliver_outbox()
        confirmation, notice = fake_esp.messages
        assert notice["subject"].startswith("You have already signed")
        assert "/confirm/" in notice["text"]

    def test_a_transient_esp_error_is_retried_later_with_back_off(self, fake_esp, pending):
        entry = Outbox.objects.get()
        fake_esp.fail_next(1, status=503)
        assert supporter_mail.outbox_deliver(outbox_id=entry.pk) is None
        entry.refresh_from_db()
        assert entry.state == Outbox.State.PENDING and "503" in entry.last_error
        assert entry.published_at is None
        assert entry.next_attempt_at > timezone.now() + timedelta(seconds=20)
        # Not due yet: a stray copy of the task does nothing.
        assert supporter_mail.outbox_deliver(outbox_id=entry.pk) is None
        assert supporter_mail.outbox_republish() == 0
        later = timezone.now() + timedelta(minutes=2)
        Outbox.objects.filter(pk=entry.pk).update(next_attempt_at=timezone.now())
        assert supporter_mail.outbox_deliver(outbox_id=entry.pk)
        assert len(fake_esp.messages) == 1
        assert later  # the schedule, not a sleep, decides when it goes

    def test_a_retried_email_is_byte_identical_so_the_esp_can_drop_the_repeat(self, fake_esp, pending, settings):
        # The first attempt times out on our side but the ESP accepted it; the
        # retry carries the same key and the same body, so the ESP sends nothing more.
        entry = Outbox.objects.get()
        fake_esp.delay_next(1, 1.5)
        settings.ANYMAIL = settings.ANYMAIL | {"REQUESTS_TIMEOUT": 0.5}
        assert supporter_mail.outbox_deliver(outbox_id=entry.pk) is None
        fake_esp.wait_for(1)
        Outbox.objects.filter(pk=entry.pk).update(next_attempt_at=timezone.now())
        time.sleep(1.2)  # let the first request finish on the ESP's side
        assert supporter_mail.outbox_deliver(outbox_id=entry.pk)
        assert len(fake_esp.messages) == 1 and fake_esp.duplicates_suppressed == 1
        assert Outbox.objects.get().state == Outbox.State.DONE

    def test_a_changed_retry_refused_by_the_esp_fails_for_staff_to_see(self, fake_esp, pending):
        fake_esp.fail_next(
            1,
            status=409,
            body='{"statusCode":409,"name":"invalid_idempotent_request","message":"Same key, different body."}',
        )
        supporter_mail.outbox_deliver(outbox_id=Outbox.objects.get().pk)
        entry = Outbox.objects.get()
        assert entry.state == Outbox.State.FAILED and "Same key, different body." in entry.last_error

    def test_the_confirmation_link_lasts_from_when_the_email_was_asked_for(self, client, fake_esp, pending, settings):
        Outbox.objects.update(created_at=timezone.now() - settings.CONFIRMATION_MAX_AGE - timedelta(hours=1))
        deliver_outbox()
        link = next(word for word in fake_esp.messages[0]["text"].split() if "/confirm/" in word)
        assert client.post(link.removeprefix("http://testserver")).status_code == 410

    def test_a_rate_limit_is_honoured(self, fake_esp, pending):
        entry = Outbox.objects.get()
        fake_esp.fail_next(1, status=429, retry_after=600)
        supporter_mail.outbox_deliver(outbox_id=entry.pk)
        entry.refresh_from_db()
        assert entry.next_attempt_at > timezone.now() + timedelta(seconds=590)

    def test_a_permanent_refusal_is_recorded_with_its_reason(self, fake_esp, pending):
        fake_esp.reject_address("amira.haddad@example.org", status=422, message="The address is suppressed.")
        supporter_mail.outbox_deliver(outbox_id=Outbox.objects.get().pk)
        entry = Outbox.objects.get()
        assert entry.state == Outbox.State.FAILED
        assert "422" in entry.last_error and "suppressed" in entry.last_error

    def test_the_sweep_republishes_what_was_never_published_or_got_lost(self, pending):
        entry = Outbox.objects.get()
        Outbox.objects.filter(pk=entry.pk).update(published_at=None)
        assert supporter_mail.outbox_republish() == 1
        assert supporter_mail.outbox_republish() == 0  # published again just now: within its lease
        two_leases_ago = timezone.now() - timedelta(seconds=settings.OUTBOX_LEASE_SECONDS) * 2
        Outbox.objects.filter(pk=entry.pk).update(published_at=two_leases_ago)
        assert supporter_mail.outbox_republish() == 1
        entry.refresh_from_db()
        assert entry.publish_count == 2


@contextmanager
def override_esp_timeout(seconds):
    """Make anymail give up on the ESP after `seconds` (a fresh backend, then the usual one again)."""
    from django.test import override_settings

    anymail = dict(settings.ANYMAIL, REQUESTS_TIMEOUT=seconds)
    transport._open_connections.clear()
    try:
        with override_settings(ANYMAIL=anymail):
            yield
    finally:
        transport._open_connections.clear()


@contextmanager
def publishes():
    """The tasks handed to the broker meanwhile, as (task name, arguments)."""
    from celery.signals import before_task_publish

    published = []

    def record(sender=None, body=None, **kwargs):
        published.append((sender.rsplit(".", 1)[-1], tuple(body[0])))

    before_task_publish.connect(record, weak=False)
    try:
        yield published
    finally:
        before_task_publish.disconnect(record)


class OutboxDrainTests:
    def _three_signers(self, client, petition, signer):
        for number in range(3):
            sign(client, petition, signer | {"email": f"signer{number}@example.org"})

    def test_signing_wakes_one_drain_however_many_sign_until_it_has_finished(
        self, client, petition, signer, fake_esp, django_capture_on_commit_callbacks
    ):
        with publishes() as published, django_capture_on_commit_callbacks(execute=True):
            self._three_signers(client, petition, signer)
        assert published == [("outbox_drain", (0,))]
        assert supporter_mail.outbox_drain(slot=0) == 3
        # One ESP batch call for the three confirmation emails, under one key.
        assert fake_esp.request_count == 1 and len(fake_esp.messages) == 3
        assert len({message["idempotency_key"] for message in fake_esp.messages}) == 1
        first_entry_pk = Outbox.objects.order_by("pk").first().pk
        assert set(Outbox.objects.values_list("state", "batch")) == {(Outbox.State.DONE, first_entry_pk)}
        assert sorted(Outbox.objects.values_list("esp_message_id", flat=True)) == sorted(
            message["id"] for message in fake_esp.messages
        )
        # The drain freed its slot: the next signer wakes a new one.
        with publishes() as published, django_capture_on_commit_callbacks(execute=True):
            sign(client, petition, signer | {"email": "late@example.org"})
        assert published == [("outbox_drain", (0,))]

    def test_a_drain_skips_a_suppressed_address_but_not_an_unsubscribed_signers_confirmation(
        self, client, petition, signer, fake_esp
    ):
        self._three_signers(client, petition, signer)
        Suppression.objects.create(email_normalized="signer0@example.org", reason=Suppression.Reason.BOUNCED)
        Suppression.objects.create(email_normalized="signer1@example.org", reason=Suppression.Reason.UNSUBSCRIBED)
        assert supporter_mail.outbox_drain(slot=0) == 3
        states = dict(Outbox.objects.values_list("signature__email", "state"))
        assert states == {"signer0@example.org": Outbox.State.SKIPPED, "signer1@example.org": Outbox.State.DONE,
                          "signer2@example.org": Outbox.State.DONE}
        delivered_to = sorted(message["to"][0] for message in fake_esp.messages)
        assert delivered_to == ["signer1@example.org", "signer2@example.org"]

    def test_a_drain_with_a_full_batch_wakes_a_second_one(self, client, petition, signer, fake_esp, monkeypatch):
        monkeypatch.setattr(supporter_mail, "DRAIN_BATCH", 2)
        self._three_signers(client, petition, signer)
        with publishes() as published:
            assert supporter_mail.outbox_drain(slot=0) == 3
        assert published == [("outbox_drain", (1,))]
        assert supporter_mail.outbox_drain(slot=1) == 0

    def test_a_drain_hands_its_slot_to_a_fresh_task_after_its_turn(
        self, client, petition, signer, fake_esp, monkeypatch
    ):
        monkeypatch.setattr(supporter_mail, "DRAIN_TURN_SECONDS", 0)
        self._three_signers(client, petition, signer)
        cache.add("outbox:drain-slot:0", 1, 60)  # as the wake-up that started this drain left it
        with publishes() as published:
            assert supporter_mail.outbox_drain(slot=0) == 3
        assert published == [("outbox_drain", (0,))]
        assert cache.get("outbox:drain-slot:0") is not None  # still held, for the successor

    def test_the_sweep_wakes_a_drain_even_when_a_dead_drain_left_its_slot_taken(self, client, petition, signer):
        self._three_signers(client, petition, signer)
        cache.add("outbox:drain-slot:0", 1, 60)
        Outbox.objects.update(published_at=None)  # as a failed wake-up leaves them
        with publishes() as published:
            assert supporter_mail.outbox_republish() == 3
        assert published == [("outbox_drain", (0,))]

    def test_each_copy_of_a_batch_reads_exactly_as_the_email_sent_alone(self, client, petition, signer, fake_esp):
        from petitions import emails

        names = ["Zoë & Jo's", "{{confirm_url}}", "Amira"]  # a name that looks like a merge field stays a name
        addresses = ["amira@bücher.example", '"amira..h"@example.org', "Signer2@Example.org"]
        for name, address in zip(names, addresses, strict=True):
            sign(client, petition, signer | {"first_name": name, "email": address})
        assert supporter_mail.outbox_drain(slot=0) == 3
        assert fake_esp.request_count == 1
        for entry in Outbox.objects.select_related("signature__petition"):
            alone = emails.confirmation_email(entry.signature, issued_at=entry.created_at)
            # Found by its own unsubscribe link (anymail writes an IDN domain in punycode).
            unsubscribe = alone.extra_headers["List-Unsubscribe"]
            (copy,) = [m for m in fake_esp.messages if m["headers"]["List-Unsubscribe"] == unsubscribe]
            expected = (alone.subject, alone.body, alone.alternatives[0][0])
            assert (copy["subject"], copy["text"], copy["html"]) == expected
            assert len(copy["to"]) == 1

    def test_a_batch_that_failed_goes_again_whole_under_the_same_key(self, client, petition, signer, fake_esp):
        self._three_signers(client, petition, signer)
        fake_esp.delay_next(1, 3)  # the ESP takes the batch but answers after the client gave up
        with override_esp_timeout(1):
            assert supporter_mail.outbox_drain(slot=0) == 3
        assert set(Outbox.objects.values_list("state", "attempts", "published_at")) == {(Outbox.State.PENDING, 1, None)}
        sign(client, petition, signer | {"email": "later@example.org"})  # not in the batch, and not held up by it
        assert supporter_mail.outbox_drain(slot=0) == 1
        assert Outbox.objects.get(signature__email="later@example.org").state == Outbox.State.DONE
        fake_esp.wait_for(4)  # the ESP has finished taking the first request
        Outbox.objects.update(next_attempt_at=timezone.now())  # the back-off is over
        assert supporter_mail.outbox_drain(slot=0) == 3
        assert fake_esp.duplicates_suppressed == 1  # the same request again: the ESP dropped the repeat
        assert len(fake_esp.messages) == 4 and set(Outbox.objects.values_list("state", flat=True)) == {"done"}
        (copy,) = fake_esp.messages_to("signer0@example.org")
        assert Outbox.objects.get(signature__email="signer0@example.org").esp_message_id == copy["id"]

    def test_a_transient_failure_stops_the_drain_and_leaves_the_rest_to_the_sweep(
        self, client, petition, signer, fake_esp, monkeypatch
    ):
        monkeypatch.setattr(supporter_mail, "batch_sending_available", lambda: False)  # one ESP call per email
        self._three_signers(client, petition, signer)
        fake_esp.fail_next(1, status=503)
        assert supporter_mail.outbox_drain(slot=0) == 1
        assert fake_esp.request_count == 1
        first, *rest = Outbox.objects.order_by("pk")
        assert first.attempts == 1 and "503" in first.last_error
        assert first.next_attempt_at > timezone.now() + timedelta(seconds=25)
        assert [(entry.attempts, entry.published_at) for entry in rest] == [(0, None)] * 2
        assert supporter_mail.outbox_republish() == 2  # the sweep wakes a drain for them
        assert supporter_mail.outbox_drain(slot=0) == 2  # the first waits for its back-off
        Outbox.objects.update(next_attempt_at=timezone.now())
        assert supporter_mail.outbox_drain(slot=0) == 1
        assert len(fake_esp.messages) == 3


class LetterTests:
    def test_each_recipient_gets_the_letter_signed_with_the_signers_name_and_country(
        self, fake_esp, confirmed, settings
    ):
        assert send_letters() == [Letter.State.SENT, Letter.State.SENT]
        messages = sorted(fake_esp.messages, key=lambda m: m["to"][0])
        assert [m["to"] for m in messages] == [
            ["Fayez Al-Sarraj <prime-minister@libya-government.example>"],
            ["Jean-Claude Juncker <president@european-commission.example>"],
        ]
        for message in messages:
            assert message["from"] == f"Amira Haddad <{settings.LETTER_FROM_EMAIL}>"
            assert message["reply_to"] == [settings.CAMPAIGN_REPLY_TO]
            assert message["subject"] == "Demand Libya stop the detention and sale of migrants"
            assert message["text"].startswith("Dear Prime Minister of Libya Fayez Al-Sarraj")
            assert message["text"].rstrip().endswith("Yours sincerely,\n\nAmira Haddad\nTunisia")
        letters = Letter.objects.all()
        assert {letter.esp_message_id for letter in letters} == {m["id"] for m in messages}
        assert all(letter.sent_at for letter in letters)

    def test_the_reply_to_is_the_signer_only_when_they_chose_it(self, client, fake_esp, petition, signer):
        sign(client, petition, signer | {"reply_consent": "on"})
        signing.signature_confirm(public_id=Signature.objects.get().public_id)
        send_letters()
        assert {tuple(m["reply_to"]) for m in fake_esp.messages} == {("amira.haddad@example.org",)}

    def test_a_name_with_quotes_and_accents_is_a_safe_display_name(self, client, fake_esp, petition, signer, settings):
        sign(client, petition, signer | {"first_name": 'Zoë "Zo"', "last_name": "O'Brien, Jr"})
        signing.signature_confirm(public_id=Signature.objects.get().public_id)
        send_letters()
        assert {m["from"] for m in fake_esp.messages} == {f'"Zoë \\"Zo\\" O\'Brien, Jr" <{settings.LETTER_FROM_EMAIL}>'}

    def test_a_letter_is_sent_once_even_if_its_task_runs_twice(self, fake_esp, confirmed):
        send_letters()
        assert send_letters() == [None, None]
        assert len(fake_esp.messages) == 2
        assert {m["idempotency_key"] for m in fake_esp.messages} == {
            f"letter-{pk}" for pk in Letter.objects.values_list("pk", flat=True)
        }

    def test_the_hourly_cap_holds_letters_back_until_the_window_has_room(self, client, fake_esp, petition, signer):
        Target.objects.update(hourly_cap=2)
        for number in range(3):
            sign(client, petition, signer | {"email": f"signer{number}@example.org"})
        for signature in Signature.objects.all():
            signing.signature_confirm(public_id=signature.public_id)
        send_letters()
        assert Letter.objects.filter(state=Letter.State.SENT).count() == 4
        assert Letter.objects.filter(state=Letter.State.QUEUED).count() == 2
        assert letter_service.letters_dispatch() == 0  # no room this hour
        # An hour on, the window has room again.
        Letter.objects.filter(state=Letter.State.SENT).update(send_started_at=timezone.now() - timedelta(minutes=61))
        assert letter_service.letters_dispatch() == 2
        send_letters()
        assert Letter.objects.filter(state=Letter.State.SENT).count() == 6
        assert len(fake_esp.messages) == 6

    def test_one_batch_sends_each_letter_under_its_own_key_and_keeps_to_the_cap(
        self, client, fake_esp, petition, signer
    ):
        Target.objects.update(hourly_cap=2)
        for number in range(3):
            sign(client, petition, signer | {"email": f"signer{number}@example.org"})
            signing.signature_confirm(public_id=Signature.objects.latest("pk").public_id)
        letter_ids = list(Letter.objects.order_by("pk").values_list("pk", flat=True))
        outcome = letter_service.letters_send(letter_ids=letter_ids)
        assert sorted(outcome.values()) == [Letter.State.SENT] * 4
        assert sorted(message["idempotency_key"] for message in fake_esp.messages) == sorted(
            f"letter-{pk}" for pk in outcome
        )
        held = Letter.objects.filter(state=Letter.State.QUEUED)
        all_targets = set(Target.objects.values_list("pk", flat=True))
        assert held.count() == 2 and {letter.target_id for letter in held} == all_targets
        assert all(letter.enqueued_at is None and letter.attempts == 0 for letter in held)  # the dispatcher's again
        assert letter_service.letters_send(letter_ids=letter_ids) == {}  # a second run sends nothing

    def test_a_batch_that_ran_half_its_sending_lease_puts_the_rest_back(self, fake_esp, confirmed, settings):
        settings.LETTER_SEND_LEASE_SECONDS = 0  # any time spent is past half of it
        first, second = Letter.objects.order_by("pk")
        assert letter_service.letters_send(letter_ids=[first.pk, second.pk]) == {}
        assert fake_esp.request_count == 0
        assert set(Letter.objects.values_list("state", "attempts", "send_started_at", "enqueued_at")) == {
            (Letter.State.QUEUED, 0, None, None)
        }

    def test_a_transient_failure_puts_the_rest_of_its_batch_back_without_calling_the_esp(self, fake_esp, confirmed):
        fake_esp.fail_next(1, status=503)
        first, second = Letter.objects.order_by("pk")
        assert letter_service.letters_send(letter_ids=[first.pk, second.pk]) == {first.pk: Letter.State.QUEUED}
        assert fake_esp.request_count == 1
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.attempts == 1 and first.next_attempt_at > timezone.now() + timedelta(seconds=25)
        assert (second.state, second.attempts, second.send_started_at, second.enqueued_at) == (
            Letter.State.QUEUED, 0, None, None
        )
        assert letter_service.letters_send(letter_ids=[first.pk, second.pk]) == {second.pk: Letter.State.SENT}

    def test_the_dispatcher_hands_over_one_recipients_letters_per_task_in_batches(
        self, client, petition, signer, settings
    ):
        from celery.signals import before_task_publish

        RateLimit.objects.update(is_active=False)  # one test client signing 55 times
        caches.screening.clear()
        for number in range(letter_service.LETTER_BATCH + 5):
            sign(client, petition, signer | {"email": f"signer{number}@example.org"})
        for signature in Signature.objects.all():
            signing.signature_confirm(public_id=signature.public_id)
        Letter.objects.update(enqueued_at=None)
        published = []

        def record(sender=None, body=None, **kwargs):
            published.append((sender, body[0][0]))

        before_task_publish.connect(record, weak=False)
        try:
            assert letter_service.letters_dispatch() == 2 * (letter_service.LETTER_BATCH + 5)
        finally:
            before_task_publish.disconnect(record)
        assert {sender for sender, _ in published} == {"petitions.tasks.letters_send"}
        batch_sizes = sorted(len(batch) for _, batch in published)
        assert batch_sizes == [5, 5, letter_service.LETTER_BATCH, letter_service.LETTER_BATCH]
        for _, batch in published:
            assert Letter.objects.filter(pk__in=batch).values("target").distinct().count() == 1

    def test_transient_esp_errors_retry_with_back_off_and_then_send(self, fake_esp, confirmed):
        fake_esp.fail_next(1, status=500)
        first = Letter.objects.order_by("pk").first()
        assert letter_service.letter_send(letter_id=first.pk) == Letter.State.QUEUED
        first.refresh_from_db()
        assert first.attempts == 1 and "500" in first.last_error and first.send_started_at is None
        assert first.next_attempt_at >= timezone.now() + timedelta(seconds=25)
        assert letter_service.letter_send(letter_id=first.pk) is None  # not due yet
        Letter.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
        assert letter_service.letter_send(letter_id=first.pk) == Letter.State.SENT

    def test_a_timeout_is_transient(self, fake_esp, confirmed, settings):
        settings.ANYMAIL = settings.ANYMAIL | {"REQUESTS_TIMEOUT": 0.3}
        fake_esp.delay_next(1, 1.5)
        first = Letter.objects.order_by("pk").first()
        assert letter_service.letter_send(letter_id=first.pk) == Letter.State.QUEUED

    def test_a_permanent_refusal_fails_the_letter_with_its_reason_and_holds_up_no_other(self, fake_esp, confirmed):
        fake_esp.reject_address("prime-minister@libya-government.example", status=422, message="Mailbox does not exist")
        send_letters()
        failed = Letter.objects.get(state=Letter.State.FAILED)
        assert failed.target.name == "Fayez Al-Sarraj"
        assert "Mailbox does not exist" in failed.last_error
        assert Letter.objects.filter(state=Letter.State.SENT).count() == 1

    def test_a_letter_whose_worker_died_mid_send_is_queued_again(self, fake_esp, confirmed):
        Letter.objects.update(state=Letter.State.SENDING, send_started_at=timezone.now() - timedelta(hours=1))
        assert letter_service.letters_dispatch() == 2
        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.QUEUED}
        send_letters()
        assert len(fake_esp.messages) == 2

    def test_invalidating_a_signature_cancels_its_unsent_letters(self, fake_esp, confirmed):
        first = Letter.objects.order_by("pk").first()
        letter_service.letter_send(letter_id=first.pk)
        assert moderation.signatures_invalidate(signature_ids=[confirmed.pk], actor=None, reason="bot wave") == 1
        states = dict(Letter.objects.values_list("pk", "state"))
        assert states[first.pk] == Letter.State.SENT
        assert sorted(states.values()) == [Letter.State.CANCELLED, Letter.State.SENT]
        assert send_letters() == [None, None]
        assert len(fake_esp.messages) == 1

    def test_an_inactive_recipient_is_sent_nothing_until_active_again(self, fake_esp, confirmed):
        Target.objects.update(is_active=False)
        assert send_letters() == [None, None]
        assert letter_service.letters_dispatch() == 0
        Target.objects.update(is_active=True)
        Letter.objects.update(enqueued_at=None)
        assert letter_service.letters_dispatch() == 2
        send_letters()
        assert len(fake_esp.messages) == 2

    def test_failed_letters_can_be_retried(self, fake_esp, confirmed):
        fake_esp.reject_address("prime-minister@libya-government.example", status=422)
        send_letters()
        fake_esp.clear_faults()
        assert letter_service.letters_retry(letter_ids=list(Letter.objects.values_list("pk", flat=True))) == 1
        send_letters()
        assert Letter.objects.filter(state=Letter.State.SENT).count() == 2
