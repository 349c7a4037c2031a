"""Work for the fault-injection tests, written straight to the database, and the
arithmetic of "exactly once" over what the fake ESP accepted.

The rows are the ones the services write (pending signatures with their
confirmation outbox entry, confirmed signatures with one queued letter per
recipient), left unpublished so that beat's sweeps hand them to the broker:
creating hundreds through the web would only slow the tests down.
"""

from collections import Counter
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.utils import timezone

from petitions import emails
from petitions.models import Letter, Outbox, Signature, Target
from petitions.services import signing


def recipients_uncapped():
    """Lift the recipients' hourly caps, which would otherwise spread a large
    run over hours: the tests are about faults, not about the cap."""
    Target.objects.update(hourly_cap=1_000_000)


def _signatures(petition, count, *, prefix, state, start=0):
    consents = signing.consent_wordings_current()
    now = timezone.now()
    signatures = [
        Signature(
            petition=petition,
            first_name=f"{prefix.title()}{index}",
            last_name="Tester",
            email=f"{prefix}{index}@example.org",
            email_normalized=f"{prefix}{index}@example.org",
            country="TN",
            letter_consent=consents["letter"],
            state=state,
            confirmed_at=now if state == Signature.State.CONFIRMED else None,
            created_at=now,
        )
        for index in range(start, start + count)
    ]
    Signature.objects.bulk_create(signatures)
    return list(Signature.objects.filter(email_normalized__in=[s.email_normalized for s in signatures]))


def pending_signatures(petition, count, *, prefix="pending"):
    """Signatures waiting for their confirmation email, which nothing has published yet."""
    signatures = _signatures(petition, count, prefix=prefix, state=Signature.State.PENDING)
    now = timezone.now()
    Outbox.objects.bulk_create(
        Outbox(kind=Outbox.Kind.CONFIRMATION_EMAIL, signature=signature, created_at=now, next_attempt_at=now)
        for signature in signatures
    )
    return signatures


def queued_letters(petition, signatures_count, *, prefix="signer"):
    """Confirmed signatures with one queued, never-published letter per active recipient."""
    signatures = _signatures(petition, signatures_count, prefix=prefix, state=Signature.State.CONFIRMED)
    targets = list(petition.targets.filter(is_active=True).order_by("pk"))
    now = timezone.now()
    letters = []
    for signature in signatures:
        body = emails.letter_text(petition, signer_name=signature.full_name, signer_country=signature.country.name)
        letters += [
            Letter(
                signature=signature, target=target, subject=petition.letter_subject, body=body,
                from_name=signature.full_name, reply_to=settings.CAMPAIGN_REPLY_TO,
                created_at=now, next_attempt_at=now, enqueued_at=None,
            )
            for target in targets
        ]
    Letter.objects.bulk_create(letters)
    return Letter.objects.filter(signature__in=signatures).count()


@dataclass
class Tally:
    """How many distinct things the ESP accepted, and how many extra copies."""

    delivered: int
    duplicates: int
    duplicated: list


def tally(messages, identity):
    """Count accepted messages by `identity(message)`: one copy each is delivery, more is duplication."""
    copies = Counter(identity(message) for message in messages)
    duplicated = [key for key, count in copies.items() if count > 1]
    return Tally(len(copies), sum(count - 1 for count in copies.values()), duplicated)


def is_letter(message):
    return settings.LETTER_FROM_EMAIL in message["from"]


def is_confirmation(message):
    return message["subject"].startswith("Please confirm your signature")


def letter_identity(message):
    """A letter is one signer (the From display name) to one recipient; this
    holds without an idempotency key, so copies sent without one are counted too."""
    return (parseaddr(message["from"]), tuple(parseaddr(address) for address in message["to"]))


def letter_identity_of_row(letter):
    """`letter_identity` of the message a Letter row becomes."""
    message = emails.letter_email(letter)
    return (parseaddr(message.from_email), tuple(parseaddr(address) for address in message.to))
