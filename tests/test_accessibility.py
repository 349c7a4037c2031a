"""Accessibility of the public pages.

The sign form as a screen reader meets it (each field tied to its own error and
help text, an error summary that takes the focus after a failed submit, "Error:"
in the title), axe-core in headless Chromium on every public page and state,
and the form within reach on a phone.

axe-core is vendored in tests/support/axe (see its README): no network is needed.
"""

import hashlib
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from petitions import caches
from petitions.models import ConsentWording, Signature
from petitions.services import signing
from petitions.services.content import petition_save, petition_seed_load
from petitions.tokens import confirmation_token_make, unsubscribe_token_make
from tests.conftest import sign
from tests.support.browser import chromium_path
from tests.support.processes import WebServer

AXE = Path(__file__).resolve().parent / "support" / "axe" / "axe.min.js"
AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# WCAG 2.2 AA's minimum target size is checked too: axe leaves that rule off by default.
AXE_OPTIONS = '{resultTypes: ["violations", "incomplete"], rules: {"target-size": {enabled: true}}}'


class _Elements(HTMLParser):
    """Every start tag of a page, with its attributes, and the text of its <title> and first <h1>."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.texts = {"title": "", "h1": ""}
        self._inside = ""

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))
        if tag in self.texts and not self.texts[tag]:
            self._inside = tag

    def handle_endtag(self, tag):
        if tag == self._inside:
            self._inside = ""

    def handle_data(self, data):
        if self._inside:
            self.texts[self._inside] += data

    @property
    def title(self):
        return " ".join(self.texts["title"].split())

    @property
    def h1(self):
        return " ".join(self.texts["h1"].split())


def elements(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    return parser


def by_id(parsed: _Elements) -> dict[str, tuple[str, dict[str, str]]]:
    return {attrs["id"]: (tag, attrs) for tag, attrs in parsed.tags if attrs.get("id")}


def form_controls(parsed: _Elements) -> dict[str, dict[str, str]]:
    """The sign form's visible controls by name (not the honeypot, not hidden inputs)."""
    return {
        attrs["name"]: attrs
        for tag, attrs in parsed.tags
        if tag in ("input", "select", "textarea") and attrs.get("name") not in (None, "website")
        and attrs.get("type") != "hidden"
    }


def detail_url(petition):
    return reverse("petitions:detail", args=[petition.slug])


