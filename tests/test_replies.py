"""Replies that come back: letters without reply consent carry the
recipient's reply address; the recipient's answer arrives as a real MIME
message through anymail's Resend inbound webhook (signed as Resend signs it;
anymail fetches the raw message from the fake ESP on 127.0.0.1, as from
Resend's API), is matched to the recipient and waits for review; auto-replies
are kept apart; staff approve in the browser, and the response is shown and
sent to the supporters who asked for updates."""

import base64
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.test import Client
from django.urls import reverse
from svix.webhooks import Webhook

from petitions.models import Letter, Mailing, RecipientReply, ReplyAttachment, Signature, Target
from petitions.services import letters as letter_service
from petitions.services import mailings, replies, signing
from petitions.tokens import reply_local_part_make
from tests.conftest import PASSWORD, SIGNER, sign
from tests.test_mailings import supporters_create

pytestmark = pytest.mark.django_db

BASIC = "esp-hook:a-long-webhook-secret"
INBOUND_SECRET = "whsec_" + base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()
REPLY_DOMAIN = "replies.campaign.example.org"
COMMISSION_ADDRESS = "president@european-commission.example"
LIBYA_ADDRESS = "prime-minister@libya-government.example"

FRENCH = (
    "Madame, Monsieur,\n\nLa Commission a bien reçu vos lettres concernant la détention des migrants en Libye. "
    "Nous suivons la situation de près et soulèverons la question lors de la prochaine réunion.\n\n"
    "Veuillez agréer l'expression de nos salutations distinguées.\n\nLe cabinet du Président"
)
ARABIC = (
    "السيدات والسادة،\n\nتلقينا رسائلكم بشأن احتجاز المهاجرين في ليبيا. "
    "سيتم إغلاق مركز تاجوراء ومراجعة أوضاع المحتجزين.\n\nمكتب رئيس الوزراء"
)


@pytest.fixture(autouse=True)
def reply_settings(settings, fake_esp):
    settings.REPLY_DOMAIN = REPLY_DOMAIN
    settings.ANYMAIL = settings.ANYMAIL | {"WEBHOOK_SECRET": BASIC, "RESEND_INBOUND_SECRET": INBOUND_SECRET}


def reply_address(petition, target_name):
    target = Target.objects.get(name=target_name)
    return f"{reply_local_part_make(petition.pk, target.pk)}@{REPLY_DOMAIN}"


