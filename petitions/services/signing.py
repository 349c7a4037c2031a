"""Signing and confirming: the one write every visitor makes, and the one that
turns a signature into letters."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from petitions import caches
from petitions.addresses import email_canonical, email_domain, email_for_sending
from petitions.fastsql import signature_insert
from petitions.models import ConsentWording, Outbox, Petition, Signature
from petitions.services import screening
from petitions.services.letters import letters_create
from petitions.services.supporter_mail import drain_wake_on_commit, outbox_add, outbox_entry


class PetitionClosed(Exception):
    pass


class SigningPaused(Exception):
    pass


def consent_wordings_current(language: str | None = None) -> dict[str, ConsentWording]:
    """The newest wording of each kind of consent in `language` (the default
    language's where that language has none), keyed by kind; kept per process
    for seconds. A signature records the very wording, and so the language and
    version, it was shown."""
    language = language or settings.LANGUAGE_CODE
    return caches.consent_wordings.get(language, lambda: _consent_wordings_load(language))


def _consent_wordings_load(language: str) -> dict[str, ConsentWording]:
    current: dict[str, ConsentWording] = {}
    for wording in ConsentWording.objects.filter(language=language).order_by("kind", "-version"):
        current.setdefault(wording.kind, wording)
    if language != settings.LANGUAGE_CODE and len(current) < len(ConsentWording.Kind):
        for kind, wording in _consent_wordings_load(settings.LANGUAGE_CODE).items():
            current.setdefault(kind, wording)
    return current


@dataclass(frozen=True)
class Attribution:
    """Where a signature came from, as the sign view read it from the request."""

    source: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    embed_site: str = ""
    referred_by: str = ""

    def as_fields(self) -> dict[str, str]:
        lengths = {"embed_site": 200, "referred_by": 16}
        return {name: str(value)[: lengths.get(name, 100)] for name, value in vars(self).items()}


def referral_code_new() -> str:
    """A short code for a signer's share links: unguessable enough that a
    code cannot be walked to find who signed, and says nothing about them."""
    return secrets.token_urlsafe(9)


@dataclass(frozen=True)
class SignOutcome:
    signature: Signature
    is_new: bool


def signature_create(
    *,
    petition: Petition,
    first_name: str,
    last_name: str,
    email: str,
    country: str,
    postcode: str = "",
    wants_reply: bool = False,
    wants_updates: bool = False,
    comment: str = "",
    language: str | None = None,
    ip: str = "",
    attribution: Attribution | None = None,
) -> SignOutcome:
    """Record a pending signature and ask for its confirmation email.

    A repeat signer (same petition, same mailbox by petitions.addresses)
    changes nothing but gets an already-signed email, at most
    REPEAT_NOTICE_LIMIT times; the request writes the same rows for both
    (petitions.fastsql.signature_insert), so neither its answer nor its
    timing tells whether the address had signed. A signature from a blocklisted source is
    recorded but held for review, and no email is sent; the rate limits are
    applied the same way by the outbox drain before it sends the confirmation
    email (screening.signatures_hold_over_limits). Either way the caller shows
    every signer the same page. `language` is the page's: the consent
    wordings recorded are that language's, and every email to the signer is
    in it. Wakes a drain after commit; safe when the broker is down.
    `attribution` (where the signer came from) is kept as given, cut to its
    columns' lengths; the signature gets a referral code of its own for its
    share links.
    """
    if not petition.accepts_signatures:
        raise PetitionClosed(petition.slug)
    if petition.signing_paused:
        raise SigningPaused(petition.slug)
    language = language or settings.LANGUAGE_CODE
    consents = consent_wordings_current(language)
    now = timezone.now()
    held_because = screening.blocked_reason(email=email, ip=ip)
    canonical = email_canonical(email)
    signature = Signature(
        petition=petition,
        first_name=first_name,
        last_name=last_name,
        email=email_for_sending(email),
        email_normalized=canonical,
        email_domain=email_domain(email),
        country=country,
        postcode=postcode,
        language=language,
        letter_consent=consents[ConsentWording.Kind.LETTER],
        reply_consent=consents[ConsentWording.Kind.REPLY] if wants_reply else None,
        updates_consent=consents[ConsentWording.Kind.UPDATES] if wants_updates else None,
        comment=comment,
        comment_state=Signature.CommentState.PENDING if comment else Signature.CommentState.NONE,
        ip_hash=screening.ip_hash(ip),
        flag_reason=held_because,
        flagged_at=now if held_because else None,
        created_at=now,
        referral_code=referral_code_new(),
        **(attribution or Attribution()).as_fields(),
    )
    entry = outbox_entry(Outbox.Kind.CONFIRMATION_EMAIL, now=now)
    if held_because:
        # Recorded, so the request does what every other does; never sent.
        entry.state, entry.done_at, entry.last_error = Outbox.State.SKIPPED, now, f"Held for review ({held_because})."
    # If this mailbox has signed already, a repeat-signature entry is written
    # instead; the drain resolves it (supporter_mail.repeats_resolve).
    is_new, outbox_id = signature_insert(signature, entry)
    if not is_new or entry.state == Outbox.State.PENDING:
        drain_wake_on_commit([outbox_id])
    return SignOutcome(signature=signature, is_new=is_new)


class ConfirmResult:
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    NOT_CONFIRMABLE = "not_confirmable"
    PETITION_CLOSED = "petition_closed"


def signature_confirm(*, public_id: UUID) -> tuple[str, Signature | None]:
    """Confirm a pending signature and queue one letter per active recipient.

    Also asks for the thank-you email. Idempotent: confirming again changes
    nothing and queues nothing. Returns (ConfirmResult, signature or None).
    Letters are handed over after commit; the dispatcher sends any that
    hand-over missed.
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
        if not signature.petition.accepts_signatures:
            return ConfirmResult.PETITION_CLOSED, signature
        now = timezone.now()
        signature.state = Signature.State.CONFIRMED
        signature.confirmed_at = now
        signature.save(update_fields=["state", "confirmed_at"])
        letters_create(signature=signature, now=now)
        outbox_add(Outbox.Kind.THANKS_EMAIL, signature=signature, now=now)
    return ConfirmResult.CONFIRMED, signature
