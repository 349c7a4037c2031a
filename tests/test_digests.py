"""A recipient who takes a daily digest instead of a flood of letters: what
arrives in their inbox (through anymail's real Resend backend and the fake
ESP on 127.0.0.1), when, how often, and the download of names it links to."""

import csv
import io
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from petitions.models import Digest, Letter, Signature, Target
from petitions.services import digests, letters, moderation, signing
from petitions.tokens import digest_download_token_make
from tests.conftest import sign

pytestmark = pytest.mark.django_db

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"

SIGNERS = [
    ("Camille", "Martin", "camille.martin@example.org", "FR", "Nobody should be sold."),
    ("Julien", "Bernard", "julien.bernard@example.org", "FR", ""),
    ("Amira", "Haddad", "amira.haddad@example.org", "TN", "My cousin was held in Tripoli for a year."),
]


@pytest.fixture
def digest_recipient(petition):
    """The petition's first recipient, taking a daily digest in Brussels time,
    whose digest time today passed a minute ago; letters are released at once."""
    petition.letter_release_minutes = 0
    petition.save()
    target = petition.targets.order_by("pk").first()
    target.delivery_mode = Target.DeliveryMode.DIGEST
    target.time_zone = "Europe/Brussels"
    target.digest_time = _local_time_in(target, seconds=-60)
    target.save()
    return target


def _local_time_in(target, *, seconds):
    return (timezone.now() + timedelta(seconds=seconds)).astimezone(target.zone).time().replace(microsecond=0)


def _sign_and_confirm(client, petition, first_name, last_name, email, country, comment=""):
    data = {"first_name": first_name, "last_name": last_name, "email": email, "country": country,
            "postcode": "", "letter_consent": "on", "comment": comment}
    assert sign(client, petition, data).status_code == 302
    signature = Signature.objects.get(email=email)
    signing.signature_confirm(public_id=signature.public_id)
    return signature


def _comments_approve(moderator):
    pending = list(Signature.objects.filter(comment_state=Signature.CommentState.PENDING).values_list("pk", flat=True))
    moderation.comments_decide(signature_ids=pending, actor=moderator, approve=True)


def _digest_time_comes(target):
    """Move the recipient's digest time to two seconds from now, and wait for it."""
    due = (timezone.now() + timedelta(seconds=2)).replace(microsecond=0)
    target.digest_time = due.astimezone(target.zone).time()
    target.save()
    while timezone.now() < due:
        time.sleep(0.1)


def _send_due_digests():
    """What a worker does with the tasks the dispatcher handed over."""
    ids = list(Digest.objects.filter(state=Digest.State.QUEUED).values_list("pk", flat=True))
    return digests.digests_send(digest_ids=ids)


def _digests_in(inbox, target):
    return [message for message in inbox.messages if target.email in " ".join(message["to"])
            and "new letter" in message["subject"]]


