"""Letters to the recipients: one per confirmed signature and active recipient,
sent through the delivery engine within each recipient's hourly cap.

A letter is its own outbox row. Confirming creates it and hands it over after
commit; beat's dispatcher hands over whatever each recipient's cap allows
now, and gives back letters whose worker died mid-send. A worker claims
letters under the recipient's row lock, re-checking the cap, then sends each
in its own ESP call under its own idempotency key.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from petitions import emails
from petitions.delivery import engine
from petitions.models import Letter, Signature, Target
from petitions.selectors.texts import petition_texts
from petitions.tokens import reply_local_part_make

# Letters per task: one claim transaction and one task's overhead for up to
# this many letters, each still its own ESP call under its own key.
LETTER_BATCH = 50


def _send_lease() -> timedelta:
    """A letter 'sending' for longer lost its worker mid-send and is queued again;
    keep it well above the longest an ESP call can take."""
    return timedelta(seconds=settings.LETTER_SEND_LEASE_SECONDS)


def _publish_lease() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


LETTERS = engine.Ledger(
    model=Letter,
    label="Letter",
    pending=Letter.State.QUEUED,
    claimed=Letter.State.SENDING,
    sent=Letter.State.SENT,
    failed=Letter.State.FAILED,
    skipped=Letter.State.CANCELLED,
    lease=_send_lease,
    claimed_at_field="send_started_at",
    published_at_field="enqueued_at",
    sent_at_field="sent_at",
)


def letters_create(*, signature: Signature, now: datetime) -> list[Letter]:
    """Queue the letter of a just-confirmed signature to each active recipient
    (in the caller's transaction); handed over after commit."""
    petition = signature.petition
    # Held back for the petition's release delay: the dispatcher hands them
    # over once due, unless the signature was invalidated or flagged meanwhile.
    release_at = now + timedelta(minutes=petition.letter_release_minutes)
    at_once = release_at <= now
    # Each recipient reads the letter in their own letter language: the
    # petition's words in that language, the signer's name as typed, their
    # country named in that language. Rendered once per language.
    texts: dict[str, tuple[str, str]] = {}
    letters = []
    for target in petition.targets.filter(is_active=True).order_by("pk"):
        language = target.letter_language or petition.language
        if language not in texts:
            texts[language] = (
                petition_texts(petition, language).letter_subject,
                emails.letter_text(
                    petition, signer_name=signature.full_name, signer_country=signature.country, language=language
                ),
            )
        subject, body = texts[language]
        letters.append(
            Letter(
                signature=signature,
                target=target,
                language=language,
                subject=subject,
                body=body,
                from_name=signature.full_name,
                reply_to=letter_reply_to(signature, target),
                created_at=now,
                next_attempt_at=release_at,
                enqueued_at=now if at_once else None,
            )
        )
    letters = Letter.objects.bulk_create(letters)
    if at_once:
        batches = engine.chunks([letter.pk for letter in letters], LETTER_BATCH)
        engine.hand_over_on_commit(LETTERS, "letters_send", batches)
    return letters


def letter_reply_to(signature: Signature, target: Target) -> str:
    """Where a recipient's reply to this letter goes: the signer, if they asked
    to be replied to; otherwise the recipient's own reply address of the
    campaign for this petition (REPLY_DOMAIN), whose mail comes back through
    the inbound webhook, or CAMPAIGN_REPLY_TO without one."""
    if signature.allows_reply:
        return signature.email
    if settings.REPLY_DOMAIN:
        return f"{reply_local_part_make(signature.petition_id, target.pk)}@{settings.REPLY_DOMAIN}"
    return str(settings.CAMPAIGN_REPLY_TO)


def _room(target: Target, now: datetime) -> int:
    """How many more letters the recipient's hourly cap allows now."""
    return target.hourly_cap - Letter.objects.sent_to_in_last_hour(target, now)[: target.hourly_cap].count()


def letters_dispatch(*, now: datetime | None = None) -> int:
    """Hand to the broker the queued letters each recipient's hourly cap allows now.

    Also gives back letters stuck in 'sending' (their worker died). A letter
    handed over recently is not handed over again until its hand-over lease
    runs out. Returns the number of letters handed over.
    """
    now = now or timezone.now()
    engine.leases_expired(LETTERS, now=now)
    handed_over = 0
    for target in Target.objects.filter(is_active=True, bounce_held_since__isnull=True):
        room = _room(target, now)
        if room <= 0:
            continue
        due = list(
            Letter.objects.filter(LETTERS.due(now), target=target)
            .exclude(signature__petition__letters_paused=True)
            .exclude(signature__flag_reason__gt="")
            .exclude(enqueued_at__gte=now - _publish_lease())
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:room]
        )
        if due:
            Letter.objects.filter(pk__in=due).update(enqueued_at=now)
            # One recipient's letters per batch: the batch then takes one row lock.
            engine.hand_over(LETTERS, "letters_send", engine.chunks(due, LETTER_BATCH))
            handed_over += len(due)
    return handed_over


