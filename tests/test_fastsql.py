"""Each raw-SQL fast path (petitions/fastsql.py) against the plain ORM version
it stands for: same rows, same values, on SQLite locally and PostgreSQL in CI."""

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from petitions import fastsql
from petitions.models import (
    ConsentWording,
    Mailing,
    MailingRecipient,
    Outbox,
    RepeatAttempt,
    Signature,
    Suppression,
)
from petitions.selectors.mailings import mailing_audience
from petitions.services.signing import consent_wordings_current
from petitions.services.supporter_mail import outbox_entry

# Fields the database or the clock sets differently for two rows made one after the other.
_OWN = {"id", "public_id", "email", "email_normalized", "last_name", "created_at"}


def _signature(petition, number, **fields):
    consents = consent_wordings_current()
    values = dict(
        petition=petition, first_name="Leila", last_name=f"Ben Ali {number}", email=f"Leila{number}@Example.org",
        email_normalized=f"leila{number}@example.org", email_domain="example.org", country="LY",
        letter_consent=consents[ConsentWording.Kind.LETTER], updates_consent=consents[ConsentWording.Kind.UPDATES],
        ip_hash="abc", comment="Free them.", comment_state=Signature.CommentState.PENDING,
    )
    return Signature(**(values | fields))


def _repeat(petition, signature):
    return outbox_entry(
        Outbox.Kind.REPEAT_SIGNATURE, petition=petition, signer_address=signature.email_normalized
    )


def _columns(model, pk, leave_out=_OWN):
    row = model.objects.filter(pk=pk).values().get()
    return {name: value for name, value in row.items() if name not in leave_out}


@pytest.mark.django_db(transaction=True)
class FastPathTests:
    def test_it_inserts_a_signature_and_its_email_as_the_orm_would(self, petition):
        by_orm = _signature(petition, 1)
        by_orm.save()
        entry_by_orm = outbox_entry(Outbox.Kind.CONFIRMATION_EMAIL, signature=by_orm)
        entry_by_orm.save()

        fast, entry = _signature(petition, 2), outbox_entry(Outbox.Kind.CONFIRMATION_EMAIL)
        assert fastsql.signature_insert(fast, entry) == (True, entry.pk)
        assert _columns(Signature, fast.pk) == _columns(Signature, by_orm.pk)
        outbox_own = {"id", "signature_id", "created_at", "next_attempt_at", "published_at"}
        assert _columns(Outbox, entry.pk, outbox_own) == _columns(Outbox, entry_by_orm.pk, outbox_own)
        assert Outbox.objects.get(pk=entry.pk).signature_id == fast.pk
        assert not RepeatAttempt.objects.exists()
        # The instance now acts as one loaded from the database: saving it updates.
        fast.first_name = "Layla"
        fast.save()
        assert Signature.objects.filter(first_name="Layla").count() == 1 and Signature.objects.count() == 2

    def test_a_repeat_signer_writes_the_repeat_entry_and_attempt_and_no_signature(self, petition):
        first = _signature(petition, 1)
        assert fastsql.signature_insert(first, outbox_entry(Outbox.Kind.CONFIRMATION_EMAIL))[0] is True
        again, entry = _signature(petition, 1, first_name="Other"), outbox_entry(Outbox.Kind.CONFIRMATION_EMAIL)
        is_new, repeat_id = fastsql.signature_insert(again, entry)
        assert is_new is False and again.pk is None and entry.pk is None
        repeat_by_orm = _repeat(petition, again)
        repeat_by_orm.save()
        outbox_own = {"id", "created_at", "next_attempt_at", "published_at"}
        assert _columns(Outbox, repeat_id, outbox_own) == _columns(Outbox, repeat_by_orm.pk, outbox_own)
        assert Signature.objects.count() == 1
        attempt = RepeatAttempt.objects.get()
        assert (attempt.ip_hash, attempt.email_domain, attempt.created_at) == ("abc", "example.org", again.created_at)

    def test_update_each_matches_bulk_update(self, petition):
        for number in range(6):
            _signature(petition, number).save()
        entries = [
            Outbox.objects.create(kind=Outbox.Kind.THANKS_EMAIL, signature=signature)
            for signature in Signature.objects.order_by("pk")
        ]
        first, second = entries[:3], entries[3:]
        now = timezone.now()
        for number, entry in enumerate(first):
            entry.esp_message_id, entry.state, entry.done_at = f"message-{number}", Outbox.State.DONE, now
        Outbox.objects.bulk_update(first, ["esp_message_id", "state", "done_at"])
        fastsql.update_each(
            Outbox, "esp_message_id", {entry.pk: f"message-{number}" for number, entry in enumerate(second)},
            state=Outbox.State.DONE, done_at=now,
        )
        orm = [_columns(Outbox, entry.pk, {"id", "signature_id", "created_at", "next_attempt_at"}) for entry in first]
        fast = [_columns(Outbox, entry.pk, {"id", "signature_id", "created_at", "next_attempt_at"}) for entry in second]
        assert orm == fast

    def test_window_counts_match_the_orm_count(self, petition):
        start = timezone.now() - timedelta(minutes=30)
        for number in range(12):
            _signature(
                petition, number, created_at=start + timedelta(minutes=2 * number),
                ip_hash="one" if number % 3 else "two", email_domain="a.example" if number % 2 else "b.example",
            ).save()
        for number in range(5):  # repeat attempts count as signatures do
            RepeatAttempt.objects.create(
                ip_hash="two", email_domain="b.example", created_at=start + timedelta(minutes=5 * number + 1)
            )
        signatures = list(Signature.objects.order_by("created_at"))
        limits = [("ip_hash", timedelta(minutes=10), 3), ("email_domain", timedelta(minutes=60), 100)]
        rows = [
            [s.pk, s.created_at]
            + [value for column, window, _cap in limits for value in (getattr(s, column), s.created_at - window)]
            for s in signatures
        ]
        counted = fastsql.window_counts(
            columns=[c for c, _w, _cap in limits], caps=[cap for _c, _w, cap in limits], rows=rows
        )
        for signature_id, *counts in counted:
            signature = Signature.objects.get(pk=signature_id)
            expected = [
                min(cap, sum(
                    model.objects.filter(
                        Q(**{column: getattr(signature, column)}),
                        created_at__gt=signature.created_at - window, created_at__lt=signature.created_at,
                    ).count()
                    for model in (Signature, RepeatAttempt)
                ))
                for column, window, cap in limits
            ]
            assert counts == expected
        assert any(counts[0] == 3 for _pk, *counts in counted)  # the cap is reached somewhere

    def test_the_audience_snapshot_is_the_orm_audience(self, petition, campaigner):
        for number in range(8):
            _signature(
                petition, number, state=Signature.State.CONFIRMED if number % 4 else Signature.State.PENDING,
                updates_consent=None if number == 5 else consent_wordings_current()[ConsentWording.Kind.UPDATES],
            ).save()
        Suppression.objects.create(email_normalized="leila3@example.org", reason=Suppression.Reason.BOUNCED)
        mailing = Mailing.objects.create(petition=petition, subject="News", body="Body", created_by=campaigner)
        written = fastsql.mailing_audience_insert(mailing_id=mailing.pk, petition_id=petition.pk)
        snapshot = set(MailingRecipient.objects.filter(mailing=mailing).values_list("signature_id", "email", "state"))
        expected = {
            (pk, email, MailingRecipient.State.PENDING)
            for pk, email in mailing_audience(petition_id=petition.pk).values_list("pk", "email")
        }
        assert snapshot == expected and written == len(expected) == 4
