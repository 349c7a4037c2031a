"""The database restarting while people sign.

A request the outage catches must end on a clear error page, and whatever it
was doing is either recorded whole (a signature with its confirmation email
waiting in the outbox) or not at all. Nobody is left with half a signature,
and signing again afterwards just works.
"""

import threading
import time

import pytest
import requests
from django.db import OperationalError, connection

from petitions.models import Outbox, Signature
from tests.conftest import sign
from tests.support.db_faults import database_outage
from tests.support.processes import WebServer, wait_until
from tests.support.visitors import BEHIND_A_PROXY, ERROR_PAGE_TEXT, Visit, Visitor, address_of

PEOPLE_AT_ONCE = 4
SIGNED_BEFORE, SECONDS_DOWN, SECONDS_UP_AFTER = 12, 2.0, 2.0


def _person(thread, number):
    return {
        "first_name": f"Restart{thread}x{number}",
        "last_name": "Signer",
        # Spread over mail domains as a crowd is: one domain takes at most 300
        # signatures a minute before the rest are held (and get no email).
        "email": f"restart.{thread}.{number}@mail{number % 20}.example.org",
        "country": "LY",
        "letter_consent": "on",
    }


def _signatures_whole():
    """Signatures without exactly one confirmation email in the outbox, and
    outbox entries without a signature: what a half-written signing leaves."""
    broken = [
        signature.email
        for signature in Signature.objects.prefetch_related("outbox")
        if [entry.kind for entry in signature.outbox.all()].count(Outbox.Kind.CONFIRMATION_EMAIL) != 1
    ]
    # A repeat signature's entry names no signature until the drain resolves
    # it, but must name one that exists: it is whole if that signature is.
    repeats = Outbox.objects.filter(kind=Outbox.Kind.REPEAT_SIGNATURE, signature__isnull=True)
    signed = set(Signature.objects.values_list("petition_id", "email_normalized"))
    orphans = [entry.pk for entry in repeats if (entry.petition_id, entry.signer_address) not in signed]
    loose = Outbox.objects.filter(signature__isnull=True).exclude(kind=Outbox.Kind.REPEAT_SIGNATURE)
    return broken + orphans + list(loose.values_list("pk", flat=True))


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class DatabaseRestartTests:
    def test_requests_the_restart_catches_get_a_clear_error_page_and_leave_no_half_signature(
        self, petition_uncapped, fault_report
    ):
        slug = petition_uncapped.slug
        visits = []  # (person, visit, finished at)
        stop = threading.Event()

        def keep_signing(thread):
            number = 0
            while not stop.is_set():
                person = _person(thread, number)
                visitor = Visitor(site.url, address=address_of(thread * 10_000 + number))
                try:
                    visit = visitor.sign(slug, person)
                except requests.RequestException as error:
                    # No page at all (a dropped connection, a hang): not a clear error page.
                    visit = Visit(0, repr(error), "", 0.0)
                visitor.close()
                visits.append((person, visit, time.monotonic()))
                number += 1
                if not visit.signed:
                    time.sleep(0.25)  # a person reading the error page

        with database_outage() as outage, WebServer(
            extra_env=outage.web_env() | BEHIND_A_PROXY, extra_args=outage.web_args()
        ) as site:
            threads = [threading.Thread(target=keep_signing, args=(n,)) for n in range(PEOPLE_AT_ONCE)]
            for thread in threads:
                thread.start()
            # Down only once signing is in full swing.
            wait_until(
                lambda: sum(visit.signed for _, visit, _ in visits) >= SIGNED_BEFORE, timeout=60, message="signing"
            )
            outage.down()
            time.sleep(SECONDS_DOWN)
            outage.up()
            back = time.monotonic()
            time.sleep(SECONDS_UP_AFTER)
            stop.set()
            for thread in threads:
                thread.join(60)

            failed = [(person, visit) for person, visit, _ in visits if not visit.signed]
            recorded = set(Signature.objects.values_list("email", flat=True))
            half_written = _signatures_whole()
            # Those who saw the error page try again, as it asks them to.
            again = []
            for number, (person, _) in enumerate(failed):
                visitor = Visitor(site.url, address=address_of(100_000 + number))
                again.append(visitor.sign(slug, person))
                visitor.close()

        after_outage = [finished - back for _, visit, finished in visits if visit.signed and finished > back]
        signed_first_time = {person["email"] for person, visit, _ in visits if visit.signed}
        recorded_despite_error = {person["email"] for person, _ in failed} & recorded
        fault_report.add(
            f"database-restart ({outage.kind})",
            attempts=len(visits),
            signed=len(signed_first_time),
            error_pages=len(failed),
            recorded_whole_despite_error=len(recorded_despite_error),
            half_written=len(half_written),
            signed_on_retry=f"{sum(visit.signed for visit in again)}/{len(again)}",
            recovery=min(after_outage, default=float("nan")),
        )
        other = [(visit.status, visit.text[:200]) for _, visit in failed if not visit.error_page]
        assert not other, f"every failed request must end on the clear error page, not {other[:3]}"
        assert failed, "the outage must catch some requests, or it proves nothing"
        assert len(signed_first_time) > len(after_outage) > 0, "people signed before the outage and after it"
        assert half_written == []
        assert signed_first_time <= recorded
        assert all(visit.signed for visit in again)
        assert _signatures_whole() == []
        assert set(Signature.objects.values_list("email", flat=True)) == {person["email"] for person, _, _ in visits}


@pytest.mark.django_db
class HalfWrittenSignatureTests:
    def test_a_failure_between_the_signature_and_its_outbox_entry_keeps_neither(self, client, petition, signer):
        # On SQLite the outbox INSERT is the second statement of the transaction;
        # on PostgreSQL it is part of the one statement that writes both.
        def lose_the_connection_at_the_outbox(execute, sql, params, many, context):
            if 'INSERT INTO "petitions_outbox"' in sql:
                raise OperationalError("server closed the connection unexpectedly (injected)")
            return execute(sql, params, many, context)

        client.raise_request_exception = False
        with connection.execute_wrapper(lose_the_connection_at_the_outbox):
            response = sign(client, petition, signer)
        assert response.status_code == 500
        assert ERROR_PAGE_TEXT in response.content.decode()
        assert not Signature.objects.exists()
        assert not Outbox.objects.exists()
