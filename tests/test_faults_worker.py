"""Workers killed with SIGKILL at random moments while letters go out.

Recovery comes from the database, not from the broker: a letter claimed by a
worker that died stays 'sending' until its lease runs out and the dispatcher
queues it again; a task lost with its worker is handed over again once the
letter's publish lease runs out. The only way a letter can go out twice is a
kill after the ESP accepted it but before we recorded that: with the ESP's
idempotency key the repeat is dropped by the ESP; without one it is a real
duplicate. Both are counted, and every duplicate is checked to have been a
letter in flight when a kill came.
"""

import os
import random
import signal
import time

import psutil
import pytest

from petitions.models import Letter
from tests.support.fault_fixtures import LONG, LogTail, recovery_env
from tests.support.processes import CeleryBeat, CeleryWorker, wait_until
from tests.support.workload import is_letter, letter_identity, letter_identity_of_row, queued_letters, tally

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONCURRENCY = 2
PLAIN_RESEND_BACKEND = "anymail.backends.resend.EmailBackend"


def _letters_in_flight():
    """Letters claimed but not recorded: after a kill, the ones it may have interrupted."""
    sending = Letter.objects.filter(state=Letter.State.SENDING).select_related("target")
    return {letter_identity_of_row(letter) for letter in sending}


def _kill_pool_process(worker, rng):
    """SIGKILL one of the worker's pool processes, as the OOM killer would; the
    worker's main process lives on, replaces it and gives its task back."""
    children = psutil.Process(worker.process.pid).children()
    if not children:
        return False
    os.kill(rng.choice(children).pid, signal.SIGKILL)
    return True


@pytest.mark.parametrize(
    "idempotency_key", [True, False], ids=["esp-with-idempotency-key", "esp-without-idempotency-key"]
)
class WorkerKillTests:
    def test_it_sends_every_letter_however_often_workers_are_killed(
        self, idempotency_key, esp, private_redis, petition_uncapped, fault_report
    ):
        signatures, kills = (500, 25) if LONG else (100, 5)
        if not idempotency_key:
            # The keyless run shows what the key prevents; half the size is enough.
            signatures, kills = signatures // 2, max(3, kills // 2)
        total = queued_letters(petition_uncapped, signatures)
        seed = int(os.environ.get("FAULTS_SEED") or random.SystemRandom().randrange(10**6))
        rng = random.Random(seed)
        # Kills fall at random points of the run, measured in letters accepted,
        # so that every one of them lands while letters are still going out.
        kill_points = sorted(rng.sample(range(1, total - total // 10), kills))
        # A send lease of 5 s: far longer than a send to the fake ESP takes, even
        # on a busy machine, so that only the kills can interrupt one.
        env = recovery_env(private_redis.url(), LETTER_SEND_LEASE_SECONDS=5)
        worker_env = env if idempotency_key else env | {"EMAIL_BACKEND": PLAIN_RESEND_BACKEND}

        in_flight_at_kills = set()
        kill_log = []
        started = time.monotonic()
        with CeleryBeat(extra_env=env), CeleryWorker(esp.url, concurrency=CONCURRENCY, extra_env=worker_env) as worker:
            for number, point in enumerate(kill_points, start=1):
                wait_until(
                    lambda point=point: len(esp.messages) >= point,
                    timeout=120,
                    message=f"{point} letters before kill {number}",
                )
                time.sleep(rng.uniform(0, 0.2))
                if number % 2:
                    worker.kill()
                    kind = "worker"
                else:
                    kind = "pool-process" if _kill_pool_process(worker, rng) else "none"
                kill_log.append((kind, len(esp.messages)))
                # Read after the kill: no process it killed can write any more.
                in_flight_at_kills |= _letters_in_flight()
                if kind == "worker":
                    worker.start()
            last_restart = time.monotonic()
            wait_until(
                lambda: Letter.objects.filter(state=Letter.State.SENT).count() == total,
                timeout=180, interval=0.25, message=LogTail(f"all {total} letters sent", worker),
            )
            recovered = time.monotonic()

        letters = tally([m for m in esp.messages if is_letter(m)], letter_identity)
        fault_report.add(
            "worker-kill" + ("" if idempotency_key else "-no-idempotency-key"),
            letters=f"{letters.delivered}/{total}",
            kills=f"{len([k for k in kill_log if k[0] != 'none'])}",
            duplicates=letters.duplicates,
            repeats_dropped_by_esp_key=esp.duplicates_suppressed,
            in_flight_at_kills=len(in_flight_at_kills),
            recovery=recovered - last_restart,
            total_time=recovered - started,
            seed=seed,
        )
        assert letters.delivered == total
        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.SENT}
        assert all(kind != "none" for kind, _ in kill_log), kill_log
        # A duplicate is possible only for a letter in flight when a kill came.
        assert set(letters.duplicated) <= in_flight_at_kills
        if idempotency_key:
            assert letters.duplicates == 0
        else:
            # Each kill interrupts at most the sends it caught mid-way.
            assert letters.duplicates <= kills * CONCURRENCY