class DigestsTests:
    def test_it_sends_one_digest_at_the_recipients_time_with_the_count_countries_and_comments(
        self, client, fake_esp, petition, digest_recipient, moderator
    ):
        for signer in SIGNERS:
            _sign_and_confirm(client, petition, *signer)
        _comments_approve(moderator)
        # The letters wait for the digest: the service sends none of them on its own.
        assert set(Letter.objects.filter(target=digest_recipient).values_list("state", flat=True)) == {
            Letter.State.DIGEST_ONLY
        }
        letters.letters_send(letter_ids=list(Letter.objects.values_list("pk", flat=True)))
        assert len(fake_esp.messages) == len(SIGNERS)  # to the other recipient only
        assert not _digests_in(fake_esp, digest_recipient)
        # Letters after today's digest time wait for the next one: no digest yet.
        assert digests.digests_dispatch() == 0 and not Digest.objects.exists()
        _digest_time_comes(digest_recipient)
        digests.digests_dispatch()
        assert _send_due_digests() == {Digest.objects.get().pk: Digest.State.SENT}

        [digest_message] = _digests_in(fake_esp, digest_recipient)
        assert len(digest_message["to"]) == 1 and digest_recipient.email in digest_message["to"][0]
        assert digest_message["subject"] == f"3 new letters: {petition.title}"
        text = digest_message["text"]
        assert "3 people have written to you" in text and "3 letters in total." in text
        assert "- France: 2\n- Tunisia: 1" in text
        assert '"Nobody should be sold."\n— Camille, France' in text
        assert "Julien" not in text  # no comment, not quoted
        assert "France" in digest_message["html"] and "Nobody should be sold." in digest_message["html"]
        digest = Digest.objects.get()
        assert digest_message["idempotency_key"] == f"digest-{digest_recipient.pk}-{digest.period.isoformat()}"
        # The ledger records each letter as counted in that digest.
        assert Letter.objects.filter(target=digest_recipient, digest=digest).count() == 3

        # The dispatcher runs every minute: nothing more today, however often.
        for _ in range(3):
            digests.digests_dispatch()
            _send_due_digests()
        assert len(_digests_in(fake_esp, digest_recipient)) == 1 and Digest.objects.count() == 1

    def test_the_next_digest_counts_only_the_letters_since_the_last(
        self, client, fake_esp, petition, digest_recipient
    ):
        for signer in SIGNERS[:2]:
            _sign_and_confirm(client, petition, *signer)
        _digest_time_comes(digest_recipient)
        first = digests.digest_create(target=digest_recipient, now=timezone.now())
        assert first is not None
        _sign_and_confirm(client, petition, *SIGNERS[2])
        # A letter after today's digest time waits for tomorrow's.
        assert digests.digest_create(target=digest_recipient, now=timezone.now()) is None
        tomorrow = timezone.now() + timedelta(days=1)
        second = digests.digest_create(target=digest_recipient, now=tomorrow)
        assert second is not None and second.period == first.period + timedelta(days=1)
        assert (first.letters_count, first.total_count) == (2, 2)
        assert (second.letters_count, second.total_count, second.by_country) == (1, 3, [["TN", 1]])

    def test_a_recipient_taking_both_gets_each_letter_and_the_digest_counting_them(
        self, client, fake_esp, petition, digest_recipient
    ):
        digest_recipient.delivery_mode = Target.DeliveryMode.BOTH
        digest_recipient.save()
        signature = _sign_and_confirm(client, petition, *SIGNERS[0])
        [letter] = Letter.objects.filter(target=digest_recipient)
        assert letters.letter_send(letter_id=letter.pk) == Letter.State.SENT
        _digest_time_comes(digest_recipient)
        digests.digests_dispatch()
        _send_due_digests()
        to_recipient = [m for m in fake_esp.messages if digest_recipient.email in " ".join(m["to"])]
        assert [m["subject"] for m in to_recipient] == [petition.letter_subject, f"1 new letter: {petition.title}"]
        letter.refresh_from_db()
        assert letter.state == Letter.State.SENT and letter.digest == Digest.objects.get()
        assert signature.full_name in to_recipient[0]["text"]

    def test_letters_waiting_for_a_digest_still_get_one_after_the_recipient_switches_back(
        self, client, fake_esp, petition, digest_recipient
    ):
        _sign_and_confirm(client, petition, *SIGNERS[0])
        digest_recipient.delivery_mode = Target.DeliveryMode.EACH
        digest_recipient.save()
        _digest_time_comes(digest_recipient)
        digests.digests_dispatch()
        _send_due_digests()
        [message] = _digests_in(fake_esp, digest_recipient)
        assert message["subject"] == f"1 new letter: {petition.title}"
        assert Letter.objects.get(target=digest_recipient).digest is not None

    def test_letters_queued_before_a_switch_to_the_digest_wait_for_it(
        self, client, fake_esp, petition, digest_recipient
    ):
        digest_recipient.delivery_mode = Target.DeliveryMode.EACH
        digest_recipient.save()
        _sign_and_confirm(client, petition, *SIGNERS[0])
        [letter] = Letter.objects.filter(target=digest_recipient)
        assert letter.state == Letter.State.QUEUED
        digest_recipient.delivery_mode = Target.DeliveryMode.DIGEST
        digest_recipient.save()
        assert letters.letters_send(letter_ids=[letter.pk]) == {letter.pk: Letter.State.DIGEST_ONLY}
        assert not [m for m in fake_esp.messages if digest_recipient.email in " ".join(m["to"])]
        _digest_time_comes(digest_recipient)
        digests.digests_dispatch()
        _send_due_digests()
        [message] = _digests_in(fake_esp, digest_recipient)
        assert message["subject"] == f"1 new letter: {petition.title}"

    def test_the_digests_link_downloads_names_and_countries_only(
        self, client, fake_esp, petition, digest_recipient
    ):
        for signer in SIGNERS:
            _sign_and_confirm(client, petition, *signer)
        _digest_time_comes(digest_recipient)
        digests.digests_dispatch()
        _send_due_digests()
        [message] = _digests_in(fake_esp, digest_recipient)
        link = next(word for word in message["text"].split() if "/digests/" in word)
        response = client.get(urlsplit(link).path)
        assert response.status_code == 200 and response["Content-Type"] == "text/csv"
        body = b"".join(response.streaming_content).decode()
        assert list(csv.reader(io.StringIO(body))) == [
            ["Name", "Country"],
            ["Camille Martin", "France"],
            ["Julien Bernard", "France"],
            ["Amira Haddad", "Tunisia"],
        ]
        assert "@" not in body

    def test_an_expired_or_altered_download_link_gives_nothing(self, client, fake_esp, petition, digest_recipient):
        _sign_and_confirm(client, petition, *SIGNERS[0])
        _digest_time_comes(digest_recipient)
        digest = digests.digest_create(target=digest_recipient, now=timezone.now())
        old = digest_download_token_make(digest.pk, timezone.now() - timedelta(days=31))
        expired = client.get(reverse("petitions:digest_download", args=[old]))
        assert expired.status_code == 410 and "Camille" not in expired.content.decode()
        valid = digest_download_token_make(digest.pk, timezone.now())
        altered = valid.replace(f"{digest.pk}:", f"{digest.pk + 1}:", 1)
        assert client.get(reverse("petitions:digest_download", args=[altered])).status_code == 400

    def test_a_digest_retried_after_a_transient_failure_is_the_same_message_under_the_same_key(
        self, client, fake_esp, petition, digest_recipient
    ):
        _sign_and_confirm(client, petition, *SIGNERS[0])
        _digest_time_comes(digest_recipient)
        digest = digests.digest_create(target=digest_recipient, now=timezone.now())
        fake_esp.fail_next(1, status=503)
        assert digests.digests_send(digest_ids=[digest.pk]) == {digest.pk: Digest.State.QUEUED}
        Digest.objects.filter(pk=digest.pk).update(next_attempt_at=timezone.now())
        assert digests.digests_send(digest_ids=[digest.pk]) == {digest.pk: Digest.State.SENT}
        # And once more, as a worker that died before recording it would: the ESP drops it.
        Digest.objects.filter(pk=digest.pk).update(state=Digest.State.QUEUED, next_attempt_at=timezone.now())
        digests.digests_send(digest_ids=[digest.pk])
        assert len(_digests_in(fake_esp, digest_recipient)) == 1 and fake_esp.duplicates_suppressed == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
