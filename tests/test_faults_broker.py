"""Redis, the broker, taken away: stopped while people sign, or wiped mid-run.

Signing records the signature and its outbox entry in one transaction and
only then tries the broker, so a stopped Redis costs the signer nothing;
beat's outbox sweep publishes what could not be published, and re-publishes
what Redis lost, once the outbox lease runs out.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from petitions.models import Letter, Outbox, Signature
from tests.support.fault_fixtures import LONG, LogTail, recovery_env, supervised
from tests.support.processes import CeleryBeat, CeleryWorker, WebServer, wait_until
from tests.support.visitors import BEHIND_A_PROXY, Visitor, address_of, confirmation_link
from tests.support.workload import (
    is_confirmation,
    is_letter,
    letter_identity,
    pending_signatures,
    queued_letters,
    tally,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PEOPLE_AT_ONCE = 4


def _person(number):
    return {
        "first_name": f"Outage{number}",
        "last_name": "Signer",
        "email": f"outage.signer{number}@example.org",
        "country": "LY",
        "postcode": "",
        "letter_consent": "on",
    }


def _each_at_once(action, items):
    with ThreadPoolExecutor(PEOPLE_AT_ONCE) as pool:
        return list(pool.map(action, items))


class BrokerOutageTests:
    def test_people_sign_while_redis_is_stopped_and_every_email_and_letter_arrives_once(
        self, esp, private_redis, petition_uncapped, fault_report
    ):
        people = 200
        env = recovery_env(private_redis.url())
        with WebServer(extra_env={"REDIS_URL": private_redis.url()} | BEHIND_A_PROXY) as site, CeleryBeat(
            extra_env=env
        ) as beat, CeleryWorker(esp.url, extra_env=env | {"SITE_URL": site.url}) as worker, supervised(
            beat, worker
        ) as restarts:
            private_redis.stop()
            slug = petition_uncapped.slug

            def sign(number):
                visitor = Visitor(site.url, address=address_of(number))
                try:
                    return visitor.sign(slug, _person(number))
                finally:
                    visitor.close()

            visits = _each_at_once(sign, range(people))
            signed_pages = sum(visit.signed for visit in visits)
            slowest = max(visit.seconds for visit in visits)
            # Nothing could be published: every entry waits for the sweep.
            unpublished = Outbox.objects.filter(published_at__isnull=True).count()
            assert unpublished == people, "each signature waits with its confirmation email, none held or lost"

            private_redis.start()
            back = time.monotonic()
            wait_until(
                lambda: len([m for m in esp.messages if is_confirmation(m)]) >= people,
                timeout=120, interval=0.25, message=LogTail("every confirmation email", worker),
            )
            confirmations_recovered = time.monotonic() - back

            links = {
                message["to"][0]: confirmation_link(message) for message in esp.messages if is_confirmation(message)
            }

            def confirm(link):
                visitor = Visitor(site.url)
                try:
                    return visitor.confirm(link)
                finally:
                    visitor.close()

            confirm_visits = _each_at_once(confirm, links.values())
            letters_expected = people * petition_uncapped.targets.filter(is_active=True).count()
            wait_until(
                lambda: Letter.objects.filter(state=Letter.State.SENT).count() >= letters_expected,
                timeout=120, interval=0.25, message=LogTail("every letter", worker),
            )
            # Give any stray second copy the time to show itself.
            time.sleep(1.5)

        confirmations = tally([m for m in esp.messages if is_confirmation(m)], lambda m: tuple(m["to"]))
        letters = tally([m for m in esp.messages if is_letter(m)], letter_identity)
        fault_report.add(
            "broker-outage",
            signatures=people,
            signed_pages=f"{signed_pages}/{people}",
            slowest_page=slowest,
            confirmations=f"{confirmations.delivered}/{people}",
            letters=f"{letters.delivered}/{letters_expected}",
            duplicates=confirmations.duplicates + letters.duplicates,
            recovery=confirmations_recovered,
            process_restarts=len(restarts),
        )
        assert signed_pages == people, [visit.status for visit in visits if not visit.signed][:5]
        assert Signature.objects.count() == people
        assert sum(visit.status == 200 and "signature is confirmed" in visit.text for visit in confirm_visits) == people
        assert Signature.objects.filter(state=Signature.State.CONFIRMED).count() == people
        assert (confirmations.delivered, confirmations.duplicates) == (people, 0)
        assert (letters.delivered, letters.duplicates) == (letters_expected, 0)
        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.SENT}


@pytest.mark.parametrize("wipe", ["flushall", "restart-without-persistence"])
class RedisWipeTests:
    def test_the_sweeps_republish_what_redis_lost_and_everything_is_delivered_once(
        self, wipe, esp, private_redis, petition_uncapped, fault_report
    ):
        pending, signers = (300, 300) if LONG else (60, 60)
        pending_signatures(petition_uncapped, pending)
        letters_expected = queued_letters(petition_uncapped, signers)
        # A slow ESP keeps a backlog in Redis, so the wipe has work to lose.
        esp.delay_next(10**6, 0.03)
        env = recovery_env(private_redis.url())
        with CeleryBeat(extra_env=env) as beat, CeleryWorker(esp.url, extra_env=env) as worker, supervised(
            beat, worker
        ) as restarts:
            wait_until(
                lambda: len(esp.messages) >= (pending + letters_expected) // 5, timeout=60, message="a fifth delivered"
            )
            lost = private_redis.queued_messages()
            etas = private_redis.task_etas()
            delivered_before = len(esp.messages)
            if wipe == "flushall":
                private_redis.flushall()
            else:
                private_redis.crash()
                private_redis.start()
            wiped = time.monotonic()
            wait_until(
                # Confirmation emails share a key per batch: each is its key and its address.
                lambda: (
                    len({(m["idempotency_key"], tuple(m["to"])) for m in esp.messages}) >= pending + letters_expected
                ),
                timeout=120, interval=0.25,
                message=LogTail("everything delivered", worker, beat),
            )
            recovered = time.monotonic() - wiped
            time.sleep(1.5)

        confirmations = tally([m for m in esp.messages if is_confirmation(m)], lambda m: tuple(m["to"]))
        letters = tally([m for m in esp.messages if is_letter(m)], letter_identity)
        fault_report.add(
            f"redis-wipe-{wipe}",
            confirmations=f"{confirmations.delivered}/{pending}",
            letters=f"{letters.delivered}/{letters_expected}",
            delivered_before_wipe=delivered_before,
            tasks_lost_in_wipe=lost,
            duplicates=confirmations.duplicates + letters.duplicates,
            recovery=recovered,
            process_restarts=len(restarts),
        )
        assert lost > 0, "the wipe must catch tasks waiting in Redis, or it proves nothing"
        # What beat and the worker published is to run now, never at a later time
        # that a lost message would silently take with it.
        assert etas and set(etas) == {None}
        assert (confirmations.delivered, confirmations.duplicates) == (pending, 0)
        assert (letters.delivered, letters.duplicates) == (letters_expected, 0)
        assert set(Outbox.objects.values_list("state", flat=True)) == {Outbox.State.DONE}
        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.SENT}
