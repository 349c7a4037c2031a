"""Builds every message the service sends. Nothing here sends anything.

Each message renders its subject, text body and HTML body from
`templates/emails/<name>-subject.txt`, `-body.txt` and `-body.html`. Nothing a
signer typed goes into a header except through Django's address formatting
(which quotes and encodes display names) or after `_header_safe`.
"""

import functools
import re
import unicodedata
import uuid
from email.headerregistry import Address

import markdown
import nh3
from anymail.utils import parse_address_list
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django_countries import countries as country_names

from petitions.selectors.texts import petition_texts
from petitions.tokens import (
    confirmation_token_make,
    digest_download_token_make,
    letter_state_token_make,
    unsubscribe_token_make,
)

# ASCII whitespace and Unicode's line breaks; not the no-break spaces that
# French puts before a colon, which are part of the text.
_HEADER_BREAKS = re.compile(r"[\s\x85\u2028\u2029]+", re.ASCII)


def _header_safe(text):
    """Fold a value onto one line: header injection needs a line break."""
    return _HEADER_BREAKS.sub(" ", str(text)).strip()


def _display_name_safe(name):
    """A signer's name as a From display name: one line, no invisible or
    bidirectional controls, nothing a mail client could decode into other
    headers (an RFC 2047 encoded word) or read as an address. The form refuses
    such names; this holds for names stored before it did."""
    # Control characters become spaces (folded below); invisible ones go.
    spaced = (" " if unicodedata.category(char) == "Cc" else char for char in str(name))
    visible = (char for char in spaced if unicodedata.category(char) != "Cf" or char in "\u200c\u200d")
    name = "".join(char for char in visible if char not in "<>@")
    return _header_safe(name.replace("=?", "= ?").replace("?=", "? ="))


def _unsubscribe_headers(url):
    # RFC 8058: mail clients show an unsubscribe button and POST to the URL.
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _compose(name, context, *, to, from_email=None, reply_to=None, headers=None):
    headers = dict(headers or {})
    if context.get("unsubscribe_url"):
        headers |= _unsubscribe_headers(context["unsubscribe_url"])
    subject = _header_safe(render_to_string(f"emails/{name}-subject.txt", context))
    text_body = render_to_string(f"emails/{name}-body.txt", context)
    html_body = render_to_string(f"emails/{name}-body.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text_body,
        from_email=from_email or _campaign_from(),
        to=to,
        reply_to=reply_to or [settings.CAMPAIGN_REPLY_TO],
        headers=headers,
    )
    message.attach_alternative(html_body, "text/html")
    return message


def _campaign_from():
    return str(Address(display_name=settings.CAMPAIGN_NAME, addr_spec=settings.DEFAULT_FROM_EMAIL))


def _absolute(path):
    return f"{settings.SITE_URL}{path}"


def confirm_url(signature, issued_at):
    return _absolute(reverse("petitions:confirm", args=[confirmation_token_make(signature, issued_at)]))


def unsubscribe_url(public_id):
    return _absolute(reverse("petitions:unsubscribe", args=[unsubscribe_token_make(public_id)]))


def letter_state_url(public_id):
    """The signer's own page of their letters' states (signed, never expires)."""
    return _absolute(reverse("petitions:letter_state", args=[letter_state_token_make(public_id)]))


def _supporter_context(signature):
    return {
        "texts": petition_texts(signature.petition, signature.language),
        "unsubscribe_url": unsubscribe_url(signature.public_id),
        "signature": signature,
        "petition": signature.petition,
        "campaign_name": settings.CAMPAIGN_NAME,
        "petition_url": _absolute(reverse("petitions:detail", args=[signature.petition.slug])),
        "privacy_url": _absolute(reverse("petitions:privacy")),
        "confirm_days": settings.CONFIRMATION_MAX_AGE.days,
    }


def _in_signer_language(build):
    """Build the message in the language of the signature (the first
    argument, or the first entry's): subject, bodies, links and country names."""

    @functools.wraps(build)
    def built(first, *args, **kwargs):
        signature = first[0][0] if isinstance(first, list) else first
        with translation.override(signature.language):
            return build(first, *args, **kwargs)

    return built