@pytest.mark.django_db
class SignFormMarkupTests:
    def test_it_ties_each_help_text_to_its_field_with_an_id_that_exists(self, client, petition):
        parsed = elements(client.get(detail_url(petition)).content.decode())
        ids = by_id(parsed)
        controls = form_controls(parsed)
        for name in ("email", "comment"):  # the fields with help text
            described = controls[name].get("aria-describedby", "").split()
            assert described, f"{name} has no aria-describedby"
            for target in described:
                assert target in ids, f"{name}: aria-describedby points at #{target}, which is not on the page"
            assert any("help" in ids[target][1].get("class", "") for target in described), name
        for name, attrs in controls.items():
            assert "aria-invalid" not in attrs, name

    def test_it_names_the_purpose_of_each_field_about_the_signer_so_browsers_can_fill_it_in(self, client, petition):
        controls = form_controls(elements(client.get(detail_url(petition)).content.decode()))
        purposes = {name: controls[name].get("autocomplete") for name in ("first_name", "last_name", "email",
                                                                           "country", "postcode")}
        assert purposes == {"first_name": "given-name", "last_name": "family-name", "email": "email",
                            "country": "country", "postcode": "postal-code"}

    def test_it_ties_each_error_and_help_text_to_its_field_and_marks_it_invalid(self, client, petition, signer):
        data = signer | {"first_name": "", "email": "not-an-address", "postcode": "<b>", "letter_consent": ""}
        response = sign(client, petition, data)
        assert response.status_code == 400
        parsed = elements(response.content.decode())
        ids = by_id(parsed)
        controls = form_controls(parsed)
        invalid = {"first_name", "email", "postcode", "letter_consent"}
        for name, attrs in controls.items():
            described = attrs.get("aria-describedby", "").split()
            for target in described:
                assert target in ids, f"{name}: aria-describedby points at #{target}, which is not on the page"
            errors = [target for target in described if "error" in ids[target][1].get("class", "")]
            if name in invalid:
                assert attrs.get("aria-invalid") == "true", name
                assert len(errors) == 1, f"{name} is not described by its error message"
            else:
                assert "aria-invalid" not in attrs and not errors, name
        # The email field keeps its help text as well as its error.
        email_described = controls["email"]["aria-describedby"].split()
        assert any("help" in ids[target][1].get("class", "") for target in email_described)

    def test_a_failed_submit_says_error_in_the_title_and_sums_up_the_errors_with_links_to_the_fields(
        self, client, petition, signer
    ):
        response = sign(client, petition, signer | {"last_name": "", "country": "XX"})
        assert response.status_code == 400
        page = response.content.decode()
        parsed = elements(page)
        assert parsed.title == f"Error: {petition.title}"
        ids = by_id(parsed)
        [summary] = [attrs for _tag, attrs in parsed.tags if "error-summary" in attrs.get("class", "").split()]
        # Focus moves to the summary without JavaScript: autofocus on a focusable element.
        assert "autofocus" in summary and summary.get("tabindex") == "-1"
        summary_html = page[page.index('class="error-summary"'):]
        summary_html = summary_html[: summary_html.index("</div>")]
        links = re.findall(r'<a href="#([^"]+)">', summary_html)
        assert links == ["id_last_name", "id_country"]
        assert all(ids[target][0] in ("input", "select") for target in links)
        # The summary comes first in the form, before any field.
        assert page.index('class="error-summary"') < page.index('name="first_name"')

    def test_the_consent_asked_again_is_summed_up_too(self, client, petition, signer):
        url = detail_url(petition)
        shown = re.search(r'name="consent_key" value="([^"]+)"', client.get(url).content.decode()).group(1)
        ConsentWording.objects.create(kind="letter", version=2, text="Send my letter (v2).")
        response = sign(client, petition, signer | {"consent_key": shown})
        assert response.status_code == 409
        parsed = elements(response.content.decode())
        assert parsed.title.startswith("Error: ")
        assert '<a href="#id_letter_consent">' in response.content.decode()
        assert form_controls(parsed)["letter_consent"].get("aria-invalid") == "true"

    def test_a_signer_refused_because_signing_paused_meanwhile_is_taken_to_why(self, client, petition, signer):
        petition.signing_paused = True
        petition.signing_paused_message = "Signing is paused for a moment."
        petition.save()
        caches.forget_all()
        response = sign(client, petition, signer)
        assert response.status_code == 409
        parsed = elements(response.content.decode())
        headings = [attrs for tag, attrs in parsed.tags if tag == "h2" and "autofocus" in attrs]
        assert headings == [{"id": "sign-heading", "tabindex": "-1", "autofocus": ""}]
        assert "autofocus" not in client.get(detail_url(petition)).content.decode()

    def test_the_page_everyone_gets_never_carries_anyones_errors(self, client, petition, signer):
        # A failed submit first, then the page as the process caches it for everyone, and again the other way round.
        caches.forget_all()
        assert sign(client, petition, signer | {"email": "nope"}).status_code == 400
        for _ in range(2):
            page = client.get(detail_url(petition)).content.decode()
            parsed = elements(page)
            assert parsed.title == petition.title
            assert "error-summary" not in page and "aria-invalid" not in page and "nope" not in page
            assert "autofocus" not in page
            assert sign(client, petition, signer | {"email": "nope"}).status_code == 400


@pytest.mark.django_db
class PageTitleTests:
    def test_each_state_of_the_emailed_links_pages_is_titled_as_its_heading_says(self, client, petition, signer):
        sign(client, petition, signer)
        signature = Signature.objects.get()
        long_ago = timezone.now() - settings.CONFIRMATION_MAX_AGE - timezone.timedelta(minutes=1)
        unsubscribe_path = reverse("petitions:unsubscribe", args=[unsubscribe_token_make(signature.public_id)])
        responses = [
            client.get(reverse("petitions:confirm", args=[confirmation_token_make(signature, timezone.now())])),
            client.get(reverse("petitions:confirm", args=[confirmation_token_make(signature, long_ago)])),
            client.get(reverse("petitions:confirm", args=["not-a-token"])),
            client.get(unsubscribe_path),
            client.post(unsubscribe_path),
            client.get(reverse("petitions:unsubscribe", args=["not-a-token"])),
        ]
        pages = [elements(response.content.decode()) for response in responses]
        assert [page.title for page in pages] == [
            "Confirm your signature", "This link has expired", "This link does not work",
            "Unsubscribe from campaign emails", "You are unsubscribed", "This link does not work",
        ]
        assert [page.h1 for page in pages] == [page.title for page in pages]


# Browser tests -------------------------------------------------------------------------------------------------


