"""A page that earns trust: staff name the organisation (name, logo, contact,
who runs the campaign) and upload a hero image with its text alternative in
the admin; the public page shows them, the image in resized copies, and links
the "Learn more" items and the sources of the background facts."""

import io
import urllib.request

import pytest
from django.urls import reverse
from PIL import Image

from petitions import caches
from petitions.models import BackgroundFact, Organisation
from tests.conftest import PASSWORD
from tests.support.processes import WebServer, wait_until


@pytest.fixture
def site(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    with WebServer(extra_env={"MEDIA_ROOT": str(tmp_path / "media"), "PAGE_CACHE_SECONDS": "0"}) as server:
        yield server


def _photo(path):
    image = Image.new("RGB", (2000, 1000), (120, 60, 30))
    image.save(path, format="JPEG")
    return path


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class TrustTests:
    def test_staff_upload_a_hero_image_with_its_alternative_and_name_the_organisation(
        self, site, browser, petition, campaigner, tmp_path
    ):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(site.url + reverse("admin:login") + "?next=" + reverse("admin:index"))
        page.fill("#id_username", campaigner.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#user-tools")

        page.goto(site.url + reverse("admin:petitions_petition_change", args=[petition.pk]))
        page.set_input_files("#id_hero_image", str(_photo(tmp_path / "detention-centre.jpg")))
        page.click("input[name=_continue]")
        assert "Describe the image for people who cannot see it." in page.locator(".errorlist").first.inner_text()

        page.set_input_files("#id_hero_image", str(tmp_path / "detention-centre.jpg"))
        page.fill("#id_hero_alt", "People held behind bars in a detention centre near Tripoli")
        page.click("input[name=_continue]")
        page.wait_for_selector(".messagelist .success")

        page.goto(site.url + reverse("admin:petitions_organisation_add"))
        page.fill("#id_name", "Free the Detained Coalition")
        page.fill("#id_contact_email", "hello@freethedetained.example")
        page.fill("#id_about_url", "https://freethedetained.example/who-we-are")
        page.click("input[name=_save]")
        page.wait_for_selector(".messagelist .success")

        public = context.new_page()
        public.goto(site.url + reverse("petitions:detail", args=[petition.slug]))
        hero = public.locator("figure.hero img")
        assert hero.get_attribute("alt") == "People held behind bars in a detention centre near Tripoli"
        variants = [part.strip().split(" ") for part in hero.get_attribute("srcset").split(",")]
        assert [width for _address, width in variants] == ["480w", "960w", "1440w"]
        for address, width in variants:
            with urllib.request.urlopen(site.url + address, timeout=10) as response:
                assert response.headers["Content-Type"] == "image/jpeg"
                assert Image.open(io.BytesIO(response.read())).width == int(width[:-1])
        # Each web process reads the organisation at most every 10 seconds (a
        # page it served before staff saved it, a 404 say, may have read none).
        wait_until(lambda: public.reload() and public.locator("section.trust").count() == 1, timeout=30,
                   message="the organisation on the page")
        trust = public.locator("section.trust").inner_text()
        assert "This campaign is run by Free the Detained Coalition." in trust
        assert public.locator("section.trust a[href='https://freethedetained.example/who-we-are']").count() == 1
        assert public.locator("section.trust a[href='mailto:hello@freethedetained.example']").count() == 1
        context.close()


@pytest.mark.django_db
class TrustLinksTests:
    def test_it_links_learn_more_items_and_fact_sources(self, client, petition):
        petition.further_reading = (
            "Libya's dark web of collusion | https://www.amnesty.org/en/documents/mde19/7561/2017/en/\nUnlinked title"
        )
        petition.save()
        BackgroundFact.objects.filter(petition=petition).update(source_url="https://reliefweb.int/report/libya")
        caches.pages_forget()

        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()

        assert ('<a href="https://www.amnesty.org/en/documents/mde19/7561/2017/en/" rel="noopener">'
                "Libya&#x27;s dark web of collusion</a>") in page
        assert "<li>Unlinked title</li>" in page
        assert 'Source: <a href="https://reliefweb.int/report/libya" rel="noopener">' in page

    def test_it_names_no_organisation_until_staff_enter_one(self, client, petition):
        assert 'class="trust"' not in client.get(reverse("petitions:privacy")).content.decode()
        Organisation.objects.create(name="Free the Detained Coalition")
        assert "run by Free the Detained Coalition" in client.get(reverse("petitions:privacy")).content.decode()
