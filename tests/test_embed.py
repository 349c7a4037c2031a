"""The embeddable petition: another site frames a compact count and sign
form, a signer signs inside the frame (no cookie, no script needed), and a
site staff did not list cannot frame it. In headless Chromium, against the
production app server, with the embedding pages on other local origins."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from petitions.admin.content import embed_snippet_for
from petitions.models import Signature
from petitions.services.content import petition_seed_load
from tests.support.processes import WebServer, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class EmbeddingSite:
    """Another website on its own origin (127.0.0.1, another port), whose one
    page holds the snippet the admin gives staff to copy."""

    def __init__(self):
        self.snippet = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = f"<!doctype html><title>Partner</title><body>{site.snippet}</body>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class EmbedTests:
    def test_it_is_framed_by_a_listed_site_signed_inside_and_refused_to_an_unlisted_one(self, browser, settings):
        petition, _ = petition_seed_load()
        with EmbeddingSite() as listed, EmbeddingSite() as unlisted:
            petition.embed_origins = f"{listed.origin}\n"
            petition.save()
            with WebServer() as site:
                settings.SITE_URL = site.url
                # The code the admin shows staff for the listed site; the
                # unlisted site copied it too.
                listed.snippet = unlisted.snippet = embed_snippet_for(petition, listed.origin)
                context = browser.new_context(viewport={"width": 1000, "height": 900})
                page = context.new_page()

                page.goto(listed.origin)
                frame = page.frame_locator("iframe[data-petition-embed]")
                frame.locator("#id_first_name").fill("Ana")
                frame.locator("#id_last_name").fill("Silva")
                frame.locator("#id_email").fill("ana@example.org")
                frame.locator("#id_country").select_option("PT")
                frame.locator("#id_letter_consent").check()
                # embed.js sizes the frame to the form it holds.
                frame_height = "document.querySelector('iframe[data-petition-embed]').getBoundingClientRect().height"
                wait_until(lambda: page.evaluate(frame_height) != 640, timeout=30, message="the frame resized")
                frame.locator("button[type=submit]").click()
                frame.locator("h1", has_text="check your email").wait_for(timeout=30000)
                signature = Signature.objects.get()
                assert signature.email == "ana@example.org"
                assert signature.embed_site == listed.origin
                assert not context.cookies()

                context.close()

                # A fresh browser (no cache of the frame from the listed site) on the unlisted site.
                context = browser.new_context(viewport={"width": 1000, "height": 900})
                page = context.new_page()
                # The frame is lazy: it loads once near the screen, so it is brought into view.
                with page.expect_response(lambda response: "/embed/" in response.url, timeout=30000) as embed:
                    page.goto(unlisted.origin)
                    page.locator("iframe[data-petition-embed]").scroll_into_view_if_needed()
                assert embed.value.status == 200
                assert embed.value.headers["content-security-policy"].count("frame-ancestors " + listed.origin) == 1
                # Chromium refuses the frame (frame-ancestors): it never shows the page in it. It
                # shows its own error page or an empty frame, and may say so in the console.
                page.wait_for_timeout(2000)
                assert not any("/embed/" in frame.url for frame in page.frames)
                assert page.frame_locator("iframe[data-petition-embed]").locator("#id_first_name").count() == 0
                assert Signature.objects.count() == 1
                context.close()

    def test_it_relaxes_framing_only_on_the_embed_routes(self, client, petition):
        petition.embed_origins = "https://partner.example.org/\nhttps://other.example.net"
        petition.save()

        embed = client.get(reverse("petitions:embed", args=[petition.slug]))
        page = client.get(reverse("petitions:detail", args=[petition.slug]))

        listed = "frame-ancestors https://partner.example.org https://other.example.net"
        assert listed in embed["Content-Security-Policy"]
        assert "X-Frame-Options" not in embed.headers
        assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
        assert page["X-Frame-Options"] == "DENY"

    def test_it_lets_no_site_frame_it_until_staff_list_one(self, client, petition):
        embed = client.get(reverse("petitions:embed", args=[petition.slug]))

        assert "frame-ancestors 'none'" in embed["Content-Security-Policy"]