@pytest.fixture
def site():
    # One server per test: each process keeps the petition and the consent
    # wordings a few seconds, which must not outlive the test's database rows.
    # Every page is rebuilt on every request, so a state set in the database
    # (paused, closed) shows at once.
    with WebServer(extra_env={"PAGE_CACHE_SECONDS": "0"}) as server:
        yield server


@pytest.fixture(scope="module")
def chromium():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(autouse=True)
def _close_connections():
    yield
    # Queries made while Playwright's loop runs get their own connection; close
    # it, or the test database cannot be flushed and dropped.
    connections.close_all()


@pytest.fixture
def axe_page(chromium):
    """A page for running axe: the site's CSP would refuse the injected script,
    so this context alone bypasses it."""
    context = chromium.new_context(viewport=PHONE, bypass_csp=True)
    yield context.new_page()
    context.close()


def axe_run(page, *, context="document"):
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256, "tests/support/axe/axe.min.js changed"
    page.add_script_tag(path=str(AXE))
    assert page.evaluate("axe.version") == AXE_VERSION
    return page.evaluate(
        f"""async () => {{
            const results = await axe.run({context}, {AXE_OPTIONS});
            const brief = (items) => items.map((item) => ({{
                id: item.id, impact: item.impact, help: item.help,
                nodes: item.nodes.map((node) => node.target.join(" ") + " :: " + node.failureSummary),
            }}));
            return {{violations: brief(results.violations), incomplete: brief(results.incomplete)}};
        }}"""
    )


def signature_pending(petition, email="amira.haddad@example.org"):
    signing.signature_create(
        petition=petition, first_name="Amira", last_name="Haddad", email=email, country="TN", wants_updates=True
    )
    return Signature.objects.get(email_normalized=email)


def fill_valid(page):
    page.fill("#id_first_name", "Zoë")
    page.fill("#id_last_name", "O'Brien")
    page.fill("#id_email", "zoe@example.org")
    page.select_option("#id_country", "IE")
    page.check("#id_letter_consent")


def submit(page):
    page.click("form[action*='/sign/'] button[type=submit]")


def petition_page(page, site, petition):
    page.goto(f"{site.url}{detail_url(petition)}")


def petition_with_errors(page, site, petition):
    petition_page(page, site, petition)
    page.fill("#id_first_name", "Zoë")
    page.fill("#id_email", "zoe@example")
    page.fill("#id_postcode", "<b>")
    submit(page)
    assert page.locator("#id_email").get_attribute("aria-invalid") == "true"


def petition_letter_open(page, site, petition):
    petition_page(page, site, petition)
    page.click("#letter summary")
    assert page.locator("blockquote.letter").is_visible()


def petition_signing_paused(page, site, petition):
    petition.signing_paused = True
    petition.signing_paused_message = "Signing is paused while we check a wave of automated signatures."
    petition_save(petition=petition)
    petition_page(page, site, petition)


def petition_closed(page, site, petition):
    petition.is_open = False
    petition_save(petition=petition)
    petition_page(page, site, petition)


def signed(page, site, petition):
    petition_page(page, site, petition)
    fill_valid(page)
    submit(page)
    assert "check your email" in page.locator("h1").inner_text()


def confirm_url(site, signature, issued_at=None):
    token = confirmation_token_make(signature, issued_at or timezone.now())
    return f"{site.url}{reverse('petitions:confirm', args=[token])}"


def confirm(page, site, petition):
    page.goto(confirm_url(site, signature_pending(petition)))
    assert page.locator("h1").inner_text() == "Confirm your signature"


def confirmed(page, site, petition):
    confirm(page, site, petition)
    page.click("text=Confirm my signature")
    assert "your signature is confirmed" in page.locator("h1").inner_text()


def confirm_expired(page, site, petition):
    issued = timezone.now() - settings.CONFIRMATION_MAX_AGE - timezone.timedelta(minutes=1)
    page.goto(confirm_url(site, signature_pending(petition), issued))
    assert page.locator("h1").inner_text() == "This link has expired"


def confirm_invalid(page, site, petition):
    page.goto(f"{site.url}{reverse('petitions:confirm', args=['not-a-token'])}")
    assert page.locator("h1").inner_text() == "This link does not work"


def confirm_closed(page, site, petition):
    confirm(page, site, petition)
    petition.is_open = False
    petition_save(petition=petition)
    page.click("text=Confirm my signature")
    assert page.locator("h1").inner_text() == "This petition has closed"


def unsubscribe_url(site, signature):
    return f"{site.url}{reverse('petitions:unsubscribe', args=[unsubscribe_token_make(signature.public_id)])}"


