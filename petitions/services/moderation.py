"""Moderation: approving or invalidating signatures and comments,
one by one or by conditions, and the blocklist. Every decision is recorded:
who, when, what (which action on how many, and the conditions) and why.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from petitions.addresses import domain_canonical, email_canonical
from petitions.models import BlockedSource, Letter, ModerationDecision, Outbox, Signature
from petitions.selectors.counts import counts_reconcile
from petitions.services.supporter_mail import outbox_add

# Who decided: a staff member, or None for the system itself.
Actor = User | None


def _decision(
    actor: Actor, action: str, reason: str, count: int, criteria: dict[str, Any] | None = None
) -> ModerationDecision:
    return ModerationDecision.objects.create(
        actor=actor, action=action, reason=reason[:300], signature_count=count, criteria=criteria or {}
    )


def signatures_invalidate(
    *, signature_ids: list[int], actor: Actor, reason: str, criteria: dict[str, Any] | None = None
) -> int:
    """Stop the signatures counting and cancel their unsent letters.

    Letters already handed to the ESP are not recalled. Idempotent: signatures
    already invalidated are left as they were. Records the decision and
    re-syncs the public count after commit. Returns how many changed.
    """
    now = timezone.now()
    with transaction.atomic():
        changing = list(
            Signature.objects.select_for_update()
            .filter(pk__in=signature_ids)
            .exclude(state=Signature.State.INVALIDATED)
            .values_list("pk", flat=True)
        )
        decision = _decision(actor, ModerationDecision.Action.INVALIDATE, reason, len(changing), criteria)
        Signature.objects.filter(pk__in=changing).update(
            state=Signature.State.INVALIDATED, invalidated_at=now, invalidated_reason=reason[:300],
            last_decision=decision,
        )
        Letter.objects.filter(signature_id__in=changing, state=Letter.State.QUEUED).update(
            state=Letter.State.CANCELLED, last_error=f"Signature invalidated: {reason}"[:500]
        )
        transaction.on_commit(counts_reconcile)
    return len(changing)


def signatures_approve(*, signature_ids: list[int], actor: Actor, reason: str) -> int:
    """Clear the review flag. A held signature that was never emailed now gets
    its confirmation email; a confirmed one simply stays counted. Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        flagged = list(
            Signature.objects.select_for_update()
            .filter(pk__in=signature_ids)
            .exclude(flag_reason="")
            .exclude(state=Signature.State.INVALIDATED)
        )
        decision = _decision(actor, ModerationDecision.Action.APPROVE, reason, len(flagged))
        Signature.objects.filter(pk__in=[s.pk for s in flagged]).update(
            flag_reason="", flagged_at=None, last_decision=decision
        )
        for signature in flagged:
            # Held by a rate limit, its confirmation entry was skipped, not sent.
            if signature.state == Signature.State.PENDING and not signature.outbox.filter(
                kind=Outbox.Kind.CONFIRMATION_EMAIL
            ).exclude(state=Outbox.State.SKIPPED).exists():
                outbox_add(Outbox.Kind.CONFIRMATION_EMAIL, signature=signature, now=now)
    return len(flagged)


def comments_decide(*, signature_ids: list[int], actor: Actor, approve: bool, reason: str = "") -> int:
    """Publish or reject signers' comments awaiting review, recording the
    moderator's reason. Only the comment of a confirmed signature that is not
    held for review can be published: an unconfirmed or flagged signature's
    comment stays waiting (rejecting it is always possible). Returns how many."""
    action = ModerationDecision.Action.COMMENT_APPROVE if approve else ModerationDecision.Action.COMMENT_REJECT
    state = Signature.CommentState.APPROVED if approve else Signature.CommentState.REJECTED
    with transaction.atomic():
        pending = Signature.objects.select_for_update().filter(
            pk__in=signature_ids, comment_state=Signature.CommentState.PENDING
        )
        if approve:
            pending = pending.filter(state=Signature.State.CONFIRMED, flag_reason="")
        ids = list(pending.values_list("pk", flat=True))
        decision = _decision(actor, action, reason.strip() or "Comment review", len(ids))
        Signature.objects.filter(pk__in=ids).update(comment_state=state, last_decision=decision)
    return len(ids)


# Conditions a moderator can invalidate by, and how each narrows the signatures.
def _criteria_filter(criteria: dict[str, Any]) -> Q:
    condition = Q(petition_id=criteria["petition"]) & ~Q(state=Signature.State.INVALIDATED)
    if criteria.get("email_domain"):
        condition &= Q(email_domain=domain_canonical(criteria["email_domain"]))
    if criteria.get("created_from"):
        condition &= Q(created_at__gte=parse_datetime(criteria["created_from"]))
    if criteria.get("created_to"):
        condition &= Q(created_at__lt=parse_datetime(criteria["created_to"]))
    if criteria.get("ip_hash"):
        condition &= Q(ip_hash=criteria["ip_hash"])
    if criteria.get("country"):
        condition &= Q(country=criteria["country"])
    if criteria.get("flagged_only"):
        condition &= ~Q(flag_reason="")
    return condition


def bulk_invalidation_count(criteria: dict[str, Any]) -> int:
    """How many signatures the conditions would invalidate now. Changes nothing."""
    return Signature.objects.filter(_criteria_filter(criteria)).count()


def bulk_invalidate(*, criteria: dict[str, Any], actor: Actor, reason: str, expected_count: int) -> int | None:
    """Invalidate every signature matching the conditions, if there are still
    `expected_count` of them (what the moderator was shown); otherwise change
    nothing and return None so the new count can be shown first."""
    with transaction.atomic():
        matching = Signature.objects.select_for_update().filter(_criteria_filter(criteria))
        ids = list(matching.values_list("pk", flat=True))
        if len(ids) != expected_count:
            return None
        return signatures_invalidate(signature_ids=ids, actor=actor, reason=reason, criteria=criteria)


def blocklist_add(*, kind: str, value: str, note: str = "") -> tuple[BlockedSource, int]:
    """Block an address, domain or IP range for new signatures, and flag for
    review the signatures it already matches (by address or domain; IP
    addresses are not kept, so existing signatures cannot be matched to a
    range). Returns (entry, number of signatures flagged)."""
    value = value.strip().lower()
    # The blocklist keeps what staff typed; signatures are matched by the canonical form.
    if kind == BlockedSource.Kind.EMAIL:
        value = email_canonical(value)
    elif kind == BlockedSource.Kind.DOMAIN:
        value = domain_canonical(value)
    now = timezone.now()
    with transaction.atomic():
        entry, _ = BlockedSource.objects.get_or_create(kind=kind, value=value, defaults={"note": note})
        matching = Signature.objects.exclude(state=Signature.State.INVALIDATED).filter(flag_reason="")
        if kind == BlockedSource.Kind.EMAIL:
            matching = matching.filter(email_normalized=value)
        elif kind == BlockedSource.Kind.DOMAIN:
            matching = matching.filter(Q(email_domain=value) | Q(email_domain__endswith="." + value))
        else:
            matching = matching.none()
        reason = f"blocklist: {entry.get_kind_display().lower()} {value}"[:200]
        flagged = matching.update(flag_reason=reason, flagged_at=now)
    return entry, flagged
