"""A person signing on a phone, in headless Chromium (Debian's package, driven
by Playwright), against the production app server (gunicorn, with its static
files), a real Celery worker and the fake ESP."""

import time
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse

from petitions.models import Letter, Signature
from petitions.services.content import petition_seed_load
from tests.support.fake_esp import FakeESP
from tests.support.processes import CeleryWorker, WebServer, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
PHONE = {"width": 360, "height": 740}
PAGE_CACHE_SECONDS = 2





@pytest.fixture
def site():
    # Each web process keeps the petition page for PAGE_CACHE_SECONDS; a short
    # one lets a test see a change reach the public page without a long wait.
    with WebServer(extra_env={"PAGE_CACHE_SECONDS": str(PAGE_CACHE_SECONDS)}) as server:
        yield server


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def fits_the_screen(page):
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


class BrowserTests:
    def test_a_person_signs_on_a_phone_fixes_a_mistake_confirms_and_the_letters_go(self, site, phone):
        petition, _ = petition_seed_load()
        with FakeESP(api_key="test-key") as esp, CeleryWorker(esp.url, extra_env={"SITE_URL": site.url}):
            phone.goto(f"{site.url}/")
            phone.click(f"a[href='{reverse('petitions:detail', args=[petition.slug])}']")
            assert phone.locator("h1").inner_text() == petition.title
            assert phone.locator("link[rel=stylesheet]").count() == 1
            assert phone.evaluate("getComputedStyle(document.querySelector('.hp')).position") == "absolute"
            assert fits_the_screen(phone)
            screenshot(phone, "petition-phone")

            phone.fill("#id_first_name", "Zoë")
            phone.fill("#id_last_name", "O'Brien")
            phone.fill("#id_email", "zoe@example")  # a typo: no top-level domain
            phone.select_option("#id_country", "IE")
            phone.check("#id_letter_consent")
            phone.click("button[type=submit]")

            error = phone.locator("#id_email_error")
            assert "valid email address" in error.inner_text()
            assert phone.input_value("#id_first_name") == "Zoë"
            assert phone.input_value("#id_last_name") == "O'Brien"
            assert phone.input_value("#id_country") == "IE"
            assert phone.is_checked("#id_letter_consent")
            assert fits_the_screen(phone)
            screenshot(phone, "petition-phone-error")

            phone.fill("#id_email", "zoe@example.org")
            phone.click("button[type=submit]")
            assert "check your email" in phone.locator("h1").inner_text()
            assert Signature.objects.get().state == Signature.State.PENDING

            [confirmation] = esp.wait_for(1, timeout=30)
            link = next(word for word in confirmation["text"].split() if "/confirm/" in word)
            assert link.startswith(site.url)
            phone.goto(link)
            phone.click("text=Confirm my signature")
            assert "your signature is confirmed" in phone.locator("h1").inner_text()
            screenshot(phone, "confirmed-phone")

            esp.wait_for(4, timeout=30)
            wait_until(lambda: Letter.objects.filter(state=Letter.State.SENT).count() == 2, message="letters sent")
            letters = [m for m in esp.messages if m["subject"] == petition.letter_subject]
            assert len(letters) == 2
            assert all(m["text"].rstrip().endswith("Zoë O'Brien\nIreland") for m in letters)

    def test_the_page_works_without_javascript(self, site, browser):
        petition, _ = petition_seed_load()
        context = browser.new_context(viewport=PHONE, java_script_enabled=False)
        page = context.new_page()
        page.goto(site.url + reverse("petitions:detail", args=[petition.slug]))
        page.fill("#id_first_name", "Ana")
        page.fill("#id_last_name", "Silva")
        page.fill("#id_email", "ana@example.org")
        page.select_option("#id_country", "PT")
        page.check("#id_letter_consent")
        page.click("button[type=submit]")
        assert "check your email" in page.locator("h1").inner_text()
        assert Signature.objects.get().email == "ana@example.org"
        context.close()


class ModeratorBrowserTests:
    def test_a_moderator_invalidates_flagged_signatures_that_never_counted(self, site, browser):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group, Permission

        from petitions.roles import roles_ensure
        from petitions.selectors import counts
        from petitions.services import moderation
        from tests.test_mailings import supporters_create

        petition, _ = petition_seed_load()
        supporters_create(petition, 3)
        supporters_create(petition, 12, start=100)
        bots = [f"supporter{n}@example.org" for n in range(100, 112)]
        Signature.objects.filter(email_normalized__in=bots).update(email_domain="bots.example")
        Signature.objects.filter(email_domain="").update(email_domain="example.org")
        assert moderation.blocklist_add(kind="domain", value="bots.example")[1] == 12
        counts.counts_reconcile()

        roles_ensure(Group, Permission)
        moderator = get_user_model().objects.create_user(
            "mod", "mod@campaign.example.org", "correct horse battery staple", is_staff=True
        )
        moderator.groups.add(Group.objects.get(name="Moderator"))

        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{site.url}/p/{petition.slug}/")
        assert page.locator("[data-count]").inner_text() == "3"  # held for review: not counted

        page.goto(f"{site.url}/staff/")
        page.fill("#id_username", "mod")
        page.fill("#id_password", "correct horse battery staple")
        page.click("input[type=submit]")
        page.wait_for_selector("text=Flagged signatures (review queue)")
        page.click("text=Flagged signatures (review queue)")
        page.wait_for_selector("#result_list")
        screenshot(page, "moderator-queue")
        assert page.locator("#result_list tbody tr").count() == 12
        page.check("#action-toggle")
        page.select_option("select[name=action]", "invalidate")
        page.fill("input[name=reason]", "bot wave from bots.example")
        page.click("button[name=index]")
        page.wait_for_selector(".messagelist")
        assert "12 signature(s) invalidated." in page.locator(".messagelist").inner_text()
        screenshot(page, "moderator-invalidated")

        counts.counts_reconcile()  # what beat does every 30 seconds
        page.goto(f"{site.url}/p/{petition.slug}/")
        # Invalidated, they still do not count, in any web process.
        time.sleep(PAGE_CACHE_SECONDS + 0.5)
        for _ in range(4):  # two gunicorn workers, each with its own copy
            page.goto(f"{site.url}/p/{petition.slug}/")
            assert page.locator("[data-count]").inner_text() == "3"
        decision = Signature.objects.filter(state="invalidated").first().last_decision
        recorded = (decision.actor.username, decision.signature_count, decision.reason)
        assert recorded == ("mod", 12, "bot wave from bots.example")
        connections.close_all()
