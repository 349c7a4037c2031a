"""On a phone the sign form comes first: on a 390x844 screen the first form
field is within the first two screens; on a 1280x800 desktop the submit
button is visible after scrolling at most one screen. Measured in headless
Chromium on the petition page as the production app server serves it."""

import pytest
from django.urls import reverse

from petitions.services.content import petition_seed_load
from tests.support.processes import WebServer

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _top_and_bottom(page, selector):
    return page.evaluate(
        "(selector) => { const box = document.querySelector(selector).getBoundingClientRect();"
        " return [box.top + window.scrollY, box.bottom + window.scrollY]; }",
        selector,
    )


class FormFirstTests:
    def test_it_puts_the_form_within_reach_on_a_phone_and_a_desktop(self, browser):
        petition, _ = petition_seed_load()
        with WebServer() as site:
            url = site.url + reverse("petitions:detail", args=[petition.slug])

            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            page = phone.new_page()
            page.goto(url)
            top, _bottom = _top_and_bottom(page, "#id_first_name")
            assert top < 2 * 844, f"the first field starts at {top}px on a 390x844 phone"
            phone.close()

            desktop = browser.new_context(viewport={"width": 1280, "height": 800})
            page = desktop.new_page()
            page.goto(url)
            _top, bottom = _top_and_bottom(page, "#sign button[type=submit]")
            assert bottom <= 2 * 800, f"the submit button ends at {bottom}px on a 1280x800 desktop"
            desktop.close()