@_in_signer_language
def confirmation_email(signature, *, issued_at):
    """Asks a new signer to confirm; the link leads to a page with a button.

    The link is dated `issued_at`, so rendering it again gives the same bytes.
    """
    context = _supporter_context(signature) | {"confirm_url": confirm_url(signature, issued_at)}
    return _compose("confirmation", context, to=[signature.email])


@_in_signer_language
def confirmation_batch_email(entries):
    """The confirmation emails of several new signers of one petition as one
    message, for the ESP's batch sending: `entries` are (signature, issued_at)
    pairs with distinct addresses. Each signer's copy reads exactly as
    confirmation_email writes it: their name, links and List-Unsubscribe
    header are merge data."""
    petition = entries[0][0].petition
    # All entries are in one language: supporter_mail batches by language.
    context = _supporter_context(entries[0][0]) | {
        "signature": {"first_name": merge_field("first_name")},
        "petition": petition,
        "unsubscribe_url": merge_field("unsubscribe_url"),
        "confirm_url": merge_field("confirm_url"),
    }
    message = _compose("confirmation", context, to=[])
    del message.extra_headers["List-Unsubscribe"]
    message.to = [signature.email for signature, _issued_at in entries]
    message.merge_data, message.merge_headers = {}, {}
    for signature, issued_at in entries:
        link = unsubscribe_url(signature.public_id)
        key = batch_recipient(signature.email)
        message.merge_data[key] = {
            "first_name": signature.first_name,
            "confirm_url": confirm_url(signature, issued_at),
            "unsubscribe_url": link,
        }
        message.merge_headers[key] = {"List-Unsubscribe": f"<{link}>"}
    return message


@functools.lru_cache(maxsize=4096)
def batch_recipient(address):
    """The address as anymail keys a batch's merge data and its recipients'
    outcomes by. Kept per process: the drain asks three times per email, and
    anymail's parsing was a fifth of the worker's CPU (py-spy)."""
    return parse_address_list([address])[0].addr_spec


@_in_signer_language
def already_signed_email(signature, *, issued_at):
    """Tells a repeat signer they had signed; gives a fresh link if still pending."""
    context = _supporter_context(signature) | {
        "is_pending": signature.state == signature.State.PENDING,
        "confirm_url": confirm_url(signature, issued_at),
    }
    return _compose("already-signed", context, to=[signature.email])


@_in_signer_language
def thanks_email(signature, *, issued_at):
    """Thanks a signer whose signature is confirmed, with links to share."""
    petition_url = _absolute(reverse("petitions:detail", args=[signature.petition.slug]))
    if signature.referral_code:
        # Signers who follow these links are counted as this supporter's.
        petition_url = f"{petition_url}?ref={signature.referral_code}"
    context = _supporter_context(signature) | {
        "share_links": share_links(signature.petition, petition_url),
        "letter_state_url": letter_state_url(signature.public_id),
    }
    return _compose("thanks", context, to=[signature.email])


@_in_signer_language
def reminder_email(signature, *, issued_at, number):
    """Reminder `number` (from 1) to a signer who has not confirmed, with a link dated `issued_at`."""
    context = _supporter_context(signature) | {
        "confirm_url": confirm_url(signature, issued_at),
        "is_last_reminder": number >= len(settings.REMINDER_SCHEDULE_DAYS),
    }
    return _compose("reminder", context, to=[signature.email])


def share_links(petition, petition_url):
    """Where a supporter can pass the petition on, in the order people use them."""
    from urllib.parse import quote

    title, url = quote(petition_texts(petition, translation.get_language()).title), quote(petition_url, safe="")
    return [
        (gettext("Email"), f"mailto:?subject={title}&body={url}"),
        ("WhatsApp", f"https://wa.me/?text={title}%20{url}"),
        ("X", f"https://x.com/intent/post?text={title}&url={url}"),
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={url}"),
    ]