def unsubscribe(page, site, petition):
    page.goto(unsubscribe_url(site, signature_pending(petition)))
    assert page.locator("h1").inner_text() == "Unsubscribe from campaign emails"


def unsubscribe_done(page, site, petition):
    unsubscribe(page, site, petition)
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "You are unsubscribed"


def unsubscribe_invalid(page, site, petition):
    page.goto(f"{site.url}{reverse('petitions:unsubscribe', args=['not-a-token'])}")
    assert page.locator("h1").inner_text() == "This link does not work"


def privacy(page, site, petition):
    page.goto(f"{site.url}{reverse('petitions:privacy')}")
    assert page.locator("h1").inner_text() == "How we use your data"


PAGES = [
    petition_page, petition_with_errors, petition_letter_open, petition_signing_paused, petition_closed, signed,
    confirm, confirmed, confirm_expired, confirm_invalid, confirm_closed, unsubscribe, unsubscribe_done,
    unsubscribe_invalid, privacy,
]
# The states that show the sign form, where axe must not leave anything undecided either.
FORM_PAGES = {petition_page, petition_with_errors, petition_letter_open}
# Every page on a phone; the pages whose layout changes with the width on a wide screen too.
CASES = [(visit, "phone") for visit in PAGES] + [
    (visit, "desktop") for visit in (petition_page, petition_with_errors, petition_letter_open, petition_closed)
]


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class AxeTests:
    @pytest.mark.parametrize("visit,screen", CASES, ids=[f"{visit.__name__}-{screen}" for visit, screen in CASES])
    def test_axe_finds_no_violation(self, site, axe_page, visit, screen):
        petition, _ = petition_seed_load()
        axe_page.set_viewport_size(PHONE if screen == "phone" else DESKTOP)
        visit(axe_page, site, petition)
        results = axe_run(axe_page)
        assert results["violations"] == [], results["violations"]
        if visit in FORM_PAGES:
            form = axe_run(axe_page, context='"form"')
            assert form["incomplete"] == [], form["incomplete"]


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class ErrorFocusBrowserTests:
    @pytest.mark.parametrize("javascript", [True, False], ids=["with-javascript", "without-javascript"])
    def test_a_failed_submit_moves_the_focus_to_the_error_summary_and_its_links_lead_to_the_fields(
        self, site, chromium, javascript
    ):
        petition, _ = petition_seed_load()
        # The site's own CSP applies here: nothing of the page may depend on inline script.
        context = chromium.new_context(viewport=PHONE, java_script_enabled=javascript)
        page = context.new_page()
        petition_page(page, site, petition)
        assert page.evaluate("document.activeElement === document.body")
        page.fill("#id_first_name", "Zoë")
        page.fill("#id_email", "zoe@example")
        submit(page)
        assert page.title() == f"Error: {petition.title}"
        focused = page.evaluate("document.activeElement.className")
        assert "error-summary" in focused.split()
        summary = page.locator(".error-summary")
        assert summary.is_visible()
        # The summary is on the screen, not scrolled away.
        top = page.evaluate("document.querySelector('.error-summary').getBoundingClientRect().top")
        assert 0 <= top < PHONE["height"]
        links = summary.locator("a")
        assert links.count() == 4  # last name, email, country, the letter's consent
        summary.locator("a[href='#id_email']").click()
        assert page.evaluate("document.activeElement.id") == "id_email"
        page.fill("#id_email", "zoe@example.org")
        page.fill("#id_last_name", "O'Brien")
        page.select_option("#id_country", "IE")
        page.check("#id_letter_consent")
        submit(page)
        assert "check your email" in page.locator("h1").inner_text()
        assert not page.title().startswith("Error")
        context.close()

    def test_on_a_phone_the_first_field_is_within_the_first_two_screens(self, site, chromium):
        petition, _ = petition_seed_load()
        context = chromium.new_context(viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True)
        page = context.new_page()
        petition_page(page, site, petition)
        first_field_top = page.evaluate(
            "document.querySelector('#id_first_name').getBoundingClientRect().top + window.scrollY"
        )
        assert first_field_top < 2 * PHONE["height"]
        # The letter the consent speaks of ("the letter above") is above that box, folded.
        letter_top, consent_top = page.evaluate(
            "['#letter', '#id_letter_consent'].map((s) => document.querySelector(s).getBoundingClientRect().top)"
        )
        assert letter_top < consent_top
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # WCAG's reflow: nothing scrolls sideways at 320 CSS pixels either.
        page.set_viewport_size({"width": 320, "height": 640})
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        context.close()