class DigestEmailBrowserTests:
    def test_the_digest_reads_well_in_a_mail_client(
        self, client, fake_esp, petition, digest_recipient, moderator, browser
    ):
        for signer in SIGNERS:
            _sign_and_confirm(client, petition, *signer)
        _comments_approve(moderator)
        _digest_time_comes(digest_recipient)
        digests.digests_dispatch()
        _send_due_digests()
        [message] = _digests_in(fake_esp, digest_recipient)
        page = browser.new_page(viewport={"width": 600, "height": 900})
        page.set_content(message["html"])
        text = page.locator("body").inner_text()
        assert "3 people have written to you" in text and "Download the names and countries" in text
        assert "Nobody should be sold." in text and "Camille, France" in text
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "digest-email.png"), full_page=True)
        page.close()


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class RecipientSettingsBrowserTests:
    def test_a_campaigner_sets_a_recipient_to_a_digest_in_office_hours_for_france(self, browser, campaigner):
        from petitions.services.content import petition_seed_load
        from tests.conftest import PASSWORD
        from tests.support.processes import WebServer

        petition, _ = petition_seed_load()
        target = petition.targets.order_by("pk").first()
        with WebServer() as site:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.goto(site.url + reverse("admin:login"))
            page.fill("#id_username", campaigner.username)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_selector("#user-tools")
            page.goto(site.url + reverse("admin:petitions_target_change", args=[target.pk]))
            page.select_option("#id_delivery_mode", "digest")
            page.fill("#id_digest_time", "09:30")
            page.fill("#id_time_zone", "Europe/Brussels")
            page.fill("#id_sending_weekdays", "01234")
            page.fill("#id_window_start", "08:00")
            page.fill("#id_window_end", "18:00")
            page.select_option("#id_countries", ["FR"])
            page.click("input[name=_save]")
            page.wait_for_selector(".messagelist")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "recipient-delivery-settings.png"))
            # A time zone that does not exist is refused, naming it.
            page.goto(site.url + reverse("admin:petitions_target_change", args=[target.pk]))
            page.fill("#id_time_zone", "Europe/Atlantis")
            page.click("input[name=_save]")
            assert "Not a known time zone: Europe/Atlantis" in page.locator(".errorlist").inner_text()
            page.close()
        target.refresh_from_db()
        assert (target.delivery_mode, str(target.digest_time), target.time_zone) == (
            Target.DeliveryMode.DIGEST, "09:30:00", "Europe/Brussels"
        )
        assert (target.sending_weekdays, str(target.window_start), str(target.window_end)) == (
            "01234", "08:00:00", "18:00:00"
        )
        assert [country.code for country in target.countries] == ["FR"]
