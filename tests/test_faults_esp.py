"""The ESP misbehaving while a real worker sends: server errors, rate limits with
Retry-After, answers slower than our timeout, and one address it refuses.

Transient failures are scheduled again from the database with back-off; the
test checks the back-off each one got, then moves those letters' due time to
now (standing in for the half hour or more of waiting) and checks that they go
out, once: the answers that came too late were accepted by the ESP, and the
retry under the same idempotency key is answered from its record. The refused
address fails for good, with the ESP's reason, and holds nothing else up.
"""

import os
import subprocess
import sys
import time
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import Q
from django.utils import timezone

from petitions.delivery import engine
from petitions.delivery.transport import BACKOFF_BASE
from petitions.models import Letter, Outbox, Signature, Target
from petitions.services import letters as letter_service
from petitions.services import signing
from tests.conftest import sign
from tests.support.fault_fixtures import LONG, LogTail, recovery_env
from tests.support.processes import CeleryBeat, CeleryWorker, wait_until
from tests.support.short_esp_timeout_settings import ESP_TIMEOUT_SECONDS
from tests.support.workload import (
    is_confirmation,
    is_letter,
    letter_identity,
    pending_signatures,
    queued_letters,
    tally,
)

ROOT = Path(__file__).resolve().parent.parent

REFUSED_RECIPIENT = "refused@recipient.example"
REFUSED_SIGNER = "pending3@example.org"
RETRY_AFTER_SECONDS = 120
REFUSAL_REASON = "The recipient address is suppressed."
SLOW_ANSWER_EXTRA_SECONDS = 1.5


def _letters_tried_once():
    """Every letter has had its first answer from the ESP."""
    return not Letter.objects.filter(Q(attempts=0) | Q(state="sending") | Q(state="queued", last_error="")).exists()


def _emails_tried_once():
    """Every confirmation email has had its first answer from the ESP."""
    return not Outbox.objects.filter(Q(attempts=0) | Q(state=Outbox.State.PENDING, last_error="")).exists()


def _time_passes_and_everything_is_settled():
    """Stand in for the minutes of back-off: whatever waits for a retry is due now.
    (Repeated, because a retry can itself meet a transient answer.)"""
    now = timezone.now()
    Letter.objects.filter(state=Letter.State.QUEUED, next_attempt_at__gt=now).update(next_attempt_at=now)
    # A failed entry waiting for its retry is unpublished; one being sent is
    # published and claimed (its next attempt a lease ahead): leave that be.
    Outbox.objects.filter(state=Outbox.State.PENDING, published_at__isnull=True, next_attempt_at__gt=now).update(
        next_attempt_at=now
    )
    return not _waiting_for_retry() and not Letter.objects.filter(state=Letter.State.SENDING).exists()


def _waiting_for_retry():
    return list(Letter.objects.filter(state=Letter.State.QUEUED)) + list(
        Outbox.objects.filter(state=Outbox.State.PENDING)
    )


TRANSIENT_FAULTS = 6


def _transient_faults_next(esp):
    """The next two requests get a 500, the two after a 429 with Retry-After,
    and the two after those are answered (and accepted) only after our timeout.
    The delay queue runs alongside the failure queue, hence the zero delays."""
    esp.fail_next(2, 500)
    esp.fail_next(2, 429, retry_after=RETRY_AFTER_SECONDS)
    esp.delay_next(4, 0)
    esp.delay_next(2, ESP_TIMEOUT_SECONDS + SLOW_ANSWER_EXTRA_SECONDS)


