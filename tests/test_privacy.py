"""Erasure that is real, and the automatic purge and anonymisation."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from petitions.models import Erasure, Mailing, Outbox, Signature
from petitions.selectors import counts
from petitions.services import content, mailings, privacy, signing, supporter_mail, suppression
from petitions.services import letters as letter_service
from tests.conftest import sign

pytestmark = pytest.mark.django_db


def every_text_value_in_the_database():
    """Every value of every table, as text, straight from the database."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    if value is not None:
                        yield table, str(value).lower()


@pytest.fixture
def active_signer(client, petition, signer, fake_esp, campaigner):
    """Amira signed with updates and reply-to, confirmed, got letters, an update, bounced once."""
    from anymail.signals import AnymailTrackingEvent

    fields = {
        "email": "Amira.Haddad@Example.org", "updates_consent": "on", "reply_consent": "on", "comment": "For my cousin"
    }
    sign(client, petition, signer | fields)
    signature = Signature.objects.get()
    for entry in Outbox.objects.all():
        supporter_mail.outbox_deliver(outbox_id=entry.pk)
    signing.signature_confirm(public_id=signature.public_id)
    first_letter = signature.letters.order_by("pk").first()
    letter_service.letter_send(letter_id=first_letter.pk)  # one sent, one still queued
    mailing = Mailing.objects.create(petition=petition, subject="News", body="News.", created_by=campaigner)
    mailings.mailing_start(mailing_id=mailing.pk)
    mailings.mailing_send(mailing_id=mailing.pk)
    suppression.esp_event_record(event=AnymailTrackingEvent(
        event_type="complained", recipient="amira.haddad@example.org", event_id="evt-1", message_id="m1"))
    return signature


class ErasureTests:
    def test_erasure_leaves_no_trace_of_the_email_in_any_table_and_keeps_the_counts(self, petition, active_signer):
        counts.counts_reconcile()
        assert counts.confirmed_count(petition) == 1
        assert any("amira.haddad@example.org" in value for _, value in every_text_value_in_the_database())

        assert privacy.signer_erase(email=" AMIRA.HADDAD@example.org") == 1

        leftovers = [(table, value[:80]) for table, value in every_text_value_in_the_database()
                     if "amira.haddad" in value or "haddad" in value]
        assert leftovers == []
        assert counts.confirmed_count_from_database(petition.pk) == 1
        erasure = Erasure.objects.get()
        assert erasure.signatures_erased == 1 and erasure.kind == "request"
        assert not [f.name for f in Erasure._meta.get_fields() if "user" in f.name or "by" in f.name]

    def test_unsent_letters_are_cancelled_and_sent_ones_keep_their_state(self, active_signer):
        before = dict(active_signer.letters.values_list("target__name", "state"))
        assert sorted(before.values()) == ["queued", "sent"]
        privacy.signer_erase(email="amira.haddad@example.org")
        after = dict(active_signer.letters.values_list("target__name", "state"))
        assert sorted(after.values()) == ["cancelled", "sent"]
        assert set(active_signer.letters.values_list("body", flat=True)) == {"[erased]"}

    def test_the_command_erases_and_says_how_much(self, active_signer, capsys):
        call_command("signer_erase", email="amira.haddad@example.org")
        assert "Erased 1 signature(s)." in capsys.readouterr().out
        call_command("signer_erase", email="amira.haddad@example.org")
        assert "No signature with that address." in capsys.readouterr().out

    def test_the_admin_action_needs_the_erase_permission(self, client, active_signer, moderator, db):
        from django.contrib.auth import get_user_model

        url = reverse("admin:petitions_signature_changelist")
        client.force_login(moderator)
        client.post(url, {"action": "erase", "_selected_action": [active_signer.pk]})
        assert Signature.objects.get().email == "Amira.Haddad@example.org"  # as typed, the domain as sent to
        boss = get_user_model().objects.create_superuser("boss", "b@campaign.example.org", "correct horse battery")
        client.force_login(boss)
        response = client.post(url, {"action": "erase", "_selected_action": [active_signer.pk]}, follow=True)
        assert "Erased the personal data of 1 signature(s)." in response.content.decode()
        assert Signature.objects.get().email == ""


class HousekeepingTests:
    def test_unconfirmed_signatures_are_purged_after_the_configured_days(self, client, petition, signer, settings):
        sign(client, petition, signer)
        settings.PURGE_UNCONFIRMED_AFTER_DAYS = 30
        assert privacy.unconfirmed_purge(now=timezone.now() + timedelta(days=29)) == 0
        assert privacy.unconfirmed_purge(now=timezone.now() + timedelta(days=31)) == 1
        assert not Signature.objects.exists()
        assert Erasure.objects.get().kind == "purge of unconfirmed"

    def test_a_closed_petitions_signatures_are_anonymised_after_the_configured_days(
        self, client, petition, signer, settings
    ):
        sign(client, petition, signer)
        signing.signature_confirm(public_id=Signature.objects.get().public_id)
        petition.is_open = False
        content.petition_save(petition=petition)
        settings.ANONYMISE_CLOSED_AFTER_DAYS = 90
        assert privacy.closed_petitions_anonymise(now=timezone.now() + timedelta(days=89)) == 0
        assert privacy.closed_petitions_anonymise(now=timezone.now() + timedelta(days=91)) == 1
        signature = Signature.objects.get()
        assert (signature.first_name, signature.email, signature.state) == ("", "", "confirmed")
        assert privacy.closed_petitions_anonymise(now=timezone.now() + timedelta(days=200)) == 0

    def test_ip_hashes_are_forgotten_after_the_retention_period(self, client, petition, signer, settings):
        client.post(reverse("petitions:sign", args=[petition.slug]), signer, REMOTE_ADDR="203.0.113.9")
        assert Signature.objects.get().ip_hash
        assert privacy.ip_hashes_expire(now=timezone.now() + timedelta(days=settings.IP_HASH_RETENTION_DAYS - 1)) == 0
        assert privacy.ip_hashes_expire(now=timezone.now() + timedelta(days=settings.IP_HASH_RETENTION_DAYS + 1)) == 1
        assert Signature.objects.get().ip_hash == ""
