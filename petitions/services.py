"""Every write the petition domain makes.

Each service takes keyword arguments, runs in one transaction, and says what it
guarantees. Work for Celery is recorded in the same transaction (an outbox
row, or a queued letter, which is its own outbox) and published only after
commit; a periodic task publishes whatever that missed. Signing therefore
never depends on the broker being up.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from petitions import abuse, emails
from petitions.addresses import email_canonical, email_domain
from petitions.delivery import DeliveryFailure, backoff, deliver
from petitions.models import ConsentWording, Letter, Outbox, Signature, Target
from petitions.outbox import MAX_ATTEMPTS, OUTBOX_LEASE, drain_wake_on_commit, outbox_add, outbox_entry, publish
from petitions.process_cache import ProcessCache
from petitions.signing_sql import signature_insert

logger = logging.getLogger(__name__)

# A letter marked as sending for longer than this lost its worker mid-send and
# is queued again; the ESP's idempotency key stops a second copy going out.
LETTER_SEND_LEASE = timezone.timedelta(seconds=settings.LETTER_SEND_LEASE_SECONDS)
# Letters per task: one claim transaction and one task's overhead for up to
# this many letters, each still its own ESP call under its own key.
LETTER_BATCH = 50


class PetitionClosed(Exception):
    pass


class SigningPaused(Exception):
    pass


def email_normalize(email):
    """The form under which two addresses count as the same signer (see petitions.addresses)."""
    return email_canonical(email)


# Every signature reads the current consent wordings, which change a few times
# a year: each process keeps them this long (a save clears that process's copy).
_consents = ProcessCache(10)


def consent_wordings_current():
    """The newest wording of each kind of consent, keyed by kind."""
    return _consents.get("current", _consent_wordings_load)


def _consent_wordings_load():
    current = {}
    for wording in ConsentWording.objects.order_by("kind", "-version"):
        current.setdefault(wording.kind, wording)
    return current


consent_wordings_forget = _consents.clear


@dataclass(frozen=True)
class SignOutcome:
    signature: Signature
    is_new: bool


def signature_create(
    *, petition, first_name, last_name, email, country, postcode="", wants_reply=False, wants_updates=False,
    comment="", ip="",
):
    """Record a pending signature and ask for its confirmation email.

    A repeat signer (same petition, same canonical email) changes nothing but
    gets an already-signed email, at most REPEAT_NOTICE_LIMIT times. A
    signature from a blocklisted source is recorded but held for review, and
    no email is sent; the rate limits are applied the same way by the outbox
    drain before it sends the confirmation email (abuse.over_limit_reasons).
    Either way the caller shows every signer the same page. Wakes a drain after
    commit; safe when the broker is down.
    """
    if not petition.is_open:
        raise PetitionClosed(petition.slug)
    if petition.signing_paused:
        raise SigningPaused(petition.slug)
    consents = consent_wordings_current()
    now = timezone.now()
    held_because = abuse.blocked_reason(email=email, ip=ip)
    signature = Signature(
        petition=petition,
        first_name=first_name,
        last_name=last_name,
        email=email.strip(),
        email_normalized=email_normalize(email),
        email_domain=email_domain(email),
        country=country,
        postcode=postcode,
        letter_consent=consents[ConsentWording.Kind.LETTER],
        reply_consent=consents[ConsentWording.Kind.REPLY] if wants_reply else None,
        updates_consent=consents[ConsentWording.Kind.UPDATES] if wants_updates else None,
        comment=comment,
        comment_state=Signature.CommentState.PENDING if comment else Signature.CommentState.NONE,
        ip_hash=abuse.ip_hash(ip),
        flag_reason=held_because,
        flagged_at=now if held_because else None,
        created_at=now,
    )
    entry = None if held_because else outbox_entry(Outbox.Kind.CONFIRMATION_EMAIL, now=now)
    if signature_insert(signature, entry):
        if entry is not None:
            drain_wake_on_commit([entry.pk])
        return SignOutcome(signature=signature, is_new=True)
    with transaction.atomic():
        signature = Signature.objects.select_for_update().get(
            petition=petition, email_normalized=email_normalize(email)
        )
        if (
            signature.state != Signature.State.INVALIDATED
            and not signature.flag_reason
            and signature.repeat_notices_sent < settings.REPEAT_NOTICE_LIMIT
        ):
            Signature.objects.filter(pk=signature.pk).update(repeat_notices_sent=F("repeat_notices_sent") + 1)
            outbox_add(Outbox.Kind.ALREADY_SIGNED_EMAIL, signature=signature, now=now)
    return SignOutcome(signature=signature, is_new=False)


class ConfirmResult:
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    NOT_CONFIRMABLE = "not_confirmable"
    PETITION_CLOSED = "petition_closed"


def signature_confirm(*, public_id):
    """Confirm a pending signature and queue one letter per active recipient.

    Also asks for the thank-you email. Idempotent: confirming again changes
    nothing and queues nothing. Returns (ConfirmResult, signature or None).
    Letters are published after commit; the dispatcher sends any that
    publishing missed.
    """
    with transaction.atomic():
        signature = (
            Signature.objects.select_for_update().select_related("petition").filter(public_id=public_id).first()
        )
        if signature is None or signature.state == Signature.State.INVALIDATED:
            return ConfirmResult.NOT_CONFIRMABLE, signature
        if signature.state == Signature.State.PENDING and signature.flag_reason:
            # Held for review: no link was sent; one comes if a moderator approves.
            return ConfirmResult.NOT_CONFIRMABLE, signature
        if signature.state == Signature.State.CONFIRMED:
            return ConfirmResult.ALREADY_CONFIRMED, signature
        if not signature.petition.is_open:
            return ConfirmResult.PETITION_CLOSED, signature
        now = timezone.now()
        signature.state = Signature.State.CONFIRMED
        signature.confirmed_at = now
        signature.save(update_fields=["state", "confirmed_at"])
        letters = Letter.objects.bulk_create(_letters_for(signature, now))
        letter_ids = [letter.pk for letter in letters]
        transaction.on_commit(lambda: _letters_publish(letter_ids))
        outbox_add(Outbox.Kind.THANKS_EMAIL, signature=signature, now=now)
    return ConfirmResult.CONFIRMED, signature


def _letters_for(signature, now):
    petition = signature.petition
    body = emails.letter_text(
        petition, signer_name=signature.full_name, signer_country=signature.country.name
    )
    reply_to = signature.email if signature.allows_reply else settings.CAMPAIGN_REPLY_TO
    return [
        Letter(
            signature=signature,
            target=target,
            subject=petition.letter_subject,
            body=body,
            from_name=signature.full_name,
            reply_to=reply_to,
            created_at=now,
            next_attempt_at=now,
            enqueued_at=now,
        )
        for target in petition.targets.filter(is_active=True).order_by("pk")
    ]


def _letters_publish(letter_ids):
    """Hand letters to the broker in batches of at most LETTER_BATCH per task."""
    from petitions.tasks import letters_send

    if not letter_ids:
        return
    batches = [letter_ids[start:start + LETTER_BATCH] for start in range(0, len(letter_ids), LETTER_BATCH)]
    try:
        publish(letters_send, [(batch,) for batch in batches])
    except BrokerError as error:
        logger.warning("Broker unavailable, %d letters left for the dispatcher: %s", len(letter_ids), error)
        Letter.objects.filter(pk__in=letter_ids).update(enqueued_at=None)


def letters_dispatch(*, now=None):
    """Hand to the broker the queued letters each recipient's hourly cap allows now.

    Also returns letters stuck in 'sending' (their worker died) to the queue.
    A letter handed over recently is not handed over again until its lease
    runs out. Returns the number of letters handed over.
    """
    now = now or timezone.now()
    stale = Letter.objects.filter(state=Letter.State.SENDING, send_started_at__lt=now - LETTER_SEND_LEASE)
    # A letter whose worker keeps dying while sending it (it crashes the
    # process, say) stops being retried, and staff see why.
    stale.filter(attempts__gte=MAX_ATTEMPTS).update(
        state=Letter.State.FAILED, send_started_at=None,
        last_error=f"Worker lost while sending, {MAX_ATTEMPTS} times; given up.",
    )
    stale.update(state=Letter.State.QUEUED, enqueued_at=None, last_error="Worker lost while sending; queued again.")
    handed_over = 0
    for target in Target.objects.filter(is_active=True, bounce_held_since__isnull=True):
        room = target.hourly_cap - Letter.objects.sent_to_in_last_hour(target, now)[: target.hourly_cap].count()
        if room <= 0:
            continue
        due = list(
            Letter.objects.filter(target=target, state=Letter.State.QUEUED, next_attempt_at__lte=now)
            .exclude(signature__petition__letters_paused=True)
            .exclude(enqueued_at__gte=now - OUTBOX_LEASE)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:room]
        )
        if due:
            Letter.objects.filter(pk__in=due).update(enqueued_at=now)
            # One recipient's letters per batch: the batch then takes one row lock.
            _letters_publish(due)
            handed_over += len(due)
    return handed_over


def letter_send(*, letter_id):
    """Send one queued letter (see letters_send); return its new state, or None."""
    return letters_send(letter_ids=[letter_id]).get(letter_id)


def letters_send(*, letter_ids):
    """Send queued letters, each once, within their recipients' hourly caps.

    The letters are claimed (state 'sending') in one short transaction that
    holds each recipient's row lock while its cap is checked, so concurrent
    workers cannot overshoot a cap; a letter another worker has locked is left
    to it. Each claimed letter then goes to the ESP in its own call, outside
    any transaction, with its own idempotency key. After a transient failure,
    or once half the 'sending' lease has gone, the batch's unsent letters go
    back to the queue for the dispatcher. Returns {letter id: new state} for
    the letters it changed (a letter left as it was is absent).
    """
    outcome, claimed = _letters_claim(letter_ids, timezone.now())
    started = time.monotonic()
    for position, letter in enumerate(claimed):
        if time.monotonic() - started > LETTER_SEND_LEASE.total_seconds() / 2:
            _letters_release(claimed[position:])
            break
        try:
            message_id = deliver(emails.letter_email(letter), idempotency_key=letter.idempotency_key)
        except DeliveryFailure as failure:
            outcome[letter.pk] = _letter_failure_record(letter, failure)
            if failure.transient:
                # The ESP is struggling: the rest go back to the dispatcher
                # unattempted rather than meet the same answer now.
                _letters_release(claimed[position + 1:])
                break
            continue
        except Exception as error:
            # Not a failure we know (a bug, a bad setting): retrying blindly would
            # hide it, so the letter fails where staff see the reason, and can be
            # retried once it is fixed. The task still fails loudly.
            _letter_failure_record(letter, DeliveryFailure(f"Unexpected error: {error!r}"[:500], transient=False))
            _letters_release(claimed[position + 1:])
            raise
        Letter.objects.filter(pk=letter.pk, state=Letter.State.SENDING).update(
            state=Letter.State.SENT, sent_at=timezone.now(), esp_message_id=message_id, last_error=""
        )
        outcome[letter.pk] = Letter.State.SENT
    return outcome


def _letters_claim(letter_ids, now):
    """Claim the sendable letters among letter_ids; return ({id: state}, claimed letters)."""
    outcome, claimed = {}, []
    with transaction.atomic():
        letters = list(
            Letter.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("signature__petition")
            .filter(pk__in=letter_ids, state=Letter.State.QUEUED, next_attempt_at__lte=now)
            .order_by("pk")
        )
        by_target = {}
        for letter in letters:
            if letter.signature.petition.letters_paused:
                _letters_unhand([letter.pk])
            elif letter.signature.state != Signature.State.CONFIRMED:
                Letter.objects.filter(pk=letter.pk).update(
                    state=Letter.State.CANCELLED, last_error="Signature no longer confirmed."
                )
                outcome[letter.pk] = Letter.State.CANCELLED
            else:
                by_target.setdefault(letter.target_id, []).append(letter)
        for target in Target.objects.select_for_update().filter(pk__in=by_target).order_by("pk"):
            waiting = by_target[target.pk]
            if not target.is_active or target.bounce_held_since is not None:
                # Held: stays queued, and the dispatcher hands it over once staff
                # reactivate the recipient or clear its bounce hold.
                _letters_unhand([letter.pk for letter in waiting])
                continue
            room = target.hourly_cap - Letter.objects.sent_to_in_last_hour(target, now)[: target.hourly_cap].count()
            sending, over_cap = waiting[: max(room, 0)], waiting[max(room, 0):]
            # Over the cap: left queued for the dispatcher, which hands them
            # over again once the hour's window has room.
            _letters_unhand([letter.pk for letter in over_cap])
            Letter.objects.filter(pk__in=[letter.pk for letter in sending]).update(
                state=Letter.State.SENDING, send_started_at=now, attempts=F("attempts") + 1
            )
            for letter in sending:
                letter.target = target
                letter.state = Letter.State.SENDING
                letter.attempts += 1
            claimed.extend(sending)
    return outcome, claimed


def _letters_unhand(letter_ids):
    """Leave queued letters for the dispatcher to hand over again."""
    if letter_ids:
        Letter.objects.filter(pk__in=letter_ids).update(enqueued_at=None)


def _letters_release(letters):
    """Put claimed letters that were not sent back in the queue, their attempt not counted."""
    if letters:
        Letter.objects.filter(pk__in=[letter.pk for letter in letters], state=Letter.State.SENDING).update(
            state=Letter.State.QUEUED, send_started_at=None, enqueued_at=None, attempts=F("attempts") - 1
        )


def _letter_failure_record(letter, failure):
    now = timezone.now()
    if failure.transient and letter.attempts < MAX_ATTEMPTS:
        # send_started_at is cleared so a letter that was not sent does not
        # count against the recipient's cap.
        Letter.objects.filter(pk=letter.pk, state=Letter.State.SENDING).update(
            state=Letter.State.QUEUED,
            send_started_at=None,
            enqueued_at=None,
            next_attempt_at=now + backoff(letter.attempts, failure.retry_after),
            last_error=failure.reason,
        )
        logger.info("Letter %s: transient failure, retrying later: %s", letter.pk, failure.reason)
        return Letter.State.QUEUED
    Letter.objects.filter(pk=letter.pk, state=Letter.State.SENDING).update(
        state=Letter.State.FAILED, send_started_at=None, last_error=failure.reason
    )
    logger.warning("Letter %s failed: %s", letter.pk, failure.reason)
    return Letter.State.FAILED


def letters_retry(*, letter_ids):
    """Queue failed letters again from their first attempt; publish them after
    commit (the dispatcher covers a missed publish). Returns how many."""
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
        transaction.on_commit(lambda: _letters_publish(failed))
    return len(failed)


def petition_save(*, petition):
    """Save staff's edits to a petition, noting when it closed (for anonymisation)."""
    if not petition.is_open and petition.closed_at is None:
        petition.closed_at = timezone.now()
    elif petition.is_open:
        petition.closed_at = None
    with transaction.atomic():
        petition.save()
    return petition


