"""Signed, expiring tokens for links sent by email.

A token carries the signature's public id and the time it was made, signed with
SECRET_KEY and a purpose-specific salt: it cannot be forged, cannot be turned
into a token for another signature, and stops working after its maximum age.
"""

import uuid

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

CONFIRM_SALT = "petitions.signature.confirm"


class TokenInvalid(Exception):
    pass


class TokenExpired(TokenInvalid):
    pass


class _IssuedAtSigner(signing.TimestampSigner):
    """A timestamp signer whose timestamp is given, not read from the clock.

    An email rendered again for a retry must be byte-identical to the first
    attempt, or the ESP's idempotency check refuses it as a different message
    under the same key. So the token is dated by when the email was asked for.
    """

    def __init__(self, issued_at, **kwargs):
        super().__init__(**kwargs)
        self.issued_at = issued_at

    def timestamp(self):
        return signing.b62_encode(int(self.issued_at.timestamp()))


def confirmation_token_make(signature, issued_at):
    """A token confirming `signature`, valid for CONFIRMATION_MAX_AGE from `issued_at`."""
    return _IssuedAtSigner(issued_at, salt=CONFIRM_SALT).sign(signature.public_id.hex)


def confirmation_token_read(token):
    """Return the signature public id (UUID) the token was made for."""
    try:
        value = signing.TimestampSigner(salt=CONFIRM_SALT).unsign(
            token, max_age=settings.CONFIRMATION_MAX_AGE
        )
    except signing.SignatureExpired as error:
        raise TokenExpired(str(error)) from None
    except signing.BadSignature as error:
        raise TokenInvalid(str(error)) from None
    try:
        return uuid.UUID(hex=value)
    except ValueError:
        raise TokenInvalid("malformed token payload") from None


UNSUBSCRIBE_SALT = "petitions.supporter.unsubscribe"


def unsubscribe_token_make(public_id):
    """A token that unsubscribes the address of the signature `public_id`.

    It never expires: an unsubscribe link must work however old the email is.
    """
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(public_id.hex)


def unsubscribe_token_read(token):
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
        return uuid.UUID(hex=value)
    except (signing.BadSignature, ValueError):
        raise TokenInvalid("bad unsubscribe token") from None


LETTER_STATE_SALT = "petitions.signature.letter_state"


def letter_state_token_make(public_id):
    """A token that shows the signer of `public_id` their own letters' states.

    It never expires (a signer may look again months later), carries no
    timestamp (a thank-you email rendered again is byte-identical), and shows
    nothing but that one signature's letters.
    """
    return signing.Signer(salt=LETTER_STATE_SALT).sign(public_id.hex)


def letter_state_token_read(token):
    try:
        value = signing.Signer(salt=LETTER_STATE_SALT).unsign(token)
        return uuid.UUID(hex=value)
    except (signing.BadSignature, ValueError):
        raise TokenInvalid("bad letter-state token") from None


REPLY_ADDRESS_SALT = "petitions.target.reply_address"
# Lower-case hex: some mail systems change the case of an address's local part.
_REPLY_TAG_LENGTH = 20


def _reply_tag(petition_id, target_id):
    return salted_hmac(REPLY_ADDRESS_SALT, f"{petition_id}-{target_id}").hexdigest()[:_REPLY_TAG_LENGTH]


def reply_local_part_make(petition_id, target_id):
    """The local part of a recipient's reply address for one petition,
    `reply+<petition>-<recipient>-<tag>`: a reply to it names both, and the
    tag (an HMAC under SECRET_KEY) means nobody can make one up."""
    return f"reply+{petition_id}-{target_id}-{_reply_tag(petition_id, target_id)}"


def reply_local_part_read(local_part):
    """Return (petition id, recipient id) of a reply address's local part, or raise TokenInvalid."""
    prefix, _, token = local_part.lower().partition("+")
    parts = token.split("-")
    if prefix != "reply" or len(parts) != 3 or not all(part.isdigit() for part in parts[:2]):
        raise TokenInvalid("not a reply address")
    petition_id, target_id = int(parts[0]), int(parts[1])
    if not constant_time_compare(parts[2], _reply_tag(petition_id, target_id)):
        raise TokenInvalid("bad reply address tag")
    return petition_id, target_id
DIGEST_DOWNLOAD_SALT = "petitions.digest.download"


def digest_download_token_make(digest_id, issued_at):
    """A token for the names in digest `digest_id`, valid for
    DIGEST_DOWNLOAD_MAX_AGE from `issued_at` (the digest's making, so that
    the digest renders the same link every time it is sent)."""
    return _IssuedAtSigner(issued_at, salt=DIGEST_DOWNLOAD_SALT).sign(str(digest_id))


def digest_download_token_read(token):
    """Return the digest id the token was made for."""
    try:
        value = signing.TimestampSigner(salt=DIGEST_DOWNLOAD_SALT).unsign(
            token, max_age=settings.DIGEST_DOWNLOAD_MAX_AGE
        )
    except signing.SignatureExpired as error:
        raise TokenExpired(str(error)) from None
    except signing.BadSignature as error:
        raise TokenInvalid(str(error)) from None
    if not value.isdigit():
        raise TokenInvalid("malformed token payload")
    return int(value)


OWN_MAIL_SALT = "petitions.letter.own-mail"


def own_mail_token_make(public_id):
    """A token that lets the signer of `public_id`, from the page they land on
    after confirming, choose to send their letter from their own mail."""
    return signing.TimestampSigner(salt=OWN_MAIL_SALT).sign(public_id.hex)


def own_mail_token_read(token):
    try:
        value = signing.TimestampSigner(salt=OWN_MAIL_SALT).unsign(token, max_age=settings.OWN_MAIL_CHOICE_MAX_AGE)
        return uuid.UUID(hex=value)
    except signing.SignatureExpired as error:
        raise TokenExpired(str(error)) from None
    except (signing.BadSignature, ValueError):
        raise TokenInvalid("bad own-mail token") from None