def merge_field(name):
    """How a per-recipient value is written into a mailing, for the ESP (or, for
    Resend, our backend) to fill in: ESP_MERGE_FIELD with NAME replaced, e.g.
    {{unsubscribe_url}}; Mailgun, for one, wants %recipient.NAME%."""
    return settings.ESP_MERGE_FIELD.replace("NAME", name)


_MARKDOWN_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "h2", "h3", "blockquote", "hr"}


def mailing_body_html(body):
    """The campaigner's Markdown as HTML, with anything but simple formatting removed."""
    rendered = markdown.markdown(body, extensions=["sane_lists"], output_format="html")
    return mark_safe(nh3.clean(rendered, tags=_MARKDOWN_TAGS, attributes={"a": {"href"}}, link_rel="noopener"))


def mailing_in(mailing, language):
    """(language, subject, body) of the mailing for a supporter whose language
    is `language`: its translation there, or the mailing's own."""
    if language != mailing.language:
        for translated in mailing.translations.all():
            if translated.language == language:
                return language, translated.subject, translated.body
    return mailing.language, mailing.subject, mailing.body


def _mailing_context(mailing, unsubscribe, language):
    _language, subject, body = mailing_in(mailing, language)
    return {
        "mailing": mailing,
        "mailing_subject": subject,
        "mailing_body": body,
        "texts": petition_texts(mailing.petition, language),
        "petition": mailing.petition,
        "body_html": mailing_body_html(body),
        "campaign_name": settings.CAMPAIGN_NAME,
        "petition_url": _absolute(reverse("petitions:detail", args=[mailing.petition.slug])),
        "privacy_url": _absolute(reverse("petitions:privacy")),
        "unsubscribe_url": unsubscribe,
    }


def mailing_preview(mailing, language=None):
    """Subject, text and HTML as a supporter would see them in `language`
    (the mailing's own by default), for the admin."""
    language = language or mailing.language
    with translation.override(language):
        context = _mailing_context(mailing, "#unsubscribe-link", language)
        message = _compose("mailing", context, to=["preview@example.invalid"])
    return message.subject, message.body, message.alternatives[0][0]


def mailing_test_email(mailing, *, to_email, language=None):
    """A copy of the mailing for staff, in `language` (the mailing's own by
    default); its unsubscribe link leads nowhere."""
    language = language or mailing.language
    dead_link = unsubscribe_url(uuid.UUID(int=0))
    with translation.override(language):
        message = _compose("mailing", _mailing_context(mailing, dead_link, language), to=[to_email])
    message.subject = _header_safe(f"[Test] {message.subject}")
    return message


def mailing_batch_email(mailing, recipients):
    """One message to many recipients, all of one language, for the ESP's batch sending.

    Each recipient gets their own copy (anymail's `merge_data` turns on the
    ESP's batch mode) with their own unsubscribe link in the body and the
    List-Unsubscribe header.
    """
    language = recipients[0].language
    with translation.override(language):
        context = _mailing_context(mailing, merge_field("unsubscribe_url"), language)
        message = _compose("mailing", context, to=[])
    del message.extra_headers["List-Unsubscribe"]
    message.to = [recipient.email for recipient in recipients]
    links = {recipient.email: unsubscribe_url(recipient.signature.public_id) for recipient in recipients}
    message.merge_data = {email: {"unsubscribe_url": link} for email, link in links.items()}
    message.merge_headers = {email: {"List-Unsubscribe": f"<{link}>"} for email, link in links.items()}
    return message


def mailing_single_email(mailing, recipient):
    """The mailing for one recipient, in their language, for mail backends without batch sending."""
    with translation.override(recipient.language):
        context = _mailing_context(mailing, unsubscribe_url(recipient.signature.public_id), recipient.language)
        return _compose("mailing", context, to=[recipient.email])


