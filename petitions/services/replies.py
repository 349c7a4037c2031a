"""Replies from the recipients: mail that comes back through the ESP's inbound
webhook, matched to the recipient it answers, kept for staff to review, and,
once approved, shown as the recipient's response and sent to the supporters
who asked for updates as a campaign update (petitions.services.mailings).

A letter whose signer did not ask to be replied to carries the recipient's
reply address of the campaign (services.letters.letter_reply_to). Auto-replies
(out of office and the like) are recognised and kept apart from the queue.
Nothing that arrives is trusted: the HTML is cleaned with nh3 and only ever
shown to staff, attachments are stored but never served publicly.
"""

from __future__ import annotations

import hashlib
import logging
import re
from email.message import Message
from email.utils import getaddresses

import nh3
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from petitions import caches, emails
from petitions.models import Letter, Mailing, MailingTranslation, Petition, RecipientReply, ReplyAttachment, Target
from petitions.services import mailings
from petitions.tokens import TokenInvalid, reply_local_part_read

logger = logging.getLogger(__name__)

# Larger attachments are recorded by name and size only.
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
_TEXT_MAX = 100_000
_HTML_TAGS = {"p", "br", "div", "span", "strong", "b", "em", "i", "u", "ul", "ol", "li", "blockquote", "a", "hr"}

# Subjects of automatic replies in the languages recipients write in.
_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|autoreply|auto:|"
    r"absence|abwesenheit|réponse automatique|reponse automatique|absent\b|"
    r"رد تلقائي|رد آلي|خارج المكتب)",
    re.IGNORECASE,
)
_AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk", "list"}


class ReplyStateError(Exception):
    pass


