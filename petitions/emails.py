"""Builds every message the service sends. Nothing here sends anything.

Each message renders its subject, text body and HTML body from
`templates/emails/<name>-subject.txt`, `-body.txt` and `-body.html`. Nothing a
signer typed goes into a header except through Django's address formatting
(which quotes and encodes display names) or after `_header_safe`.
"""

from email.headerregistry import Address

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from petitions.tokens import confirmation_token_make


def _header_safe(text):
    """Fold a value onto one line: header injection needs a line break."""
    return " ".join(str(text).split())


def _compose(name, context, *, to, from_email=None, reply_to=None, headers=None):
    subject = _header_safe(render_to_string(f"emails/{name}-subject.txt", context))
    text_body = render_to_string(f"emails/{name}-body.txt", context)
    html_body = render_to_string(f"emails/{name}-body.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text_body,
        from_email=from_email or _campaign_from(),
        to=to,
        reply_to=reply_to or [settings.CAMPAIGN_REPLY_TO],
        headers=headers or {},
    )
    message.attach_alternative(html_body, "text/html")
    return message


def _campaign_from():
    return str(Address(display_name=settings.CAMPAIGN_NAME, addr_spec=settings.DEFAULT_FROM_EMAIL))


def _absolute(path):
    return f"{settings.SITE_URL}{path}"


def confirm_url(signature, issued_at):
    return _absolute(reverse("petitions:confirm", args=[confirmation_token_make(signature, issued_at)]))


def _supporter_context(signature):
    return {
        "signature": signature,
        "petition": signature.petition,
        "campaign_name": settings.CAMPAIGN_NAME,
        "petition_url": _absolute(reverse("petitions:detail", args=[signature.petition.slug])),
        "privacy_url": _absolute(reverse("petitions:privacy")),
        "confirm_days": settings.CONFIRMATION_MAX_AGE.days,
    }


def confirmation_email(signature, *, issued_at):
    """Asks a new signer to confirm; the link leads to a page with a button.

    The link is dated `issued_at`, so rendering it again gives the same bytes.
    """
    context = _supporter_context(signature) | {"confirm_url": confirm_url(signature, issued_at)}
    return _compose("confirmation", context, to=[signature.email])


def already_signed_email(signature, *, issued_at):
    """Tells a repeat signer they had signed; gives a fresh link if still pending."""
    context = _supporter_context(signature) | {
        "is_pending": signature.state == signature.State.PENDING,
        "confirm_url": confirm_url(signature, issued_at),
    }
    return _compose("already-signed", context, to=[signature.email])


def letter_text(petition, *, signer_name, signer_country):
    """The letter exactly as it will be sent: the petition's words, then the signer's."""
    return render_to_string(
        "emails/letter-body.txt",
        {"petition": petition, "signer_name": signer_name, "signer_country": signer_country},
    )


def letter_email(letter):
    """The letter to one recipient, From our domain in the signer's name."""
    from_address = Address(display_name=_header_safe(letter.from_name), addr_spec=settings.LETTER_FROM_EMAIL)
    message = EmailMultiAlternatives(
        subject=_header_safe(letter.subject),
        body=letter.body,
        from_email=str(from_address),
        to=[str(Address(display_name=_header_safe(letter.target.name), addr_spec=letter.target.email))],
        reply_to=[letter.reply_to],
    )
    message.attach_alternative(render_to_string("emails/letter-body.html", {"letter": letter}), "text/html")
    return message