def mime(*, sender, to, subject, text, html=None, headers=None, attachments=()):
    """A reply as a mail client writes it (Python's email package)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Fri, 04 Dec 2026 10:42:00 +0100"
    message["Message-ID"] = make_msgid(domain="mail.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def arrives(esp, message, *, event_id=None, basic=BASIC, secret=INBOUND_SECRET):
    """Resend received `message`: its webhook names the email, which anymail fetches from the (fake) API."""
    email_id = esp.inbound_add(message.as_bytes())
    body = json.dumps({
        "type": "email.received",
        "created_at": "2026-12-04T09:42:01.000Z",
        "data": {"email_id": email_id, "from": str(message["From"]), "to": [str(message["To"])],
                 "subject": str(message["Subject"])},
    })
    event_id = event_id or f"msg_{email_id}"
    timestamp = datetime.now(UTC)
    headers = {
        "HTTP_SVIX_ID": event_id,
        "HTTP_SVIX_TIMESTAMP": str(int(timestamp.timestamp())),
        "HTTP_SVIX_SIGNATURE": Webhook(secret).sign(event_id, timestamp, body),
        "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(basic.encode()).decode(),
    }
    return Client().post(reverse("resend_inbound_webhook"), data=body, content_type="application/json", **headers)


def letters_sent(client, petition, **fields):
    sign(client, petition, SIGNER | fields)
    signature = Signature.objects.get(email=SIGNER["email"])
    signing.signature_confirm(public_id=signature.public_id)
    for letter in Letter.objects.filter(state=Letter.State.QUEUED):
        letter_service.letter_send(letter_id=letter.pk)
    return signature


class ReplyAddressTests:
    def test_it_gives_letters_without_reply_consent_a_reply_address_per_recipient(self, client, fake_esp, petition):
        letters_sent(client, petition)
        sent = {m["to"][0].split("<")[1].rstrip(">"): m["reply_to"] for m in fake_esp.messages if "<" in m["to"][0]}
        assert sent == {
            COMMISSION_ADDRESS: [reply_address(petition, "Jean-Claude Juncker")],
            LIBYA_ADDRESS: [reply_address(petition, "Fayez Al-Sarraj")],
        }
        assert len({address for addresses in sent.values() for address in addresses}) == 2

    def test_a_signer_who_asked_to_be_replied_to_keeps_their_own_address(self, client, fake_esp, petition):
        letters_sent(client, petition, reply_consent="on")
        assert {letter.reply_to for letter in Letter.objects.all()} == {SIGNER["email"]}


class InboundReplyTests:
    def test_it_matches_a_french_and_an_arabic_reply_to_their_recipients_and_queues_them(
        self, client, fake_esp, petition
    ):
        letters_sent(client, petition)
        french = mime(
            sender="Cabinet du Président <president@european-commission.example>",
            to=reply_address(petition, "Jean-Claude Juncker"), subject="Re: Libye : détention des migrants",
            text=FRENCH, html="<p>La Commission a bien <b>reçu</b> vos lettres.</p><script>alert(1)</script>"
            '<img src="https://tracker.example/p.gif"><a href="javascript:alert(1)" onclick="x()">lien</a>',
        )
        arabic = mime(
            sender="مكتب رئيس الوزراء <prime-minister@libya-government.example>",
            to=reply_address(petition, "Fayez Al-Sarraj"), subject="رد: احتجاز المهاجرين", text=ARABIC,
        )
        assert arrives(fake_esp, french, event_id="msg_fr").status_code == 200
        assert arrives(fake_esp, arabic).status_code == 200
        # The ESP sends a webhook again when unsure we got it: stored once.
        assert arrives(fake_esp, french, event_id="msg_fr").status_code == 200

        queue = {reply.target.name: reply for reply in RecipientReply.objects.awaiting_review()}
        assert set(queue) == {"Jean-Claude Juncker", "Fayez Al-Sarraj"}
        assert RecipientReply.objects.count() == 2
        fr, ar = queue["Jean-Claude Juncker"], queue["Fayez Al-Sarraj"]
        assert (fr.petition, fr.matched_by, fr.state) == (petition, "address", "pending")
        assert fr.text.strip() == FRENCH and fr.subject == "Re: Libye : détention des migrants"
        assert fr.from_name == "Cabinet du Président" and fr.from_address == COMMISSION_ADDRESS
        assert "<b>reçu</b>" in fr.html_sanitised
        for dangerous in ("<script", "alert(1)", "<img", "tracker.example", "onclick", "javascript:"):
            assert dangerous not in fr.html_sanitised, dangerous
        assert ar.text.strip() == ARABIC and ar.subject == "رد: احتجاز المهاجرين"
        assert ar.from_name == "مكتب رئيس الوزراء"
        assert (ar.petition, ar.matched_by) == (petition, "address")

    def test_it_keeps_out_of_office_and_other_auto_replies_apart(self, client, fake_esp, petition, campaigner):
        letters_sent(client, petition)
        to = reply_address(petition, "Jean-Claude Juncker")
        automatic = [
            mime(sender=COMMISSION_ADDRESS, to=to, subject="Out of Office: Re: Libya", text="Away until 7 December.",
                 headers={"Auto-Submitted": "auto-replied"}),
            mime(sender=COMMISSION_ADDRESS, to=to, subject="Réponse automatique : absent", text="Je suis absent."),
            mime(sender=LIBYA_ADDRESS, to=reply_address(petition, "Fayez Al-Sarraj"), subject="Re: Libya",
                 text="Thank you for your message.", headers={"X-Autoreply": "yes"}),
            mime(sender=LIBYA_ADDRESS, to=to, subject="Re: Libya", text="Bulk notice.",
                 headers={"Precedence": "auto_reply"}),
        ]
        person = mime(sender=COMMISSION_ADDRESS, to=to, subject="Re: Libya", text="We will look into it.",
                      headers={"Auto-Submitted": "no"})
        for message in [*automatic, person]:
            assert arrives(fake_esp, message).status_code == 200

        auto = RecipientReply.objects.filter(kind=RecipientReply.Kind.AUTO_REPLY)
        assert sorted(auto.values_list("auto_reason", flat=True)) == [
            "Auto-Submitted: auto-replied", "Precedence: auto_reply", "Subject: Réponse automatique : absent",
            "X-Autoreply",
        ]
        [queued] = RecipientReply.objects.awaiting_review()
        assert queued.text.strip() == "We will look into it."
        # Staff see them apart: the review queue lists the person's reply only.
        client.force_login(campaigner)
        queue = client.get(reverse("admin:petitions_recipientreply_changelist")).content.decode()
        autos = client.get(reverse("admin:petitions_autoreply_changelist")).content.decode()
        assert "Out of Office" not in queue and "Out of Office" in autos and "4 automatic replies" in autos
        assert "1 reply from a recipient" in queue

    def test_it_keeps_an_attachment_for_staff_and_never_serves_it(self, client, fake_esp, petition, campaigner):
        letters_sent(client, petition)
        pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
        message = mime(
            sender=COMMISSION_ADDRESS, to=reply_address(petition, "Jean-Claude Juncker"), subject="Re: Libya",
            text="Please find our answer attached.", attachments=[("réponse-officielle.pdf", "application/pdf", pdf)],
        )
        assert arrives(fake_esp, message).status_code == 200
        [attachment] = ReplyAttachment.objects.all()
        assert (attachment.filename, attachment.content_type, bytes(attachment.content)) == (
            "réponse-officielle.pdf", "application/pdf", pdf
        )
        reply = RecipientReply.objects.get()
        client.force_login(campaigner)
        review = client.get(reverse("admin:petitions_recipientreply_change", args=[reply.pk])).content.decode()
        assert "réponse-officielle.pdf" in review and f"{len(pdf)} bytes" in review

        replies.reply_approve(reply_id=reply.pk, actor_id=campaigner.pk)
        client.logout()
        for name in ("petitions:detail", "petitions:delivery", "petitions:delivery_json"):
            url = reverse(name, args=[petition.slug])
            page = client.get(url).content.decode()
            assert "Please find our answer attached." in page, url
            assert "réponse-officielle" not in page and "PDF" not in page, url

    def test_it_matches_by_sender_and_never_by_a_made_up_reply_address(self, client, fake_esp, petition):
        letters_sent(client, petition)
        commission = Target.objects.get(name="Jean-Claude Juncker")
        forged = f"reply+{petition.pk}-{commission.pk}-0123456789abcdef0123@{REPLY_DOMAIN}"
        arrives(fake_esp, mime(sender="someone@elsewhere.example", to=forged, subject="Hi", text="Forged.",
                               attachments=[("invoice.zip", "application/zip", b"PK\x03\x04" + b"x" * 100)]))
        arrives(fake_esp, mime(sender=f"Office <{COMMISSION_ADDRESS.upper()}>", to="campaign@campaign.example.org",
                               subject="Re: Libya", text="Written to the campaign directly."))
        forged_reply = RecipientReply.objects.get(text__startswith="Forged")
        assert (forged_reply.target, forged_reply.petition, forged_reply.matched_by) == (None, None, "")
        # Unmatched mail may be anyone's spam: its files are named, not kept.
        [attachment] = forged_reply.attachments.all()
        assert (attachment.filename, attachment.size, bytes(attachment.content)) == ("invoice.zip", 104, b"")
        direct = RecipientReply.objects.get(text__startswith="Written")
        assert (direct.target, direct.petition, direct.matched_by) == (commission, petition, "sender")
        with pytest.raises(replies.ReplyStateError):
            replies.reply_approve(reply_id=forged_reply.pk, actor_id=None)
        assert not Mailing.objects.exists()

    @pytest.mark.parametrize(
        "how", [{"basic": "esp-hook:wrong"}, {"secret": "whsec_" + base64.b64encode(b"y" * 32).decode()}],
        ids=["wrong-basic-auth", "wrong-signature"],
    )
    def test_an_unauthenticated_inbound_call_is_refused_and_stores_nothing(self, fake_esp, petition, how):
        message = mime(sender=COMMISSION_ADDRESS, to=reply_address(petition, "Jean-Claude Juncker"), subject="Re",
                       text="Forged.")
        assert arrives(fake_esp, message, **how).status_code in (400, 401, 403)
        assert not RecipientReply.objects.exists()

    def test_only_staff_who_may_approve_can_and_approving_twice_sends_once(
        self, client, fake_esp, petition, moderator, campaigner
    ):
        letters_sent(client, petition)
        arrives(fake_esp, mime(sender=COMMISSION_ADDRESS, to=reply_address(petition, "Jean-Claude Juncker"),
                               subject="Re: Libya", text="We will act."))
        reply = RecipientReply.objects.get()
        url = reverse("admin:petitions_recipientreply_change", args=[reply.pk])
        client.force_login(moderator)
        assert client.post(url, {"_approve": "1", "excerpt": "", "note": ""}).status_code == 403
        client.force_login(campaigner)
        assert client.post(url, {"_approve": "1", "excerpt": "We will act.", "note": ""}).status_code == 302
        assert client.post(url, {"_approve": "1", "excerpt": "Again", "note": ""}).status_code in (302, 403)
        assert Mailing.objects.count() == 1
        reply.refresh_from_db()
        assert (reply.state, reply.excerpt, reply.decided_by) == ("approved", "We will act.", campaigner)


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class ReplyApprovalBrowserTests:
    def test_staff_approve_a_reply_in_the_browser_and_supporters_receive_it(
        self, browser, client, fake_esp, petition, campaigner, settings
    ):
        from tests.support.processes import WebServer
        from tests.test_delivery_ledger import esp_says
        from tests.test_mailing_admin_browser import screenshot

        letters_sent(client, petition)
        supporters_create(petition, 3)
        supporters_create(petition, 1, updates=False, start=3)
        arrives(fake_esp, mime(
            sender="Cabinet du Président <president@european-commission.example>",
            to=reply_address(petition, "Jean-Claude Juncker"), subject="Re: Libye : détention des migrants",
            text=FRENCH,
        ))
        reply = RecipientReply.objects.get()
        excerpt = "La Commission a bien reçu vos lettres concernant la détention des migrants en Libye."
        fake_esp.reset()

        with WebServer() as site:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{site.url}{reverse('admin:login')}?next={reverse('admin:index')}")
            page.fill("#id_username", "campaigner")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_selector("#user-tools")
            page.goto(site.url + reverse("admin:petitions_recipientreply_changelist"))
            page.click("text=Re: Libye : détention des migrants")
            page.wait_for_selector("input[name=_approve]")
            assert "Nous suivons la situation de près" in page.locator(".reply-text").inner_text()
            page.fill("#id_excerpt", excerpt)
            page.fill("#id_note", "A first answer. We will hold the Commission to it.")
            screenshot(page, "reply-review")
            with page.expect_navigation():
                page.click("input[name=_approve]")
            page.wait_for_selector(".messagelist")
            assert "Approved: the response is on the petition's page" in page.locator(".messagelist").inner_text()

            # The public ledger as anyone sees it, with the response under it.
            for letter in Letter.objects.select_related("target"):
                esp_says("email.delivered", letter, at="2026-12-04T10:42:00.000Z")
            page.goto(site.url + reverse("petitions:delivery", args=[petition.slug]))
            assert page.locator("tr[data-recipient] td[data-field=delivered]").all_inner_texts() == ["1", "1"]
            assert excerpt in page.locator(".responses blockquote").inner_text()
            screenshot(page, "delivery-ledger")
            context.close()

        reply.refresh_from_db()
        assert (reply.state, reply.excerpt, reply.decided_by) == ("approved", excerpt, campaigner)
        mailing = Mailing.objects.get()
        assert (mailing.state, reply.mailing) == (Mailing.State.SENDING, mailing)
        # What a worker does with the update the approval started: one copy per
        # supporter who asked for updates, through the mailing machinery.
        mailings.mailing_send(mailing_id=mailing.pk)
        messages = fake_esp.wait_for(3)
        assert sorted(m["to"][0] for m in messages) == [f"Supporter{n}@Example.org" for n in range(3)]
        assert {m["subject"] for m in messages} == {f"Jean-Claude Juncker has answered: {petition.title}"}
        assert excerpt in messages[0]["text"] and "We will hold the Commission to it." in messages[0]["text"]
        assert "Nous suivons" not in messages[0]["text"]  # the excerpt, not the whole reply

        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        assert excerpt in page and "Jean-Claude Juncker answered on 4 December 2026" in page
        assert "We will hold the Commission to it." in page and "Nous suivons" not in page
        [response] = client.get(reverse("petitions:delivery_json", args=[petition.slug])).json()["responses"]
        assert response == {
            "recipient": {"name": "Jean-Claude Juncker", "title": "President of the European Commission"},
            "received_at": reply.received_at.isoformat(), "text": excerpt,
            "note": "A first answer. We will hold the Commission to it.",
        }
