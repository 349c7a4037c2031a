"""A supporter who sends the letter from their own mail client: the page after
confirming offers a mailto: link with the recipients, subject and letter
filled in, and the service then sends no copy; the ledger counts those
letters apart, as sent by the supporter."""

import html
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from petitions.models import Letter, Signature, Target
from petitions.services import letters
from petitions.tokens import confirmation_token_make, own_mail_token_make
from tests.conftest import FROM_THE_PETITION_PAGE, sign

pytestmark = pytest.mark.django_db


def _confirm(client, petition, signer):
    """Sign and press the confirm button; return the page the signer lands on."""
    sign(client, petition, signer)
    signature = Signature.objects.get(email=signer["email"])
    token = confirmation_token_make(signature, timezone.now())
    return client.post(reverse("petitions:confirm", args=[token]), follow=True)


def _choose_own_mail(client, petition, page):
    token = re.search(r'name="letter" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(
        reverse("petitions:own_mail", args=[petition.slug]), {"letter": token}, headers=FROM_THE_PETITION_PAGE
    )


def _mailto(page):
    found = re.search(r'href="(mailto:[^"]+)" data-own-mail-link', page.content.decode())
    return html.unescape(found.group(1)) if found else None


def _send_everything_due():
    letters.letters_dispatch()
    return letters.letters_send(letter_ids=list(Letter.objects.values_list("pk", flat=True)))


class OwnMailTests:
    def test_a_supporter_sends_the_letter_themselves_and_the_service_sends_none(
        self, client, fake_esp, petition, signer
    ):
        petition.letter_release_minutes = 0
        petition.save()
        page = _confirm(client, petition, signer)
        assert "I will send it from my own email" in page.content.decode()
        assert _mailto(page) is None  # offered, not yet chosen

        chosen = _choose_own_mail(client, petition, page)
        assert chosen.status_code == 200
        assert "We will not send our copy of your letter" in chosen.content.decode()
        link = urlsplit(_mailto(chosen))
        recipients = sorted(unquote(link.path).split(","))
        assert recipients == sorted(petition.targets.filter(is_active=True).values_list("email", flat=True))
        fields = parse_qs(link.query)
        letter = Letter.objects.first()
        assert fields["subject"] == [letter.subject] and fields["body"] == [letter.body]
        assert fields["body"][0].rstrip().endswith("Amira Haddad\nTunisia")

        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.BY_SUPPORTER}
        assert _send_everything_due() == {}
        assert fake_esp.messages == []

    def test_a_recipient_taking_only_supporters_own_mail_gets_no_letter_from_the_service(
        self, client, fake_esp, petition, signer
    ):
        petition.letter_release_minutes = 0
        petition.save()
        own_only, other = petition.targets.order_by("pk")[:2]
        Target.objects.filter(pk=own_only.pk).update(own_mail_only=True)
        page = _confirm(client, petition, signer)
        # The supporter is given that recipient's letter to send, without asking.
        link = urlsplit(_mailto(page))
        assert unquote(link.path) == own_only.email
        _send_everything_due()
        [letter_sent] = fake_esp.messages
        assert other.email in letter_sent["to"][0] and own_only.email not in " ".join(letter_sent["to"])
        states = dict(Letter.objects.values_list("target", "state"))
        assert states == {own_only.pk: Letter.State.BY_SUPPORTER, other.pk: Letter.State.SENT}

    def test_letters_queued_before_a_recipient_took_own_mail_only_are_held_not_sent(
        self, client, fake_esp, petition, signer
    ):
        petition.letter_release_minutes = 0
        petition.save()
        _confirm(client, petition, signer)
        Target.objects.update(own_mail_only=True)
        assert _send_everything_due() == {}
        assert fake_esp.messages == []
        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.QUEUED}

    def test_once_the_service_has_sent_the_letter_it_is_too_late_to_choose(
        self, client, fake_esp, petition, signer
    ):
        petition.letter_release_minutes = 0
        petition.save()
        page = _confirm(client, petition, signer)
        _send_everything_due()
        sent = len(fake_esp.messages)
        chosen = _choose_own_mail(client, petition, page)
        assert _mailto(chosen) is None and "I will send it from my own email" not in chosen.content.decode()
        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.SENT}
        assert sent == len(fake_esp.messages) == petition.targets.filter(is_active=True).count()

    def test_a_forged_token_changes_nothing(self, client, petition, signer):
        _confirm(client, petition, signer)
        signature = Signature.objects.get()
        forged = own_mail_token_make(signature.public_id)[:-2] + "xx"
        response = client.post(
            reverse("petitions:own_mail", args=[petition.slug]), {"letter": forged}, headers=FROM_THE_PETITION_PAGE
        )
        assert response.status_code == 400
        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.QUEUED}

    def test_a_choice_posted_from_another_site_is_refused(self, client, petition, signer):
        page = _confirm(client, petition, signer)
        token = re.search(r'name="letter" value="([^"]+)"', page.content.decode()).group(1)
        response = client.post(
            reverse("petitions:own_mail", args=[petition.slug]), {"letter": token},
            headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        )
        assert response.status_code == 403
        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.QUEUED}


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class OwnMailBrowserTests:
    def test_a_supporter_chooses_their_own_mail_in_the_browser_and_gets_the_letter_to_send(self, browser):
        from petitions.services.content import petition_seed_load
        from tests.support.processes import WebServer

        petition, _ = petition_seed_load()
        with WebServer() as site:
            page = browser.new_page()
            page.goto(site.url + reverse("petitions:detail", args=[petition.slug]))
            page.fill("#id_first_name", "Zoë")
            page.fill("#id_last_name", "O'Brien")
            page.fill("#id_email", "zoe@example.org")
            page.select_option("#id_country", "IE")
            page.check("#id_letter_consent")
            page.click("button[type=submit]")
            signature = Signature.objects.get()
            token = confirmation_token_make(signature, timezone.now())
            page.goto(site.url + reverse("petitions:confirm", args=[token]))
            page.click("text=Confirm my signature")
            page.click("text=I will send it from my own email")
            assert "We will not send our copy" in page.locator("#own-mail").inner_text()
            link = urlsplit(page.get_attribute("[data-own-mail-link]", "href"))
            assert sorted(unquote(link.path).split(",")) == sorted(
                petition.targets.filter(is_active=True).values_list("email", flat=True)
            )
            assert parse_qs(link.query)["body"][0].rstrip().endswith("Zoë O'Brien\nIreland")
            page.close()
        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.BY_SUPPORTER}
