"""The staff pages on a phone: the index, the dashboard, the signature list and
a mailing's page fit a 390 px screen without scrolling sideways (headless
Chromium, Debian's package, driven by Playwright, against the production app
server), and the signature list's country filter offers only the countries
that have signatures."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from petitions.admin.signatures import SIGNED_COUNTRIES_CACHE_KEY
from petitions.models import ConsentWording, Letter, Mailing, Signature, Target
from tests.conftest import PASSWORD
from tests.support.processes import WebServer

# STAFF_PHONE_SCREENSHOTS puts the screenshots elsewhere, to compare two versions.
SCREENSHOTS = Path(
    os.environ.get("STAFF_PHONE_SCREENSHOTS") or Path(__file__).resolve().parent.parent / "var" / "screenshots"
)
PHONE = {"width": 390, "height": 844}
# Signers from a few countries, with the long names and addresses that widen a list.
SIGNERS = [
    ("Nour", "Abdelrahman-Benyoussef", "nour.abdelrahman-benyoussef@a-rather-long-mail-domain.example.org", "TN"),
    ("Amira", "Haddad", "amira.haddad@example.org", "FR"),
    ("Jean-Baptiste", "Delacroix-Montmorency", "jean-baptiste.delacroix@example.fr", "FR"),
    ("Ali", "Mansour", "ali.mansour@example.org", "LY"),
    ("Sofia", "Bergström", "sofia.bergstrom@example.se", "SE"),
]
MAILING_BODY = (
    "The **Tajoura** centre is closed.\n\n"
    "[Read the report](https://www.example.org/reports/2026/libya-detention-centres-tajoura-closure-full-report.pdf)"
    "\n\nOr paste https://www.example.org/reports/2026/libya-detention-centres-tajoura-closure-full-report.pdf"
)


def signatures_add(petition, signers):
    consent = ConsentWording.objects.filter(kind=ConsentWording.Kind.LETTER).first()
    now = timezone.now()
    return Signature.objects.bulk_create(
        Signature(
            petition=petition, first_name=first, last_name=last, email=email, email_normalized=email.lower(),
            country=country, state=Signature.State.CONFIRMED, letter_consent=consent,
            created_at=now - timedelta(hours=number * 7), confirmed_at=now - timedelta(hours=number * 7 - 1),
        )
        for number, (first, last, email, country) in enumerate(signers)
    )




@pytest.fixture
def phone(browser, superuser):
    """The superuser's phone, logged in to the admin on the production app server."""
    with WebServer() as site:
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(f"{site.url}/staff/login/?next=/staff/")
        page.fill("#id_username", superuser.get_username())
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#user-tools")
        page.site_url = site.url
        yield page
        context.close()


