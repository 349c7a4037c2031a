"""Letters to the recipients: one per confirmed signature and active recipient,
sent through the delivery engine within each recipient's hourly cap.

A letter is its own outbox row. Confirming creates it and hands it over after
commit; beat's dispatcher hands over whatever each recipient's cap allows
now, and gives back letters whose worker died mid-send. A worker claims
letters under the recipient's row lock, re-checking the cap, then sends each
in its own ESP call under its own idempotency key.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from petitions import emails
from petitions.delivery import engine, office_hours
from petitions.fastsql import update_each
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


def _first_state(target: Target) -> str:
    """How a new letter to `target` starts: queued to send, counted in the
    recipient's digest only, or left to the supporter's own mail."""
    if target.own_mail_only:
        return Letter.State.BY_SUPPORTER
    if not target.sends_each_letter:
        return Letter.State.DIGEST_ONLY
    return Letter.State.QUEUED


def letters_create(*, signature: Signature, now: datetime) -> list[Letter]:
    """Queue the letter of a just-confirmed signature to each active recipient
    who takes letters from the signer's country (in the caller's transaction).

    Letters to a recipient in digest-only mode wait for the digest, and those
    to a recipient who takes only supporters' own mail are never sent by the
    service. Letters due at once to a recipient without office hours are
    handed over after commit; the dispatcher releases the rest."""
    petition = signature.petition
    # Held back for the petition's release delay: the dispatcher hands them
    # over once due, unless the signature was invalidated or flagged meanwhile.
    release_at = now + timedelta(minutes=petition.letter_release_minutes)
    at_once = release_at <= now
    # Held back for the petition's release delay: the dispatcher hands them
    # over once due, unless the signature was invalidated or flagged meanwhile.
    release_at = now + timedelta(minutes=petition.letter_release_minutes)
    at_once = release_at <= now
    targets = [
        target for target in petition.targets.filter(is_active=True).order_by("pk")
        if target.writes_to(signature.country.code)
    ]
    # Each recipient reads the letter in their own letter language: the
    # petition's words in that language, the signer's name as typed, their
    # country named in that language. Rendered once per language.
    texts: dict[str, tuple[str, str]] = {}
    letters = []
    for target in targets:
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
                state=_first_state(target),
                language=language,
                subject=subject,
                body=body,
                from_name=signature.full_name,
                reply_to=letter_reply_to(signature, target),
                created_at=now,
                next_attempt_at=release_at,
                enqueued_at=now if _handed_over_at_once(target, at_once=at_once) else None,
            )
        )
    letters = Letter.objects.bulk_create(letters)
    handed = [letter.pk for letter in letters if letter.enqueued_at]
    engine.hand_over_on_commit(LETTERS, "letters_send", engine.chunks(handed, LETTER_BATCH))
    return letters


def _handed_over_at_once(target: Target, *, at_once: bool) -> bool:
    """Whether a new letter goes to the broker on commit: due at once, sent by
    the service on its own, and not waiting for a time in office hours (the
    dispatcher gives those their times)."""
    return at_once and _first_state(target) == Letter.State.QUEUED and not target.has_office_hours


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
    for target in Target.objects.filter(is_active=True, bounce_held_since__isnull=True, own_mail_only=False):
        if target.has_office_hours:
            _letters_spread(target, now)
            if not office_hours.is_open(target, now):
                continue
        room = _room(target, now)
        if room <= 0:
            continue
        releasable = Letter.objects.filter(LETTERS.due(now), target=target)
        if target.has_office_hours:
            releasable = releasable.filter(slot_at__isnull=False)
        due = list(
            releasable.exclude(signature__petition__letters_paused=True)
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


def _letters_spread(target: Target, now: datetime) -> int:
    """Give the recipient's released, not yet spread letters their send times:
    evenly within office hours, one per cap interval with jitter, after the
    last time already given. The times are due times in the database, so the
    broker never holds a letter for later. Returns how many were spread."""
    arrivals = list(
        Letter.objects.filter(LETTERS.due(now), target=target, slot_at__isnull=True)
        .exclude(signature__petition__letters_paused=True)
        .exclude(signature__flag_reason__gt="")
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[: target.hourly_cap]
    )
    if not arrivals:
        return 0
    last = (
        Letter.objects.filter(target=target, state__in=[Letter.State.QUEUED, Letter.State.SENDING])
        .exclude(slot_at__isnull=True)
        .order_by("-slot_at")
        .values_list("slot_at", flat=True)
        .first()
    )
    after = max(now, last + office_hours.spacing(target)) if last else now
    times = office_hours.slots(target, count=len(arrivals), after=after, rng=random.SystemRandom())
    with transaction.atomic():
        update_each(Letter, "slot_at", dict(zip(arrivals, times, strict=True)))
        Letter.objects.filter(pk__in=arrivals).update(next_attempt_at=F("slot_at"))
    return len(arrivals)


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
            if target.sends_digest and not target.sends_each_letter:
                # The recipient switched to a digest only since these were
                # queued: they wait for its next digest instead.
                Letter.objects.filter(pk__in=[letter.pk for letter in waiting]).update(
                    state=Letter.State.DIGEST_ONLY, enqueued_at=None
                )
                outcome.update({letter.pk: Letter.State.DIGEST_ONLY for letter in waiting})
                continue
            if (
                not target.is_active or target.bounce_held_since is not None or target.own_mail_only
                or not office_hours.is_open(target, now)
            ):
                # Held: stays queued, and the dispatcher hands it over once staff
                # reactivate the recipient or clear its bounce hold, or once
                # the recipient's office hours open again. A recipient switched
                # to supporters' own mail only gets none of them from us.
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


def letters_send_by_supporter(*, public_id: uuid.UUID) -> list[Letter]:
    """The signer of `public_id` sends their letter from their own mail: each of
    their letters the service has not sent yet (queued, or waiting for a
    digest that has not counted it) is marked sent by the supporter, and the
    service sends no copy of it. One transaction; idempotent.

    Returns the signature's letters now left to the supporter (including any
    marked before, and those to recipients who take only supporters' mail);
    a letter a worker is sending or has sent is not among them."""
    with transaction.atomic():
        # Locked, not skipped: a claim in progress finishes first, and a letter
        # it took is no longer queued when the filter is checked again.
        choosable = list(
            Letter.objects.select_for_update(of=("self",))
            .filter(signature__public_id=public_id)
            .filter(Q(state=Letter.State.QUEUED) | Q(state=Letter.State.DIGEST_ONLY, digest__isnull=True))
            .values_list("pk", flat=True)
        )
        Letter.objects.filter(pk__in=choosable).update(
            state=Letter.State.BY_SUPPORTER, enqueued_at=None, last_error="", slot_at=None
        )
        return list(
            Letter.objects.filter(signature__public_id=public_id, state=Letter.State.BY_SUPPORTER)
            .select_related("target")
            .order_by("target")
        )