def auto_reply_reason(message: Message) -> str:
    """Why `message` looks like an automatic reply (RFC 3834 and the headers
    mail systems actually set), or "" for a reply by a person."""
    auto_submitted = str(message.get("Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"[:200]
    for header in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if message.get(header):
            return header
    precedence = str(message.get("Precedence") or "").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    subject = " ".join(str(message.get("Subject") or "").split())
    if _AUTO_SUBJECT.search(subject):
        return f"Subject: {subject}"[:200]
    return ""


def _addresses(message: Message) -> list[str]:
    """Every address the message was delivered to, envelope first."""
    found = [str(getattr(message, "envelope_recipient", None) or "")]
    for header in ("Delivered-To", "X-Original-To", "To", "Cc"):
        for value in message.get_all(header) or []:
            found += [address for _name, address in _parse_addresses(str(value))]
    return [address.strip() for address in found if address and "@" in address]


def _parse_addresses(value: str) -> list[tuple[str, str]]:
    return getaddresses([value])


def reply_match(message: Message) -> tuple[Petition | None, Target | None, str, str]:
    """(petition, recipient, how it was matched, the reply address) of an inbound message.

    By the reply address first: its tag proves we made it for that recipient
    and petition. Otherwise by the sender, if it is a recipient's address
    (a recipient writing from their own mailbox), with the petition of the
    last letter they were sent."""
    for address in _addresses(message):
        local_part, _, domain = address.rpartition("@")
        if not settings.REPLY_DOMAIN or domain.lower() != settings.REPLY_DOMAIN:
            continue
        try:
            petition_id, target_id = reply_local_part_read(local_part)
        except TokenInvalid:
            continue
        target = Target.objects.filter(pk=target_id, petitions__pk=petition_id).first()
        if target is not None:
            return Petition.objects.get(pk=petition_id), target, RecipientReply.MatchedBy.ADDRESS, address
    sender = _sender(message)[0]
    target = Target.objects.filter(email__iexact=sender).order_by("pk").first() if sender else None
    if target is not None:
        last = Letter.objects.filter(target=target).order_by("-created_at").values("signature__petition_id").first()
        petition = Petition.objects.filter(pk=last["signature__petition_id"]).first() if last else None
        return petition, target, RecipientReply.MatchedBy.SENDER, ""
    return None, None, RecipientReply.MatchedBy.NONE, ""


def _sender(message: Message) -> tuple[str, str]:
    parsed = _parse_addresses(str(message.get("From") or ""))
    if not parsed:
        return "", ""
    name, address = parsed[0]
    return address.strip()[:254], " ".join(name.split())[:200]


def _bodies(message: Message) -> tuple[str, str]:
    """(plain text, cleaned HTML) of the message; text made from the HTML if it has none."""
    text = getattr(message, "text", None) or ""
    html = getattr(message, "html", None) or ""
    cleaned = ""
    if html:
        cleaned = nh3.clean(html, tags=_HTML_TAGS, attributes={"a": {"href"}}, link_rel="noopener noreferrer")
    if not text.strip() and html:
        text = nh3.clean(html.replace("</p>", "</p>\n\n").replace("<br", "\n<br"), tags=set())
    return text[:_TEXT_MAX], cleaned[:_TEXT_MAX]


def reply_receive(*, message: Message | None, event_id: str | None, esp_name: str = "") -> str:
    """Store one inbound email as a recipient's reply, once.

    Matched to its recipient (reply_match); an auto-reply is stored as such,
    outside the review queue. A repeated webhook for the same mail (same
    event id, or without one the same Message-ID) stores nothing more.
    Nothing is sent. Returns what was done, for the log.
    """
    if message is None:
        return "ignored (no message)"
    raw_id = str(message.get("Message-ID") or "").strip()
    key = event_id or raw_id or hashlib.sha256(message.as_bytes()).hexdigest()
    petition, target, matched_by, to_address = reply_match(message)
    reason = auto_reply_reason(message)
    text, html = _bodies(message)
    from_address, from_name = _sender(message)
    try:
        with transaction.atomic():
            reply = RecipientReply.objects.create(
                event_id=f"{esp_name}:{key}"[:200],
                petition=petition,
                target=target,
                matched_by=matched_by,
                kind=RecipientReply.Kind.AUTO_REPLY if reason else RecipientReply.Kind.REPLY,
                auto_reason=reason,
                from_address=from_address,
                from_name=from_name,
                to_address=to_address[:254],
                subject=" ".join(str(message.get("Subject") or "").split())[:300],
                text=text,
                html_sanitised=html,
                message_id=raw_id[:300],
            )
            # Mail that matched no recipient may be anyone's spam: its files are not kept.
            _attachments_store(reply, message, keep_content=target is not None)
    except IntegrityError:
        return "replay"
    return f"stored {reply.kind}" + (f" from {target.name}" if target else " (unmatched)")


def _attachments_store(reply: RecipientReply, message: Message, *, keep_content: bool) -> None:
    for part in getattr(message, "attachments", None) or []:
        content = part.get_content_bytes() or b""
        ReplyAttachment.objects.create(
            reply=reply,
            filename=str(part.get_filename() or "")[:255],
            content_type=part.get_content_type()[:100],
            size=len(content),
            content=content if keep_content and len(content) <= ATTACHMENT_MAX_BYTES else b"",
        )


def reply_approve(
    *, reply_id: int, actor_id: int | None, excerpt: str = "", note: str = "",
    petition_id: int | None = None, target_id: int | None = None,
) -> Mailing:
    """Approve a pending reply: it becomes the recipient's public response on
    the petition page and in the API, and goes to the petition's supporters
    who asked for updates as a campaign update, started here (the mailing
    machinery snapshots the audience and sends after commit, each copy once).

    Staff may name the petition and recipient of a reply that matched none.
    One transaction; approving twice (a double click) raises ReplyStateError
    and sends nothing more. Returns the mailing.
    """
    with transaction.atomic():
        reply = RecipientReply.objects.select_for_update().get(pk=reply_id)
        if reply.state != RecipientReply.State.PENDING or reply.kind != RecipientReply.Kind.REPLY:
            raise ReplyStateError(
                f"This reply is {reply.get_state_display().lower()}; only a pending reply can be approved."
            )
        reply.petition_id = petition_id or reply.petition_id
        reply.target_id = target_id or reply.target_id
        if reply.petition_id is None or reply.target_id is None:
            raise ReplyStateError("Choose the petition and the recipient this reply answers first.")
        reply.excerpt, reply.note = excerpt.strip(), note.strip()
        reply.state, reply.decided_by_id, reply.decided_at = RecipientReply.State.APPROVED, actor_id, timezone.now()
        # The update in every language, the recipient's words quoted as they
        # wrote them: each supporter gets it in theirs.
        original = reply.petition.language
        with translation.override(original):
            subject, body = emails.reply_mailing_text(reply)
        mailing = Mailing.objects.create(
            petition_id=reply.petition_id, language=original, subject=subject, body=body, created_by_id=actor_id
        )
        for language, _name in settings.LANGUAGES:
            if language != original:
                with translation.override(language):
                    subject, body = emails.reply_mailing_text(reply)
                MailingTranslation.objects.create(mailing=mailing, language=language, subject=subject, body=body)
        reply.mailing = mailing
        reply.save(update_fields=[
            "petition", "target", "excerpt", "note", "state", "decided_by", "decided_at", "mailing",
        ])
        mailings.mailing_start(mailing_id=mailing.pk)
        # The petition page shows the response: this process's copy is stale now.
        transaction.on_commit(caches.pages_forget)
    return mailing


def reply_reject(*, reply_id: int, actor_id: int | None, note: str = "") -> bool:
    """Keep a pending reply off the public page; nothing is sent. Returns False if it was not pending."""
    with transaction.atomic():
        changed = RecipientReply.objects.filter(pk=reply_id, state=RecipientReply.State.PENDING).update(
            state=RecipientReply.State.REJECTED, note=note.strip(), decided_by_id=actor_id, decided_at=timezone.now()
        )
    return bool(changed)