def petition_seed_load():
    """Create the campaign's petition, its recipients and the consent wordings.

    Idempotent and conservative: what already exists is left exactly as staff
    may have edited it. Returns the petition and whether it was created.
    """
    from petitions.content import libya
    from petitions.models import BackgroundFact, Demand, Petition

    from petitions.abuse import DEFAULT_LIMITS
    from petitions.models import RateLimit

    with transaction.atomic():
        if not RateLimit.objects.exists():
            RateLimit.objects.bulk_create(RateLimit(**limit) for limit in DEFAULT_LIMITS)
        for kind, text in libya.CONSENTS.items():
            if not ConsentWording.objects.filter(kind=kind).exists():
                ConsentWording.objects.create(kind=kind, version=1, text=text)
        petition, created = Petition.objects.get_or_create(slug=libya.SLUG, defaults=libya.PETITION)
        if created:
            Demand.objects.bulk_create(
                Demand(petition=petition, position=index, text=text) for index, text in enumerate(libya.DEMANDS)
            )
            BackgroundFact.objects.bulk_create(
                BackgroundFact(petition=petition, position=index, **fact)
                for index, fact in enumerate(libya.BACKGROUND)
            )
            for details in libya.TARGETS:
                target = Target.objects.filter(name=details["name"]).first() or Target.objects.create(**details)
                petition.targets.add(target)
    return petition, created