def letter_text(petition, *, signer_name, signer_country, language=None):
    """The letter exactly as it will be sent, in `language` (the petition's
    own by default, or where it has no translation): the petition's words,
    then the signer's name as typed and their country named in that language.
    `signer_country` is a django-countries Country (or a plain name)."""
    language = language or petition.language
    with translation.override(language):
        texts = petition_texts(petition, language)
        country = getattr(signer_country, "name", signer_country)
        context = {
            "texts": texts,
            "signer_name": signer_name,
            "signer_country": str(country),
            "letter_direction": _direction(texts.language),
        }
        # A plain str: the text holds the signer's raw name, and a "safe" string
        # would skip escaping if it were ever put into HTML directly.
        return str(render_to_string("emails/letter-body.txt", context))


def _direction(language):
    return "rtl" if translation.get_language_info(language)["bidi"] else "ltr"


def letter_email(letter):
    """The letter to one recipient, From our domain in the signer's name."""
    from_address = Address(display_name=_display_name_safe(letter.from_name), addr_spec=settings.LETTER_FROM_EMAIL)
    message = EmailMultiAlternatives(
        subject=_header_safe(letter.subject),
        body=letter.body,
        from_email=str(from_address),
        to=[str(Address(display_name=_header_safe(letter.target.name), addr_spec=letter.target.email))],
        reply_to=[letter.reply_to],
    )
    language = letter.language or settings.LANGUAGE_CODE
    context = {"letter": letter, "letter_language": language, "letter_direction": _direction(language)}
    message.attach_alternative(render_to_string("emails/letter-body.html", context), "text/html")
    return message


def _markdown_quote(text):
    """Text from outside as a Markdown blockquote. Not escaped, since the plain
    text part shows the Markdown as written and staff have read the words;
    the HTML part is cleaned by nh3 like every mailing (mailing_body_html)."""
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines())


def reply_mailing_text(reply):
    """Subject and Markdown body of the update that takes an approved reply to
    the supporters: who answered, the words staff chose, and the campaign's note."""
    context = {
        "reply": reply,
        "target": reply.target,
        "petition": reply.petition,
        "texts": petition_texts(reply.petition, translation.get_language()),
        "quote": _markdown_quote(reply.quoted_text),
        "note": reply.note,
        "petition_url": _absolute(reverse("petitions:detail", args=[reply.petition.slug])),
    }
    subject = _header_safe(render_to_string("emails/reply-mailing-subject.txt", context))
    body = render_to_string("emails/reply-mailing-body.txt", context).strip()
    return subject[:200], body
def digest_download_url(digest):
    token = digest_download_token_make(digest.pk, digest.created_at)
    return _absolute(reverse("petitions:digest_download", args=[token]))


def digest_email(digest):
    """A recipient's daily digest, in the recipient's letter language: the
    letters since the last one, by country, a few approved comments, and a
    link to the signers' names and countries.

    Rendered only from what the digest row fixed when it was made, so that a
    send repeated after a crash is the same message under the same key."""
    with translation.override(digest.target.letter_language or settings.LANGUAGE_CODE):
        return _digest_email(digest)


def _digest_email(digest):
    expires = digest.created_at + settings.DIGEST_DOWNLOAD_MAX_AGE
    titles = digest.petition_titles or [settings.CAMPAIGN_NAME]
    context = {
        "digest": digest,
        "target": digest.target,
        "title": "; ".join(titles),
        "period_text": date_format(digest.period, "DATE_FORMAT"),
        "expires_text": date_format(expires, "DATE_FORMAT"),
        "countries": [(country_names.name(code) or code, count) for code, count in digest.by_country],
        "comments": [(name, country_names.name(code) or code, text) for name, code, text in digest.comments],
        "download_url": digest_download_url(digest),
        "campaign_name": settings.CAMPAIGN_NAME,
    }
    to = str(Address(display_name=_header_safe(digest.target.name), addr_spec=digest.target.email))
    return _compose("digest", context, to=[to])


def letters_mailto(letters):
    """A mailto: link that opens the signer's own mail client with the letter
    to these letters' recipients: recipients, subject and body filled in,
    as the service would have sent it (in the letter's language)."""
    from urllib.parse import quote

    if not letters:
        return ""
    recipients = ",".join(quote(letter.target.email, safe="@") for letter in letters)
    first = letters[0]
    return f"mailto:{recipients}?subject={quote(first.subject)}&body={quote(first.body)}"
