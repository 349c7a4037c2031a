"""Privacy made real: erasing a signer, purging unconfirmed
signatures, anonymising closed petitions, forgetting IP hashes.

Erasure keeps the counts: a confirmed signature stays a confirmed signature,
with nothing left that says whose. It records that an erasure happened and
how much it erased, and deliberately not who asked or who carried it out.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from petitions.addresses import email_canonical
from petitions.models import (
    Erasure,
    EspEvent,
    Letter,
    MailingRecipient,
    Outbox,
    Petition,
    RepeatAttempt,
    Signature,
    Suppression,
)

ERASED = "[erased]"


def _anonymise(signature_ids: list[int]) -> int:
    """Remove everything personal from these signatures and what hangs off them."""
    signatures = list(Signature.objects.filter(pk__in=signature_ids).only("pk", "email_normalized"))
    if not signatures:
        return 0
    addresses = {s.email_normalized for s in signatures}
    for signature in signatures:
        # Unique per petition, so each erased signature gets its own filler.
        Signature.objects.filter(pk=signature.pk).update(
            first_name="", last_name="", email="", email_normalized=f"erased-{uuid.uuid4().hex}@erased.invalid",
            email_domain="", postcode="", ip_hash="", comment="", comment_state=Signature.CommentState.NONE,
            invalidated_reason="", flag_reason="",
        )
    # Letters not yet sent are cancelled; every letter loses the signer's name
    # and address, keeping its state so letters per recipient still add up.
    Letter.objects.filter(signature_id__in=signature_ids, state__in=[Letter.State.QUEUED, Letter.State.FAILED]).update(
        state=Letter.State.CANCELLED
    )
    Letter.objects.filter(signature_id__in=signature_ids).update(
        body=ERASED, from_name=ERASED, reply_to=settings.CAMPAIGN_REPLY_TO, last_error=""
    )
    # Mail logs: the outbox, copies of updates, the ESP's events, suppressions.
    Outbox.objects.filter(signature_id__in=signature_ids).delete()
    Outbox.objects.filter(signer_address__in=addresses).delete()  # repeat signatures not yet resolved
    copies = MailingRecipient.objects.filter(Q(signature_id__in=signature_ids) | Q(email_normalized__in=addresses))
    for recipient in copies:
        MailingRecipient.objects.filter(pk=recipient.pk).update(
            email="", email_normalized=f"erased-{recipient.pk}", signature=None, error=""
        )
    EspEvent.objects.filter(recipient__in=addresses).delete()
    # A suppression outlives the signer as its keyed hash alone: the address
    # can no longer be read, and still gets nothing if it signs again.
    Suppression.objects.filter(email_normalized__in=addresses).update(email_normalized=None, detail="")
    # The admin's history names the objects it changed.
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Signature), object_id__in=[str(pk) for pk in signature_ids]
    ).update(object_repr=ERASED, change_message="[]")
    return len(signatures)


def signer_erase(*, email: str) -> int:
    """Erase every signature made with this address (in any spelling of it).

    Counts are kept; one Erasure row says that it happened and how many
    signatures it touched. Returns that number (0 if the address is unknown).
    """
    with transaction.atomic():
        ids = list(Signature.objects.filter(email_normalized=email_canonical(email)).values_list("pk", flat=True))
        erased = _anonymise(ids)
        if erased:
            Erasure.objects.create(signatures_erased=erased, kind="request")
    return erased


def signatures_erase(*, signature_ids: list[int]) -> int:
    """Erase the signers of these signatures (all their signatures, by address)."""
    addresses = set(Signature.objects.filter(pk__in=signature_ids).values_list("email_normalized", flat=True))
    return sum(signer_erase(email=address) for address in addresses if not address.endswith("@erased.invalid"))


def unconfirmed_purge(*, now: datetime | None = None) -> int:
    """Delete signatures never confirmed within PURGE_UNCONFIRMED_AFTER_DAYS. They never counted."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PURGE_UNCONFIRMED_AFTER_DAYS)
    with transaction.atomic():
        stale = Signature.objects.filter(state=Signature.State.PENDING, created_at__lt=cutoff)
        ids = list(stale.values_list("pk", flat=True)[:10000])
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Signature), object_id__in=[str(pk) for pk in ids]
        ).delete()
        deleted = Signature.objects.filter(pk__in=ids).delete()[1].get("petitions.Signature", 0)
        if deleted:
            Erasure.objects.create(signatures_erased=deleted, kind="purge of unconfirmed")
    return deleted


def closed_petitions_anonymise(*, now: datetime | None = None) -> int:
    """Anonymise the signatures of petitions closed more than ANONYMISE_CLOSED_AFTER_DAYS ago."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ANONYMISE_CLOSED_AFTER_DAYS)
    total = 0
    for petition_id in Petition.objects.filter(is_open=False, closed_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            ids = list(
                Signature.objects.filter(petition_id=petition_id)
                .exclude(email_normalized__endswith="@erased.invalid")
                .values_list("pk", flat=True)[:10000]
            )
            erased = _anonymise(ids)
            if erased:
                Erasure.objects.create(signatures_erased=erased, kind="anonymisation of a closed petition")
            total += erased
    return total


def ip_hashes_expire(*, now: datetime | None = None) -> int:
    """Forget hashed IP addresses older than IP_HASH_RETENTION_DAYS; the limits no longer need them."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.IP_HASH_RETENTION_DAYS)
    with transaction.atomic():
        RepeatAttempt.objects.filter(created_at__lt=cutoff).delete()
        return Signature.objects.filter(created_at__lt=cutoff).exclude(ip_hash="").update(ip_hash="")


def privacy_housekeeping() -> dict[str, int]:
    """The periodic privacy work, in one task. Returns what each step did."""
    return {
        "ip_hashes_cleared": ip_hashes_expire(),
        "unconfirmed_purged": unconfirmed_purge(),
        "closed_anonymised": closed_petitions_anonymise(),
    }
