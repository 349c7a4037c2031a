"""Signatures collected on paper or offline, entered by staff in batches.

A batch is checked row by row by the online form's own fields (in the admin,
through petitions.forms.OfflineSignatureForm) and written here whole or not
at all. A paper signature is a Signature like any other, confirmed when
entered, so the count, the review tools, erasure and anonymisation cover it;
its batch says who entered it, when, from which event and which scan. It
gets letters only if its paper form carried the letter consent and the box
was ticked, and campaign updates only if the updates box was ticked and an
address given. No confirmation or thank-you email is sent: the signer gave
their agreement on paper, and nobody asked for more mail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from petitions import caches
from petitions.addresses import email_canonical, email_domain, email_for_sending
from petitions.models import ConsentWording, OfflineBatch, Petition, Signature
from petitions.selectors.counts import counts_reconcile
from petitions.selectors.offline import addresses_signed
from petitions.services.letters import letters_create
from petitions.services.moderation import signatures_invalidate

# A paper signature without an address still needs a value unique within its
# petition (the one-signature-per-address constraint): one that is no mailbox.
NO_ADDRESS_DOMAIN = "paper.invalid"


@dataclass(frozen=True)
class OfflineRow:
    """One signature from a paper form, as the form cleaned it."""

    first_name: str
    last_name: str
    country: str
    email: str = ""
    postcode: str = ""
    letter: bool = False
    reply: bool = False
    updates: bool = False

    @property
    def canonical_address(self) -> str:
        return email_canonical(self.email) if self.email else ""


class Duplicate:
    SIGNED_ALREADY = "signed already"
    TWICE_IN_BATCH = "twice in this batch"


def offline_rows_sort(*, petition: Petition, rows: list[OfflineRow]) -> list[str]:
    """For each row, why it would be left out ("" if it would be added): its
    address, by the one address rule, has signed this petition already
    (online or on paper), or comes earlier in the same batch. Changes nothing;
    the preview shows this, and offline_batch_add applies the same rule."""
    signed = addresses_signed(
        petition_id=petition.pk, canonical_addresses=[row.canonical_address for row in rows if row.email]
    )
    seen: set[str] = set()
    verdicts = []
    for row in rows:
        address = row.canonical_address
        if not address:
            verdicts.append("")
        elif address in signed:
            verdicts.append(Duplicate.SIGNED_ALREADY)
        elif address in seen:
            verdicts.append(Duplicate.TWICE_IN_BATCH)
        else:
            verdicts.append("")
        seen.add(address)
    return verdicts


class BatchConflict(Exception):
    """An address of the batch signed while staff were looking at the preview."""


@dataclass(frozen=True)
class PaperConsents:
    """The consent wordings the paper form carried; None for one it did not ask for."""

    letter: ConsentWording | None
    reply: ConsentWording | None
    updates: ConsentWording | None

    def kinds(self) -> frozenset[str]:
        return frozenset(kind for kind in ("letter", "reply", "updates") if getattr(self, kind) is not None)


def offline_batch_add(
    *,
    petition: Petition,
    rows: list[OfflineRow],
    entered_by: User,
    collected_on: date,
    place: str,
    scan_reference: str,
    consents: PaperConsents,
) -> OfflineBatch:
    """Record a batch of paper signatures, all in one transaction.

    Rows whose address has signed already, or that repeat an address of the
    batch, are left out and counted as duplicates; every other row becomes a
    confirmed signature of the batch, with the consents its paper form
    recorded (a consent the form did not carry is never set). Letters are
    queued for the rows with the letter consent (handed over after the
    petition's release delay, like any others). Nothing is written if any
    row cannot be (BatchConflict: an address signed meanwhile). The public
    count is re-synced after commit.
    """
    now = timezone.now()
    signed_at = timezone.make_aware(datetime.combine(collected_on, time(12)))
    with transaction.atomic():
        verdicts = offline_rows_sort(petition=petition, rows=rows)
        batch = OfflineBatch.objects.create(
            petition=petition, entered_by=entered_by, entered_at=now, collected_on=collected_on, place=place,
            scan_reference=scan_reference, letter_consent=consents.letter, reply_consent=consents.reply,
            updates_consent=consents.updates, duplicate_count=sum(1 for verdict in verdicts if verdict),
        )
        signatures = [
            _signature(petition, batch, row, consents, signed_at=signed_at, now=now)
            for row, verdict in zip(rows, verdicts, strict=True)
            if not verdict
        ]
        try:
            with transaction.atomic():
                # One statement per 500 rows; the constraint refuses an address
                # that signed since the check above, and then nothing is kept.
                created = Signature.objects.bulk_create(signatures, batch_size=500)
        except IntegrityError as error:
            raise BatchConflict(str(error)) from error
        if any(signature.pk is None for signature in created):
            # SQLite before 3.35 returns no ids; reload them by their public ids.
            ids = dict(
                Signature.objects.filter(offline_batch=batch).values_list("public_id", "pk")
            )
            for signature in created:
                signature.pk = ids[signature.public_id]
        for signature in created:
            if signature.letter_consent_id is not None:
                letters_create(signature=signature, now=now)
        batch.signature_count = len(created)
        batch.save(update_fields=["signature_count"])
        transaction.on_commit(_counts_and_pages_refresh)
    return batch


def _counts_and_pages_refresh() -> None:
    """The public count from the database, then this process's pages rebuilt
    from it (other processes rebuild theirs within PAGE_CACHE_SECONDS)."""
    counts_reconcile()
    caches.pages_forget()


def _signature(
    petition: Petition, batch: OfflineBatch, row: OfflineRow, consents: PaperConsents, *, signed_at: datetime,
    now: datetime,
) -> Signature:
    return Signature(
        petition=petition,
        offline_batch=batch,
        first_name=row.first_name,
        last_name=row.last_name,
        email=email_for_sending(row.email) if row.email else "",
        email_normalized=row.canonical_address or f"paper-{uuid.uuid4().hex}@{NO_ADDRESS_DOMAIN}",
        email_domain=email_domain(row.email) if row.email else "",
        country=row.country,
        postcode=row.postcode,
        state=Signature.State.CONFIRMED,
        letter_consent=consents.letter if row.letter else None,
        reply_consent=consents.reply if row.reply and row.email else None,
        updates_consent=consents.updates if row.updates and row.email else None,
        created_at=signed_at,
        confirmed_at=now,
    )


def offline_batch_withdraw(*, batch_id: int, actor: User, reason: str) -> int:
    """Withdraw a whole batch: its signatures stop counting and their unsent
    letters are cancelled (moderation.signatures_invalidate, recorded as a
    moderation decision). Idempotent: a batch already withdrawn changes
    nothing. Returns how many signatures were withdrawn."""
    with transaction.atomic():
        batch = OfflineBatch.objects.select_for_update().get(pk=batch_id)
        if batch.withdrawn_at is not None:
            return 0
        ids = list(Signature.objects.filter(offline_batch=batch).values_list("pk", flat=True))
        withdrawn = signatures_invalidate(
            signature_ids=ids, actor=actor, reason=f"Offline batch {batch.pk} withdrawn: {reason}",
            criteria={"offline_batch": batch.pk},
        )
        batch.withdrawn_at, batch.withdrawn_by, batch.withdrawn_reason = timezone.now(), actor, reason[:300]
        batch.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
        transaction.on_commit(_counts_and_pages_refresh)
    return withdrawn
