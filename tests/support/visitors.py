"""People using the site over real HTTP, without a browser: each visitor has
their own cookies, sends the CSRF token from the form they were shown when it
has one, and says where the form came from (Origin, Sec-Fetch-Site), as a
browser would. For tests that run the web side as a real server process."""

import re
import time
from dataclasses import dataclass

import requests

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SIGNED_PAGE_TEXT = "check your email"
BEHIND_A_PROXY = {"TRUSTED_PROXY_COUNT": "1"}
ERROR_PAGE_TEXT = "Sorry, something went wrong on our side"


@dataclass
class Visit:
    """What a person saw at the end of an action: the last page, and how long it took."""

    status: int
    text: str
    url: str
    seconds: float

    @property
    def signed(self):
        return self.status == 200 and SIGNED_PAGE_TEXT in self.text

    @property
    def error_page(self):
        return self.status == 500 and ERROR_PAGE_TEXT in self.text


class Visitor:
    """`address` is the visitor's own IP address, as a proxy in front of the site
    reports it (X-Forwarded-For): start the server with TRUSTED_PROXY_COUNT=1
    (`BEHIND_A_PROXY`). Hundreds of people signing from one test address would
    otherwise be held, rightly, by the per-address rate limits."""

    def __init__(self, base_url, *, address=None, timeout=30):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if address:
            self.session.headers["X-Forwarded-For"] = address

    def _url(self, path_or_url):
        return path_or_url if path_or_url.startswith("http") else self.base_url + path_or_url

    def get(self, path_or_url):
        return self.session.get(self._url(path_or_url), timeout=self.timeout)

    def submit(self, page_url, action_url, data):
        """Open the page holding a form, then post the form from it; follow redirects."""
        started = time.monotonic()
        page = self.get(page_url)
        if page.status_code != 200:
            return Visit(page.status_code, page.text, page.url, time.monotonic() - started)
        # The petition page is the same for everyone and has no token; other forms have one.
        match = _CSRF_INPUT.search(page.text)
        if match:
            data = dict(data, csrfmiddlewaretoken=match.group(1))
        response = self.session.post(
            self._url(action_url), data=data,
            headers={"Referer": page.url, "Origin": self.base_url, "Sec-Fetch-Site": "same-origin"},
            timeout=self.timeout,
        )
        return Visit(response.status_code, response.text, response.url, time.monotonic() - started)

    def sign(self, slug, data, *, language="en"):
        return self.submit(f"/{language}/p/{slug}/", f"/{language}/p/{slug}/sign/", data)

    def confirm(self, link):
        """Open the link from the confirmation email and press its button."""
        return self.submit(link, link, {})

    def close(self):
        self.session.close()


def address_of(number):
    """A distinct private IPv4 address for visitor `number`."""
    return f"10.{number // 62500 % 256}.{number // 250 % 250}.{number % 250 + 1}"


def confirmation_link(message):
    """The confirmation link in an email's text part."""
    return next(word for word in message["text"].split() if "/confirm/" in word)