def _assert_backed_off(waiting, since):
    for item in waiting:
        expected = RETRY_AFTER_SECONDS if "429" in item.last_error else BACKOFF_BASE.total_seconds()
        assert item.next_attempt_at >= since + timedelta(seconds=expected - 1), (item, item.last_error)
    # Each fault holds back the one request it met: a letter, or a batch of
    # confirmation emails sent in one call.
    requests = {getattr(item, "batch", None) or (type(item).__name__, item.pk) for item in waiting}
    assert 1 <= len(requests) <= TRANSIENT_FAULTS


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class EspFaultTests:
    def test_transient_faults_retry_with_back_off_and_a_refused_address_fails_alone(
        self, esp, private_redis, petition_uncapped, fault_report
    ):
        signers, pending = (100, 30) if LONG else (20, 10)
        petition_uncapped.targets.add(
            Target.objects.create(name="Refused Recipient", email=REFUSED_RECIPIENT, hourly_cap=1_000_000)
        )
        letters_total = queued_letters(petition_uncapped, signers)
        refused_letters = Letter.objects.filter(target__email=REFUSED_RECIPIENT).count()
        esp.reject_address(REFUSED_RECIPIENT, 422, REFUSAL_REASON)
        esp.reject_address(REFUSED_SIGNER, 422, REFUSAL_REASON)

        env = recovery_env(private_redis.url(), OUTBOX_LEASE_SECONDS=10, LETTER_SEND_LEASE_SECONDS=10)
        worker_env = env | {"DJANGO_SETTINGS_MODULE": "tests.support.short_esp_timeout_settings"}
        started = time.monotonic()
        with CeleryBeat(extra_env=env), CeleryWorker(esp.url, extra_env=worker_env) as worker:
            # Letters first: every transient fault falls on a letter.
            letters_since = timezone.now()
            _transient_faults_next(esp)
            wait_until(
                _letters_tried_once,
                timeout=90,
                interval=0.25,
                message=LogTail("a first answer for every letter", worker),
            )
            letters_waiting = list(Letter.objects.filter(state=Letter.State.QUEUED))
            _assert_backed_off(letters_waiting, letters_since)
            # The refused recipient held nothing up: every other letter not
            # waiting for its retry has gone.
            assert not (
                Letter.objects.exclude(target__email=REFUSED_RECIPIENT)
                .exclude(state__in=[Letter.State.SENT, Letter.State.QUEUED])
                .exists()
            )

            # Then confirmation emails, through the outbox, meet the same faults.
            emails_since = timezone.now()
            _transient_faults_next(esp)
            pending_signatures(petition_uncapped, pending)
            wait_until(
                _emails_tried_once,
                timeout=90,
                interval=0.25,
                message=LogTail("a first answer for every email", worker),
            )
            emails_waiting = list(Outbox.objects.filter(state=Outbox.State.PENDING))
            _assert_backed_off(emails_waiting, emails_since)
            first_pass = time.monotonic() - started

            # The slow answers are still being worked on at the ESP when our side
            # has given up on them; the retries come after they are done.
            time.sleep(SLOW_ANSWER_EXTRA_SECONDS + 1)
            retries_due = time.monotonic()
            wait_until(
                _time_passes_and_everything_is_settled,
                timeout=90,
                interval=0.25,
                message=LogTail("the retries", worker),
            )
            recovered = time.monotonic() - retries_due
            time.sleep(1)

        letters = tally([m for m in esp.messages if is_letter(m)], letter_identity)
        confirmations = tally([m for m in esp.messages if is_confirmation(m)], lambda m: tuple(m["to"]))
        failed = Letter.objects.filter(state=Letter.State.FAILED)
        failed_email = Outbox.objects.get(signature__email=REFUSED_SIGNER)
        fault_report.add(
            "esp-faults",
            letters=f"{letters.delivered}/{letters_total - refused_letters}",
            confirmations=f"{confirmations.delivered}/{pending - 1}",
            transient_faults=2 * TRANSIENT_FAULTS,
            retried=len(letters_waiting) + len(emails_waiting),
            failed_for_good=failed.count() + (failed_email.state == Outbox.State.FAILED),
            duplicates=letters.duplicates + confirmations.duplicates,
            late_answers_replayed_by_key=esp.duplicates_suppressed,
            first_pass=first_pass,
            recovery=recovered,
        )
        assert (letters.delivered, letters.duplicates) == (letters_total - refused_letters, 0)
        assert (confirmations.delivered, confirmations.duplicates) == (pending - 1, 0)
        assert Letter.objects.filter(state=Letter.State.SENT).count() == letters_total - refused_letters
        assert failed.count() == refused_letters
        assert {letter.target.email for letter in failed} == {REFUSED_RECIPIENT}
        assert all("422" in letter.last_error and REFUSAL_REASON in letter.last_error for letter in failed)
        assert failed_email.state == Outbox.State.FAILED and REFUSAL_REASON in failed_email.last_error
        assert Outbox.objects.exclude(pk=failed_email.pk).filter(state=Outbox.State.DONE).count() == pending - 1
        # Both answers that came too late had been accepted: the retries were
        # answered from the ESP's record of the key, not sent again.
        assert esp.duplicates_suppressed >= 1


@pytest.mark.django_db
class UnclassifiedFailureTests:
    """Two defects these tests found, now fixed: an ESP timeout given in the
    environment, and an error the delivery code does not classify."""

    def test_an_esp_timeout_set_in_the_environment_is_usable(self):
        result = subprocess.run(
            [sys.executable, "-c", "import django, requests; django.setup(); from django.conf import settings\n"
             "try: requests.get('http://127.0.0.1:9/', timeout=settings.ANYMAIL['REQUESTS_TIMEOUT'])\n"
             "except requests.ConnectionError: print('ok')"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
            env=os.environ | {"ANYMAIL_REQUESTS_TIMEOUT": "5", "DJANGO_SETTINGS_MODULE": "campaign.settings"},
        )
        assert result.stdout.strip() == "ok", result.stderr[-500:]

    def test_a_letter_whose_send_keeps_raising_fails_for_good_with_its_reason(
        self, client, petition, signer, fake_esp, settings
    ):
        sign(client, petition, signer)
        signing.signature_confirm(public_id=Signature.objects.get().public_id)
        # What ANYMAIL_REQUESTS_TIMEOUT=5 in the environment gives today: every send raises ValueError.
        settings.ANYMAIL = settings.ANYMAIL | {"REQUESTS_TIMEOUT": "5"}
        later = timezone.now()
        for _ in range(engine.MAX_ATTEMPTS + 1):
            later += timedelta(seconds=settings.LETTER_SEND_LEASE_SECONDS + 1)
            letter_service.letters_dispatch(now=later)
            for letter_id in Letter.objects.filter(state=Letter.State.QUEUED).values_list("pk", flat=True):
                with suppress(ValueError):
                    letter_service.letter_send(letter_id=letter_id)
        letters = list(Letter.objects.all())
        assert all(letter.attempts <= engine.MAX_ATTEMPTS for letter in letters), [
            letter.attempts for letter in letters
        ]
        assert {letter.state for letter in letters} == {Letter.State.FAILED}
        assert all("Timeout value" in letter.last_error for letter in letters), [
            letter.last_error for letter in letters
        ]
