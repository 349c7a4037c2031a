"""The public delivery ledger: what became of the letters to each recipient,
a signer's own letters, and the recipients' approved responses.

Shared by the public pages, their JSON and (later) the API. Nothing here names
a signer: the figures are counts and times per recipient, and a signer's own
letters are only ever read by the signature's public id from a signed link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Count, Max, Q
from django.utils.translation import gettext_lazy as _

from petitions.models import Letter, Petition, RecipientReply, Signature, Target


@dataclass(frozen=True)
class RecipientDelivery:
    """One recipient's line of the ledger."""

    target_id: int
    name: str
    title: str
    organisation: str
    sent: int
    delivered: int
    bounced: int
    held: int
    waiting: int
    failed: int
    last_delivered_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "recipient": {"name": self.name, "title": self.title, "organisation": self.organisation},
            "sent": self.sent,
            "delivered": self.delivered,
            "bounced": self.bounced,
            "held": self.held,
            "waiting": self.waiting,
            "failed": self.failed,
            "last_delivered_at": self.last_delivered_at.isoformat() if self.last_delivered_at else None,
        }


def _target_held(target: Target, petition: Petition) -> bool:
    """Whether the recipient's queued letters are held (not merely waiting their turn)."""
    return petition.letters_paused or not target.is_active or target.bounce_held_since is not None


def delivery_ledger(petition: Petition) -> list[RecipientDelivery]:
    """Per recipient of the petition: letters sent, delivered, bounced (or
    marked as spam), held (recipient held after a bounce or made inactive,
    letters paused, or the signature under review), waiting their turn,
    failed, and when the last one was delivered. One grouped query."""
    queued = Q(state=Letter.State.QUEUED)
    figures = {
        row["target_id"]: row
        for row in Letter.objects.filter(signature__petition=petition)
        .order_by()
        .values("target_id")
        .annotate(
            sent=Count("pk", filter=Q(state=Letter.State.SENT)),
            delivered=Count("pk", filter=Q(outcome__in=[Letter.Outcome.DELIVERED, Letter.Outcome.COMPLAINED])),
            bounced=Count("pk", filter=Q(outcome=Letter.Outcome.BOUNCED)),
            queued=Count("pk", filter=queued),
            flagged=Count("pk", filter=queued & ~Q(signature__flag_reason="")),
            failed=Count("pk", filter=Q(state=Letter.State.FAILED)),
            last_delivered_at=Max("delivered_at"),
        )
    }
    ledger = []
    for target in petition.targets.order_by("pk"):
        row = figures.get(target.pk)
        if row is None and not target.is_active:
            continue
        row = row or {"sent": 0, "delivered": 0, "bounced": 0, "queued": 0, "flagged": 0, "failed": 0}
        held = row["queued"] if _target_held(target, petition) else row["flagged"]
        ledger.append(
            RecipientDelivery(
                target_id=target.pk,
                name=target.name,
                title=target.title,
                organisation=target.organisation,
                sent=row["sent"],
                delivered=row["delivered"],
                bounced=row["bounced"],
                held=held,
                waiting=row["queued"] - held,
                failed=row["failed"],
                last_delivered_at=row.get("last_delivered_at"),
            )
        )
    return ledger


@dataclass(frozen=True)
class SignerLetter:
    """One of a signer's letters as the signer sees it."""

    recipient: str
    status: str
    at: datetime | None
    delivered: bool


def letters_of_signer(public_id: UUID) -> tuple[Signature | None, list[SignerLetter]]:
    """The signature with this public id and the state of each of its letters."""
    signature = Signature.objects.select_related("petition").filter(public_id=public_id).first()
    if signature is None:
        return None, []
    letters = []
    for letter in Letter.objects.filter(signature=signature).select_related("target").order_by("target_id"):
        status, at = _letter_status(letter, signature)
        letters.append(
            SignerLetter(
                recipient=str(letter.target), status=str(status), at=at,
                delivered=letter.outcome in (Letter.Outcome.DELIVERED, Letter.Outcome.COMPLAINED),
            )
        )
    return signature, letters


def _letter_status(letter: Letter, signature: Signature) -> tuple[Any, datetime | None]:
    if letter.state == Letter.State.SENT:
        if letter.outcome in (Letter.Outcome.DELIVERED, Letter.Outcome.COMPLAINED):
            return _("Delivered"), letter.delivered_at
        if letter.outcome == Letter.Outcome.BOUNCED:
            return _("Refused by the recipient's mail server"), letter.outcome_at
        if letter.outcome == Letter.Outcome.DEFERRED:
            return _("Delayed by the recipient's mail server; still being tried"), letter.outcome_at
        return _("Sent"), letter.sent_at
    if letter.state == Letter.State.SENDING:
        return _("Being sent"), letter.send_started_at
    if letter.state == Letter.State.FAILED:
        return _("Could not be sent"), None
    if letter.state == Letter.State.CANCELLED:
        return _("Not sent"), None
    if _target_held(letter.target, signature.petition) or signature.flag_reason:
        return _("Held for now; it will be sent later"), None
    return _("Waiting to be sent"), letter.next_attempt_at


def responses_shown(petition: Petition) -> list[RecipientReply]:
    """The recipients' approved responses to the petition, newest first."""
    return list(
        RecipientReply.objects.shown()
        .filter(petition=petition)
        .select_related("target")
        .order_by("-received_at")
    )


def response_as_json(reply: RecipientReply) -> dict[str, Any]:
    target = reply.target
    return {
        "recipient": {"name": target.name, "title": target.title} if target else None,
        "received_at": reply.received_at.isoformat(),
        "text": reply.quoted_text,
        "note": reply.note,
    }
