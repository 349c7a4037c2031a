"""Signing and confirming in French and in Arabic, in headless Chromium, as a
person whose browser asks for that language: the production app server, a
real Celery worker and the fake ESP."""

from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext

from petitions.content import libya_translations
from petitions.models import Letter, Signature, Target
from petitions.services.content import petition_seed_load
from tests.support.fake_esp import FakeESP
from tests.support.processes import CeleryWorker, WebServer, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
BROWSER_LOCALE = {"fr": "fr-FR", "ar": "ar-LY"}
DIRECTION = {"fr": "ltr", "ar": "rtl"}


def _(language, text):
    with translation.override(language):
        return gettext(text)


@pytest.fixture
def site():
    with WebServer(extra_env={"PAGE_CACHE_SECONDS": "2"}) as server:
        yield server


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def overflow(page):
    """How far the page is wider than the screen, in CSS pixels (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth") - PHONE["width"]


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_a_person_signs_and_confirms_in_their_language(site, browser, language):
    petition, _created = petition_seed_load()
    # The President's office reads French letters; the Prime Minister's the petition's own English.
    president = petition.targets.get(name="Jean-Claude Juncker")
    Target.objects.filter(pk=president.pk).update(letter_language="fr")
    texts = libya_translations.TRANSLATIONS[language]
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=BROWSER_LOCALE[language]
    )
    phone = context.new_page()
    with FakeESP(api_key="test-key") as esp, CeleryWorker(esp.url, extra_env={"SITE_URL": site.url}):
        # The bare address sends the browser to its language: the open
        # petitions, each linking to its own address in that language.
        phone.goto(f"{site.url}/")
        assert phone.url == f"{site.url}/{language}/"
        phone.click(f"a[href='/{language}/p/{petition.slug}/']")
        assert phone.url == f"{site.url}/{language}/p/{petition.slug}/"
        assert phone.get_attribute("html", "lang") == language
        assert phone.get_attribute("html", "dir") == DIRECTION[language]
        assert phone.evaluate("getComputedStyle(document.body).direction") == DIRECTION[language]
        assert phone.locator("h1").inner_text() == texts["petition"]["title"]
        assert phone.locator("label[for=id_first_name]").inner_text() == _(language, "First name")
        assert phone.locator("#sign-heading").inner_text() == _(language, "Sign the petition")
        # The count's bar is on the side the text starts from.
        side = "Right" if language == "ar" else "Left"
        assert phone.evaluate(f"getComputedStyle(document.querySelector('.count')).border{side}Width") == "6px"
        assert overflow(phone) <= 0
        screenshot(phone, f"petition-{language}")

        phone.fill("#id_first_name", "Amira")  # a Latin name, on an Arabic page too
        phone.fill("#id_last_name", "حداد" if language == "ar" else "Haddad")
        phone.fill("#id_email", "amira@example")  # no top-level domain
        phone.select_option("#id_country", "TN")
        phone.check("#id_letter_consent")
        phone.click("button[type=submit]")
        error = phone.locator("#id_email_error")
        assert _(language, "Please enter a valid email address, like name@example.org.") in error.inner_text()
        assert phone.locator("#error-summary-title").inner_text() == _(language, "There is a problem")
        assert phone.get_attribute("html", "dir") == DIRECTION[language]
        assert overflow(phone) <= 0
        screenshot(phone, f"petition-errors-{language}")

        phone.fill("#id_email", "amira@example.org")
        phone.click("button[type=submit]")
        assert phone.locator("h1").inner_text() == _(language, "One more step: check your email")
        signature = Signature.objects.get()
        assert signature.language == language
        assert signature.letter_consent.language == language

        [confirmation] = esp.wait_for(1, timeout=30)
        (SCREENSHOTS / f"confirmation-email-{language}.html").write_text(confirmation["html"])
        title = texts["petition"]["title"]
        assert confirmation["subject"] == _(language, "Please confirm your signature: %(title)s") % {"title": title}
        # The email as a phone's mail app shows it: on a blank page of its own
        # (the site's Content-Security-Policy would strip its inline styles).
        reader = context.new_page()
        reader.set_content(confirmation["html"])
        assert reader.get_attribute("html", "dir") == DIRECTION[language]
        assert overflow(reader) <= 0
        screenshot(reader, f"confirmation-email-{language}")
        reader.close()

        link = next(word for word in confirmation["text"].split() if "/confirm/" in word)
        assert link.startswith(f"{site.url}/{language}/confirm/")
        phone.goto(link)
        assert phone.get_attribute("html", "lang") == language
        assert overflow(phone) <= 0
        screenshot(phone, f"confirm-{language}")
        phone.click(f"text={_(language, 'Confirm my signature')}")
        assert phone.locator("h1").inner_text() == _(language, "Thank you: your signature is confirmed")

        messages = esp.wait_for(4, timeout=30)
        thanks = next(m for m in messages if m["subject"] == _(language, "Thank you: your letter is on its way"))
        assert f'lang="{language}"' in thanks["html"]
        wait_until(lambda: Letter.objects.filter(state=Letter.State.SENT).count() == 2, message="letters sent")
        french_subject = libya_translations.TRANSLATIONS["fr"]["petition"]["letter_subject"]
        french_letter = next(m for m in esp.messages if m["subject"] == french_subject)
        assert french_letter["text"].rstrip().endswith("Tunisie")
        english_letter = next(m for m in esp.messages if m["subject"] == petition.letter_subject)
        assert english_letter["text"].rstrip().endswith("Tunisia")
    context.close()


def test_the_language_switcher_works_without_javascript(site, browser):
    petition, _created = petition_seed_load()
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.goto(f"{site.url}/en/p/{petition.slug}/")
    page.click("nav.languages >> text=العربية")
    assert page.url == f"{site.url}/ar/p/{petition.slug}/"
    assert page.get_attribute("html", "dir") == "rtl"
    page.click("nav.languages >> text=Français")
    assert page.get_attribute("html", "lang") == "fr"
    context.close()


def test_a_campaigner_edits_the_arabic_translation_beside_the_original(site, browser):
    from petitions.models import PetitionTranslation
    from tests.conftest import staff
    from tests.test_mailing_admin_browser import StaffBrowser

    petition, _created = petition_seed_load()
    staff("campaigner", role="Campaigner")
    translation_row = PetitionTranslation.objects.get(petition=petition, language="ar")
    window = StaffBrowser(browser, site, "campaigner")
    page = window.page
    page.goto(f"{site.url}/staff/petitions/petitiontranslation/")
    page.click(f"text={translation_row.title}")
    # Each text beside the original it translates.
    row = page.locator(".form-row.field-original_title")
    assert petition.title in row.inner_text()
    assert row.locator("#id_title").input_value() == translation_row.title
    assert page.locator(".field-original_letter_body .original").get_attribute("lang") == "en"
    originals = page.locator("#demands-group td.field-original_demand")
    assert originals.first.inner_text() == petition.demands.first().text
    page.fill("#id_title", "أوقفوا احتجاز المهاجرين وبيعهم في ليبيا")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    assert PetitionTranslation.objects.get(pk=translation_row.pk).title == "أوقفوا احتجاز المهاجرين وبيعهم في ليبيا"
    public = browser.new_context(viewport=PHONE).new_page()
    wait_until(
        lambda: public.goto(f"{site.url}/ar/p/{petition.slug}/") and public.locator("h1").inner_text()
        == "أوقفوا احتجاز المهاجرين وبيعهم في ليبيا",
        timeout=15, message="the new title on the Arabic page",
    )
    window.close()