def page_width(page, path, name):
    """The page's width in CSS pixels, as wide as its widest part, after a screenshot of it."""
    page.goto(page.site_url + path)
    page.wait_for_load_state("load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"staff-phone-{name}.png"), full_page=False)
    page.screenshot(path=str(SCREENSHOTS / f"staff-phone-{name}-full.png"), full_page=True)
    return page.evaluate("document.documentElement.scrollWidth")


# How many lines each link's text takes: the height of its box in units of its
# line height ("normal" line height taken as 1.2 times the font size).
TOOL_LINK_LINES = """
() => [...document.querySelectorAll('#staff-tools a')].map(link => {
  const style = getComputedStyle(link);
  const lineHeight = parseFloat(style.lineHeight) || 1.2 * parseFloat(style.fontSize);
  return [link.textContent, link.getBoundingClientRect().height / lineHeight];
})
"""


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class StaffPhoneTests:
    def test_it_fits_the_index_the_dashboard_the_signature_list_and_a_mailing_on_a_phone(
        self, phone, petition, superuser
    ):
        signatures = signatures_add(petition, SIGNERS)
        Letter.objects.bulk_create(
            Letter(
                signature=signature, target=target, subject="Free them", body="Dear recipient", from_name="Amira",
                reply_to="amira.haddad@example.org",
            )
            for signature in signatures[:2]
            for target in Target.objects.all()
        )
        # A draft (a form) and one being sent (read-only, with its progress), each
        # with a long link of the kind an update carries.
        mailing, sending = (
            Mailing.objects.create(
                petition=petition, subject="News: the Tajoura centre is closed, and what comes next for the others",
                body=MAILING_BODY, created_by=superuser, **fields,
            )
            for fields in ({}, {"state": Mailing.State.SENDING, "started_at": timezone.now()})
        )
        pages = {
            "index": reverse("admin:index"),
            "dashboard": reverse("admin:petitions_dashboard"),
            "signatures": reverse("admin:petitions_signature_changelist"),
            "mailing": reverse("admin:petitions_mailing_change", args=[mailing.pk]),
            "mailing-sending": reverse("admin:petitions_mailing_change", args=[sending.pk]),
        }
        widths = {name: page_width(phone, path, name) for name, path in pages.items()}
        assert widths == dict.fromkeys(pages, PHONE["width"]), str(widths)

        # The pages loaded last are the mailings': their boxes are there.
        assert phone.locator("#mailing-progress").count() == 1
        phone.goto(phone.site_url + pages["signatures"])
        # Every signature has its row, the table scrolling sideways inside its own box.
        assert phone.locator("#result_list tbody tr").count() == len(SIGNERS)
        assert phone.locator("#result_list").bounding_box()["width"] > PHONE["width"]

        phone.goto(phone.site_url + pages["index"])
        lines = phone.evaluate(TOOL_LINK_LINES)
        assert [text for text, _ in lines] == ["Dashboard", "Export signatures"]
        assert all(count < 3 for _, count in lines), lines


def offered_countries(response):
    """What the signature list's country filter offers, as staff read it."""
    changelist = response.context["cl"]
    [country_filter] = [spec for spec in changelist.filter_specs if spec.title == "country"]
    return [choice["display"] for choice in country_filter.choices(changelist)]


@pytest.mark.django_db
class SignatureCountryFilterTests:
    def test_it_offers_only_the_countries_that_have_signatures_by_name(self, client, superuser, petition):
        signatures_add(petition, SIGNERS)
        client.force_login(superuser)
        url = reverse("admin:petitions_signature_changelist")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert offered_countries(response) == ["All", "France", "Libya", "Sweden", "Tunisia"]
        [distinct] = [query["sql"] for query in queries if "DISTINCT" in query["sql"]]
        assert "country" in distinct
        # With the counts shown ("Show counts"), each country has its own.
        with_counts = offered_countries(client.get(url, {"_facets": "True"}))
        assert with_counts == ["All", "France (2)", "Libya (1)", "Sweden (1)", "Tunisia (1)"]

    def test_it_reads_the_countries_once_a_minute(self, client, superuser, petition):
        signatures_add(petition, SIGNERS[:2])
        client.force_login(superuser)
        url = reverse("admin:petitions_signature_changelist")
        assert offered_countries(client.get(url)) == ["All", "France", "Tunisia"]
        signatures_add(petition, SIGNERS[3:4])
        with CaptureQueriesContext(connection) as queries:
            assert offered_countries(client.get(url)) == ["All", "France", "Tunisia"]
        assert not [query for query in queries if "DISTINCT" in query["sql"]]
        cache.delete(SIGNED_COUNTRIES_CACHE_KEY)  # as a minute later
        assert offered_countries(client.get(url)) == ["All", "France", "Libya", "Tunisia"]

    def test_its_links_filter_the_list_by_the_same_parameter_as_before(self, client, superuser, petition):
        signatures_add(petition, SIGNERS)
        client.force_login(superuser)
        url = reverse("admin:petitions_signature_changelist")
        page = client.get(url).content.decode()
        assert 'href="?country__exact=FR"' in page
        france = client.get(url, {"country__exact": "FR"}).context["cl"].result_list
        assert sorted(signature.last_name for signature in france) == ["Delacroix-Montmorency", "Haddad"]
        # The plain field lookup the list took before still works, and others are still refused.
        assert client.get(url, {"country": "LY"}).context["cl"].result_count == 1
        assert client.get(url, {"email__startswith": "a"}).status_code == 400

    def test_the_review_queues_offer_the_same_countries(self, client, superuser, petition):
        signatures = signatures_add(petition, SIGNERS)
        Signature.objects.filter(pk=signatures[0].pk).update(
            flag_reason="wave", comment="Free them", comment_state=Signature.CommentState.PENDING
        )
        client.force_login(superuser)
        for name in ("flaggedsignature", "signercomment"):
            response = client.get(reverse(f"admin:petitions_{name}_changelist"))
            assert offered_countries(response) == ["All", "France", "Libya", "Sweden", "Tunisia"], name
            queued = client.get(reverse(f"admin:petitions_{name}_changelist"), {"country__exact": "TN"})
            assert [s.pk for s in queued.context["cl"].result_list] == [signatures[0].pk], name
