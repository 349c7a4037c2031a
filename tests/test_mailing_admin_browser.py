"""The mailing's admin page as a campaigner uses it: clicking its buttons in
headless Chromium (Debian's package, driven by Playwright) against the
production app server (gunicorn), and the headers that let the preview frame
show the email with its own styles while every other page stays unframeable."""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from petitions.models import Mailing, MailingRecipient, Outbox
from petitions.services import mailings, supporter_mail
from tests.conftest import PASSWORD, staff
from tests.support.processes import WebServer
from tests.test_mailings import supporters_create

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
BODY = "The **Tajoura** centre is closed.\n\n- first\n- second\n\n[Read more](https://example.org/news)"


def mailing_create(petition, campaigner, **fields):
    return Mailing.objects.create(
        petition=petition, subject="News: the centres", body=BODY, created_by=campaigner, **fields
    )


def csp_of(response):
    policy = {}
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        policy[name] = values
    return policy


def screenshot(page, name, *, full_page=True):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)




@pytest.fixture
def site():
    with WebServer() as server:
        yield server


class StaffBrowser:
    """One staff member's browser window, logged in to the admin."""

    def __init__(self, browser, site, username, *, viewport=DESKTOP, phone=False):
        extra = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True} if phone else {}
        self.context = browser.new_context(viewport=viewport, **extra)
        self.page = self.context.new_page()
        self.site = site
        # Every message the browser logs, so that a test can see that the
        # Content-Security-Policy refused nothing on the page or in the frame.
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.goto(f"{site.url}/staff/login/?next=/staff/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("input[type=submit]")
        self.page.wait_for_selector("#user-tools")

    def open(self, mailing):
        self.page.goto(self.site.url + reverse("admin:petitions_mailing_change", args=[mailing.pk]))
        self.page.wait_for_selector("#mailing-progress")
        return self.page

    def click(self, selector):
        """Click as a person does: the button is on the screen, then clicked.

        Playwright scrolls and clicks in one go. The preview is a sandboxed
        frame, which Chromium renders in a process of its own, and a click
        sent straight after a scroll can still be routed by where that frame
        was before the scroll, landing in it instead of on the button.
        """
        button = self.page.locator(selector)
        button.scroll_into_view_if_needed()
        self.page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        button.click()

    def click_and_wait_for_message(self, selector):
        # The page before the click may show a message of its own: wait for the next page.
        with self.page.expect_navigation():
            self.click(selector)
        self.page.wait_for_selector(".messagelist")
        return self.page.locator(".messagelist").inner_text()

    def preview_frame(self):
        frame_element = self.page.locator("iframe.mailing-preview-frame")
        frame_element.wait_for()
        frame = frame_element.element_handle().content_frame()
        frame.wait_for_load_state("load")
        return frame_element, frame

    def close(self):
        self.context.close()


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class MailingAdminBrowserTests:
    def test_it_sends_a_test_copy_when_send_a_test_is_clicked_and_saves_nothing(
        self, site, browser, petition, campaigner, mailoutbox
    ):
        mailing = mailing_create(petition, campaigner)
        window = StaffBrowser(browser, site, "campaigner")
        page = window.open(mailing)
        # An edit left unsaved: the test must not save it (the old nested form did).
        page.fill("#id_subject", "An edit not saved yet")
        message = window.click_and_wait_for_message("input[value^='Send a test to me']")
        assert "A test copy is on its way to campaigner@campaign.example.org." in message
        screenshot(page, "mailing-test-sent")

        [entry] = Outbox.objects.filter(kind=Outbox.Kind.MAILING_TEST)
        assert entry.to_email == "campaigner@campaign.example.org"
        mailing.refresh_from_db()
        assert (mailing.state, mailing.subject, mailing.body) == (Mailing.State.DRAFT, "News: the centres", BODY)
        assert Outbox.objects.count() == 1

        # What a worker does next: the copy goes to the campaigner, marked as a test.
        supporter_mail.outbox_drain()
        [copy] = mailoutbox
        assert copy.to == ["campaigner@campaign.example.org"]
        assert copy.subject == "[Test] News: the centres"
        window.close()

    def test_send_pause_resume_and_cancel_each_do_what_they_say(self, site, browser, petition, campaigner):
        supporters_create(petition, 3)
        mailing = mailing_create(petition, campaigner)
        window = StaffBrowser(browser, site, "campaigner")
        page = window.open(mailing)

        window.click("text=Send to supporters…")
        page.wait_for_selector("text=This update will go to")
        message = window.click_and_wait_for_message("input[value='Yes, send to 3 supporters']")
        assert "Sending to 3 supporter(s)." in message
        assert Mailing.objects.get().state == Mailing.State.SENDING
        assert MailingRecipient.objects.count() == 3
        assert page.locator("progress.mailing-progress-bar").count() == 1

        steps = [
            ("Pause", "Paused after the batches in flight.", Mailing.State.PAUSED),
            ("Resume", "Sending again.", Mailing.State.SENDING),
            ("Cancel this update", "Cancelled: nothing more will be sent.", Mailing.State.CANCELLED),
        ]
        for button, said, state in steps:
            message = window.click_and_wait_for_message(f"#mailing-progress input[value='{button}']")
            assert said in message, button
            assert Mailing.objects.get().state == state, button
            assert page.locator("[data-field=state]").inner_text() == Mailing.State(state).label
        mailing.refresh_from_db()
        assert (mailing.subject, mailing.body) == ("News: the centres", BODY)
        assert set(MailingRecipient.objects.values_list("state", flat=True)) == {MailingRecipient.State.SKIPPED}
        window.close()

    def test_the_preview_shows_the_email_with_its_styles_on_a_desktop_and_on_a_phone(
        self, site, browser, petition, campaigner
    ):
        mailing = mailing_create(petition, campaigner)
        # On a desktop the email's 600 px column and its margins fit without squeezing.
        for name, viewport, phone, min_width in [("desktop", DESKTOP, False, 632), ("phone", PHONE, True, 300)]:
            window = StaffBrowser(browser, site, "campaigner", viewport=viewport, phone=phone)
            page = window.open(mailing)
            frame_element, frame = window.preview_frame()
            frame.wait_for_selector("text=Tajoura")
            assert frame.locator("strong").first.inner_text() == "Tajoura"
            # The email's own inline styles apply inside the frame.
            body_style = frame.evaluate(
                "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).fontFamily]"
            )
            assert body_style[0] == "rgb(244, 244, 244)", name
            assert "Helvetica" in body_style[1], name
            box = frame_element.bounding_box()
            assert box["width"] > min_width and box["height"] > 300, (name, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (name, box)
            refused = [text for text in window.console if "Content Security Policy" in text]
            assert not refused, (name, refused)
            frame_element.scroll_into_view_if_needed()
            screenshot(page, f"mailing-preview-{name}", full_page=False)
            window.close()

    def test_a_draft_shows_no_progress_bar(self, site, browser, petition, campaigner):
        mailing = mailing_create(petition, campaigner)
        window = StaffBrowser(browser, site, "campaigner")
        page = window.open(mailing)
        assert page.locator("#mailing-progress progress").count() == 0
        assert "Not sent yet" in page.locator("#mailing-progress").inner_text()
        assert not re.search(r"\b0\s+of\s+0\b", page.locator("#mailing-progress").inner_text())
        window.close()

    def test_a_started_mailing_has_no_save_or_delete(self, site, browser, petition, campaigner):
        get_user_model().objects.create_superuser("boss", "boss@campaign.example.org", PASSWORD)
        draft = mailing_create(petition, campaigner)
        now = timezone.now()
        started = {
            state: mailing_create(petition, campaigner, state=state, started_at=now, finished_at=now)
            for state in (Mailing.State.SENDING, Mailing.State.PAUSED, Mailing.State.SENT, Mailing.State.CANCELLED)
        }
        save_buttons = "input[name=_save], input[name=_continue], input[name=_addanother]"
        for username in ("campaigner", "boss"):
            window = StaffBrowser(browser, site, username)
            page = window.open(draft)
            # A draft can be saved, and a superuser can delete it: the checks below can fail.
            assert page.locator("input[name=_save]").count() == 1, username
            assert page.locator(".submit-row a.deletelink").count() == (1 if username == "boss" else 0)
            for state, mailing in started.items():
                page = window.open(mailing)
                assert page.locator(save_buttons).count() == 0, (username, state)
                assert page.locator(".submit-row a.deletelink").count() == 0, (username, state)
                assert page.locator("#id_subject").count() == 0, (username, state)
                assert "News: the centres" in page.locator(".field-subject").inner_text()
            screenshot(page, f"mailing-read-only-{username}")
            window.close()


@pytest.mark.django_db
class MailingPreviewHeaderTests:
    @pytest.fixture
    def staff_client(self, client, campaigner):
        client.force_login(campaigner)
        return client

    @pytest.fixture
    def mailing(self, petition, campaigner):
        return mailing_create(petition, campaigner)

    def test_the_preview_carries_its_own_policy_and_may_be_framed_by_the_site_only(self, staff_client, mailing):
        response = staff_client.get(reverse("admin:petitions_mailing_preview", args=[mailing.pk]))
        assert response.status_code == 200
        assert response["Content-Type"] == "text/html; charset=utf-8"
        policy = csp_of(response)
        assert policy["default-src"] == ["'none'"]
        assert policy["style-src"] == ["'unsafe-inline'"]
        assert policy["img-src"] == ["https:", "data:"]
        assert policy["frame-ancestors"] == ["'self'"]
        assert policy["sandbox"] == []
        assert "script-src" not in policy
        assert response["X-Frame-Options"] == "SAMEORIGIN"
        html = response.content.decode()
        assert "<strong>Tajoura</strong>" in html and 'style="margin:0;padding:0;background:#f4f4f4;' in html

    def test_the_change_page_itself_still_may_not_be_framed(self, staff_client, mailing):
        response = staff_client.get(reverse("admin:petitions_mailing_change", args=[mailing.pk]))
        assert response.status_code == 200
        policy = csp_of(response)
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["default-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
        assert response["X-Frame-Options"] == "DENY"
        page = response.content.decode()
        preview_url = reverse("admin:petitions_mailing_preview", args=[mailing.pk])
        assert f'<iframe sandbox src="{preview_url}"' in page and "srcdoc" not in page

    def test_the_preview_is_for_staff_who_may_see_mailings(self, client, mailing):
        url = reverse("admin:petitions_mailing_preview", args=[mailing.pk])
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
        assert csp_of(anonymous)["frame-ancestors"] == ["'none'"] and anonymous["X-Frame-Options"] == "DENY"
        client.force_login(staff("moderator", role="Moderator"))
        assert client.get(url).status_code == 403

    def test_a_started_mailing_cannot_be_changed_or_deleted_by_a_request(self, client, superuser, mailing):
        Mailing.objects.filter(pk=mailing.pk).update(state=Mailing.State.SENT, started_at=timezone.now())
        client.force_login(superuser)
        change = reverse("admin:petitions_mailing_change", args=[mailing.pk])
        edited = {"petition": mailing.petition_id, "subject": "Rewritten", "body": "Rewritten", "_save": "Save"}
        assert client.post(change, edited).status_code == 403
        delete = reverse("admin:petitions_mailing_delete", args=[mailing.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
        mailing.refresh_from_db()
        assert (mailing.state, mailing.subject) == (Mailing.State.SENT, "News: the centres")

    def test_the_sending_box_shows_a_progress_bar_only_once_there_are_copies_to_count(
        self, staff_client, petition, mailing
    ):
        def sending_box(of):
            page = staff_client.get(reverse("admin:petitions_mailing_change", args=[of.pk])).content.decode()
            return page[page.index('id="mailing-progress"'):]

        assert "<progress" not in sending_box(mailing) and "Not sent yet" in sending_box(mailing)
        supporters_create(petition, 2)
        mailings.mailing_start(mailing_id=mailing.pk)
        box = sending_box(mailing)
        assert "<progress" in box and '<strong data-field="total">2</strong>' in box

        never_started = mailing_create(petition, None)
        mailings.mailing_cancel(mailing_id=never_started.pk)
        box = sending_box(never_started)
        assert "<progress" not in box and "Cancelled before sending" in box
