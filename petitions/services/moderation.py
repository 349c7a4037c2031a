"""Services for moderators: approving or invalidating signatures and comments,
one by one or by conditions, and the blocklist. Every decision is recorded:
who, when, what (which action on how many, and the conditions) and why.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from petitions.addresses import email_canonical
from petitions.counts import counts_reconcile
from petitions.models import BlockedSource, Letter, ModerationDecision, Outbox, Signature
from petitions.outbox import outbox_add


def _decision(actor, action, reason, count, criteria=None):
    return ModerationDecision.objects.create(
        actor=actor, action=action, reason=reason[:300], signature_count=count, criteria=criteria or {}
    )


def signatures_invalidate(*, signature_ids, actor, reason, criteria=None):
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


def signatures_approve(*, signature_ids, actor, reason):
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


def comments_decide(*, signature_ids, actor, approve):
    """Publish or reject signers' comments awaiting review. Returns how many."""
    action = ModerationDecision.Action.COMMENT_APPROVE if approve else ModerationDecision.Action.COMMENT_REJECT
    state = Signature.CommentState.APPROVED if approve else Signature.CommentState.REJECTED
    with transaction.atomic():
        pending = Signature.objects.select_for_update().filter(
            pk__in=signature_ids, comment_state=Signature.CommentState.PENDING
        )
        ids = list(pending.values_list("pk", flat=True))
        decision = _decision(actor, action, "Comment review", len(ids))
        Signature.objects.filter(pk__in=ids).update(comment_state=state, last_decision=decision)
    return len(ids)


# Conditions a moderator can invalidate by, and how each narrows the signatures.
def _criteria_filter(criteria):
    condition = Q(petition_id=criteria["petition"]) & ~Q(state=Signature.State.INVALIDATED)
    if criteria.get("email_domain"):
        condition &= Q(email_domain=criteria["email_domain"].strip().lower())
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


def bulk_invalidation_count(criteria):
    """How many signatures the conditions would invalidate now. Changes nothing."""
    return Signature.objects.filter(_criteria_filter(criteria)).count()


def bulk_invalidate(*, criteria, actor, reason, expected_count):
    """Invalidate every signature matching the conditions, if there are still
    `expected_count` of them (what the moderator was shown); otherwise change
    nothing and return None so the new count can be shown first."""
    with transaction.atomic():
        ids = list(Signature.objects.select_for_update().filter(_criteria_filter(criteria)).values_list("pk", flat=True))
        if len(ids) != expected_count:
            return None
        return signatures_invalidate(signature_ids=ids, actor=actor, reason=reason, criteria=criteria)


def blocklist_add(*, kind, value, note=""):
    """Block an address, domain or IP range for new signatures, and flag for
    review the signatures it already matches (by address or domain; IP
    addresses are not kept, so existing signatures cannot be matched to a
    range). Returns (entry, number of signatures flagged)."""
    value = value.strip().lower()
    now = timezone.now()
    with transaction.atomic():
        entry, _ = BlockedSource.objects.get_or_create(kind=kind, value=value, defaults={"note": note})
        matching = Signature.objects.exclude(state=Signature.State.INVALIDATED).filter(flag_reason="")
        if kind == BlockedSource.Kind.EMAIL:
            matching = matching.filter(email_normalized=email_canonical(value))
        elif kind == BlockedSource.Kind.DOMAIN:
            matching = matching.filter(Q(email_domain=value) | Q(email_domain__endswith="." + value))
        else:
            matching = matching.none()
        flagged = matching.update(flag_reason=f"blocklist: {entry.get_kind_display().lower()} {value}"[:200], flagged_at=now)
    return entry, flagged
