"""Recipients' daily digests while the worker is killed and Redis is stopped.

Each recipient must get its digest exactly once for the period: beat's
dispatcher makes one row per (recipient, period) under a unique constraint,
a worker killed mid-send leaves its digest 'sending' until the lease runs out
and the dispatcher queues it again, Redis stopped loses the tasks it held
and the dispatcher hands over again, and a repeat of a digest the ESP had
already accepted carries the same period key, so the ESP drops it.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from petitions.models import Digest, Letter, Target
from tests.support.fault_fixtures import LONG, LogTail, recovery_env, supervised
from tests.support.processes import CeleryBeat, CeleryWorker, wait_until
from tests.support.workload import queued_letters, tally

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _digest_recipients(petition, count):
    """`count` recipients taking only a daily digest, whose digest time today
    (UTC) passed a minute ago, in place of the petition's own."""
    petition.targets.update(is_active=False)
    due = (timezone.now() - timedelta(minutes=1)).time().replace(microsecond=0)
    recipients = Target.objects.bulk_create(
        Target(
            name=f"Recipient {number}", email=f"recipient{number}@parliament.example.org", hourly_cap=1_000_000,
            delivery_mode=Target.DeliveryMode.DIGEST, digest_time=due, time_zone="UTC",
        )
        for number in range(count)
    )
    petition.targets.add(*recipients)
    return recipients


def _is_digest(message):
    return " new letter" in message["subject"]


class DigestFaultTests:
    def test_each_recipient_gets_its_digest_once_across_a_worker_kill_and_a_broker_outage(
        self, esp, private_redis, petition_uncapped, fault_report
    ):
        recipients_count, signers = (60, 100) if LONG else (16, 20)
        recipients = _digest_recipients(petition_uncapped, recipients_count)
        queued_letters(petition_uncapped, signers)
        # The letters reached the recipients before today's digest time, waiting for it.
        Letter.objects.update(state=Letter.State.DIGEST_ONLY, next_attempt_at=timezone.now() - timedelta(hours=1))
        # A slow ESP: the kill catches digests mid-send, some accepted by the ESP
        # but not yet recorded as sent by us.
        esp.delay_next(10**6, 0.4)
        env = recovery_env(private_redis.url(), LETTER_SEND_LEASE_SECONDS=4, DIGESTS_DISPATCH_INTERVAL_SECONDS=1)
        started = time.monotonic()
        # Beat is restarted if the outage stops it; the worker is killed and
        # started again by the scenario itself.
        with CeleryBeat(extra_env=env) as beat, CeleryWorker(esp.url, extra_env=env) as worker, supervised(
            beat
        ) as restarts:
            wait_until(
                lambda: (
                    len([m for m in esp.messages if _is_digest(m)]) >= recipients_count // 4
                    # Claimed a moment ago: its 0.4 s at the ESP has surely not ended.
                    and Digest.objects.filter(
                        state=Digest.State.SENDING, send_started_at__gte=timezone.now() - timedelta(seconds=0.15)
                    ).exists()
                ),
                timeout=120, interval=0.02, message=LogTail("a quarter of the digests, one mid-send", worker, beat),
            )
            worker.kill()
            in_flight = Digest.objects.filter(state=Digest.State.SENDING).count()
            queued_in_redis = private_redis.queued_messages()
            # The broker goes away too, with the tasks it held.
            private_redis.stop()
            time.sleep(3)
            private_redis.start()
            back = time.monotonic()
            worker.start()
            wait_until(
                lambda: Digest.objects.filter(state=Digest.State.SENT).count() == recipients_count,
                timeout=180, interval=0.25, message=LogTail("every digest sent", worker, beat),
            )
            recovered = time.monotonic()
            # The dispatcher keeps running: give a second digest the time to show itself.
            time.sleep(3)

        digests = tally([m for m in esp.messages if _is_digest(m)], lambda m: tuple(m["to"]))
        fault_report.add(
            "digest-worker-kill-broker-outage",
            digests=f"{digests.delivered}/{recipients_count}",
            letters_counted=Letter.objects.filter(digest__isnull=False).count(),
            duplicates=digests.duplicates,
            repeats_dropped_by_esp_key=esp.duplicates_suppressed,
            in_flight_at_kill=in_flight,
            tasks_lost_with_redis=queued_in_redis,
            recovery=recovered - back,
            total_time=recovered - started,
            process_restarts=len(restarts),
        )
        assert (digests.delivered, digests.duplicates) == (recipients_count, 0)
        assert in_flight > 0, "the kill must catch a digest mid-send, or it proves nothing"
        assert Digest.objects.count() == recipients_count
        assert set(Digest.objects.values_list("state", flat=True)) == {Digest.State.SENT}
        # Every letter is counted in exactly one digest, its recipient's.
        assert Letter.objects.filter(digest__isnull=True).count() == 0
        for digest in Digest.objects.all():
            assert digest.letters_count == signers == digest.letters.filter(target=digest.target).count()
        assert {tuple(m["to"]) for m in esp.messages if _is_digest(m)} == {
            (f"{recipient.name} <{recipient.email}>",) for recipient in recipients
        }
