"""Erasure is real and final: nothing more is sent to an erased signer, and a
bounce or complaint outlives the erasure as a hash that cannot be read back."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from petitions.addresses import address_hash
from petitions.models import Outbox, Signature, Suppression
from petitions.services import privacy, supporter_mail, suppression
from tests.conftest import sign

pytestmark = pytest.mark.django_db


def drain():
    supporter_mail.outbox_drain()


class ErasureTests:
    def test_an_erased_pending_signer_gets_no_reminder(self, client, petition, signer):
        sign(client, petition, signer)
        drain()
        assert len(mail.outbox) == 1  # the confirmation request
        privacy.signer_erase(email=signer["email"])
        Signature.objects.update(created_at=timezone.now() - timedelta(days=4))
        supporter_mail.reminders_queue()
        drain()
        assert len(mail.outbox) == 1
        assert not Outbox.objects.filter(kind=Outbox.Kind.REMINDER_EMAIL).exists()

    def test_a_reminder_queued_before_the_erasure_is_never_sent(self, client, petition, signer):
        sign(client, petition, signer)
        drain()
        Signature.objects.update(created_at=timezone.now() - timedelta(days=2))
        assert supporter_mail.reminders_queue() == 1
        # Erased between queueing and sending: the entry may already be claimed elsewhere.
        Signature.objects.update(email="", first_name="", last_name="")
        drain()
        assert len(mail.outbox) == 1
        assert Outbox.objects.get(kind=Outbox.Kind.REMINDER_EMAIL).state == Outbox.State.SKIPPED

    def test_a_bounce_outlives_the_erasure_as_a_hash_and_still_blocks(self, client, petition, signer):
        sign(client, petition, signer)
        drain()
        suppression.suppression_add(email=signer["email"], reason=Suppression.Reason.BOUNCED)
        privacy.signer_erase(email=signer["email"])
        kept = Suppression.objects.get()
        assert kept.email_normalized is None and kept.detail == ""
        assert signer["email"] not in str(Suppression.objects.values().get())
        assert kept.address_hash == address_hash("amira.haddad@example.org")
        # The same person signs again: nothing goes to the address that bounced.
        sign(client, petition, signer)
        drain()
        assert len(mail.outbox) == 1
        assert "suppressed" in Outbox.objects.filter(state=Outbox.State.SKIPPED).get().last_error