def letter_send(*, letter_id: int) -> str | None:
    """Send one queued letter (see letters_send); return its new state, or None."""
    return letters_send(letter_ids=[letter_id]).get(letter_id)


def letters_send(*, letter_ids: list[int]) -> dict[int, str]:
    """Send queued letters, each once, within their recipients' hourly caps.

    Claimed in one short transaction that holds each recipient's row lock
    while its cap is checked, so concurrent workers cannot overshoot a cap; a
    letter another worker has locked is left to it. Each then goes to the ESP
    in its own call, outside any transaction, under its own key. After a
    transient failure, or once half the 'sending' lease has gone, the unsent
    rest go back to the queue for the dispatcher. Returns {letter id: new
    state} for the letters it changed (a letter left as it was is absent).
    """
    outcome, claimed = _letters_claim(letter_ids, timezone.now())
    started = time.monotonic()
    results, _unsent = engine.send_each(
        LETTERS,
        claimed,
        build=emails.letter_email,
        key=lambda letter: letter.idempotency_key,
        deadline=lambda: time.monotonic() - started > _send_lease().total_seconds() / 2,
    )
    states = {
        engine.SENT: Letter.State.SENT, engine.TRANSIENT: Letter.State.QUEUED, engine.FAILED: Letter.State.FAILED,
    }
    outcome.update({pk: states[result] for pk, result in results.items()})
    return outcome


def _letters_claim(letter_ids: list[int], now: datetime) -> tuple[dict[int, str], list[Letter]]:
    """Claim the sendable letters among letter_ids; return ({id: state}, claimed letters)."""
    outcome: dict[int, str] = {}
    claimed: list[Letter] = []
    with transaction.atomic():
        letters = list(
            Letter.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("signature__petition")
            .filter(LETTERS.due(now), pk__in=letter_ids)
            .order_by("pk")
        )
        by_target: dict[int, list[Letter]] = {}
        for letter in letters:
            if letter.signature.petition.letters_paused:
                engine.unpublish(LETTERS, [letter.pk])
            elif letter.signature.state != Signature.State.CONFIRMED:
                engine.skip(LETTERS, [letter.pk], "Signature no longer confirmed.")
                outcome[letter.pk] = Letter.State.CANCELLED
            elif letter.signature.flag_reason:
                # Held for review: it waits until a moderator approves or invalidates.
                engine.unpublish(LETTERS, [letter.pk])
            else:
                by_target.setdefault(letter.target_id, []).append(letter)
        for target in Target.objects.select_for_update().filter(pk__in=by_target).order_by("pk"):
            waiting = by_target[target.pk]
            if not target.is_active or target.bounce_held_since is not None:
                # Held: stays queued, and the dispatcher hands it over once staff
                # reactivate the recipient or clear its bounce hold.
                engine.unpublish(LETTERS, [letter.pk for letter in waiting])
                continue
            room = max(_room(target, now), 0)
            sending, over_cap = waiting[:room], waiting[room:]
            # Over the cap: left queued for the dispatcher, which hands them
            # over again once the hour's window has room.
            engine.unpublish(LETTERS, [letter.pk for letter in over_cap])
            engine.claim_mark(LETTERS, [letter.pk for letter in sending], now=now)
            for letter in sending:
                letter.target = target
                letter.state = Letter.State.SENDING
                letter.attempts += 1
            claimed.extend(sending)
    return outcome, claimed


def letters_retry(*, letter_ids: list[int]) -> int:
    """Queue failed letters again from their first attempt; hand them over after
    commit (the dispatcher covers a missed hand-over). Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        failed = list(
            Letter.objects.select_for_update()
            .filter(pk__in=letter_ids, state=Letter.State.FAILED)
            .values_list("pk", flat=True)
        )
        Letter.objects.filter(pk__in=failed).update(
            state=Letter.State.QUEUED, attempts=0, next_attempt_at=now, enqueued_at=now, send_started_at=None
        )
        engine.hand_over_on_commit(LETTERS, "letters_send", engine.chunks(failed, LETTER_BATCH))
    return len(failed)
