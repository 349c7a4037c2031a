"""The security baseline: deploy checks, headers, staff logins and sessions,
no enumeration of signers, and CSRF on everything that changes state.

Headers and cookies are read from the production app server (gunicorn) started
with production settings, behind what it takes for an HTTPS proxy."""

import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from anymail.webhooks.base import AnymailBaseWebhookView
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from petitions.models import Signature
from petitions.services import signing
from petitions.services.content import petition_seed_load
from petitions.tokens import confirmation_token_make, unsubscribe_token_make
from tests.conftest import FROM_THE_PETITION_PAGE, SIGNER
from tests.support.processes import WebServer

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_HOST = "petition.example.org"
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "SITE_URL": f"https://{PUBLIC_HOST}",
    "ALLOWED_HOSTS": PUBLIC_HOST,
    "DATABASE_URL": "postgres://campaign@db.internal:5432/campaign",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "EMAIL_BACKEND": "campaign.email_backends.ResendEmailBackend",
    "ANYMAIL_RESEND_API_KEY": "re_placeholder",
    "ANYMAIL_WEBHOOK_SECRET": "webhook:placeholder-secret",
    "PRIVACY_CONTROLLER": "Campaign Example, 1 Example Street, London",
    "PRIVACY_CONTACT_EMAIL": "privacy@campaign.example.org",
    "PRIVACY_EMAIL_PROVIDER": "Resend (Plus Five Five, Inc.)",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_PROXY_SSL_HEADER": "1",
    "SECURE_HSTS_SECONDS": str(365 * 24 * 3600),
    "SECURE_HSTS_PRELOAD": "1",
}
STAFF_PASSWORD = "correct horse battery staple"

# State-changing endpoints that deliberately take no CSRF token, and why:
CSRF_EXEMPT = {
    # RFC 8058 one-click unsubscribe: mail clients POST with no cookie; the
    # signed token in the URL authorises it, and all it can do is stop email.
    "petitions:unsubscribe",
    # The same, at the address unsubscribe links had before addresses carried
    # a language: a redirect would lose the mail client's POST.
    "unsubscribe_unprefixed",
    # The open API (django-ninja marks its views exempt): read-only, it
    # answers GET only (405 to anything else) and uses no cookie or session.
    "api-v1:openapi-json", "api-v1:petitions_list", "api-v1:petition_read", "api-v1:petition_countries",
    "api-v1:petition_comments", "api-v1:petition_delivery", "api-v1:api-root",
}
# Forms on a page cached whole and served to everyone, so without a per-visitor
# token: cross-origin POSTs are refused from the browser's own headers
# (campaign.cross_origin) instead.
CROSS_ORIGIN_PROTECTED = {"petitions:sign", "petitions:own_mail", "petitions:embed_sign"}


def _production_env(**overrides):
    import os

    return {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "campaign.settings"} | PRODUCTION | overrides


class DeployCheckTests:
    def test_check_deploy_with_production_settings_gives_no_warnings(self):
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues (0 silenced)." in result.stdout


class ContentSecurityPolicyTests:
    def test_no_page_template_has_inline_script_the_policy_would_block(self):
        # Emails are not pages: mail clients ignore the site's CSP.
        for template in sorted((ROOT / "templates").rglob("*.html")):
            if "emails" in template.parts:
                continue
            text = template.read_text()
            where = template.relative_to(ROOT)
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text, flags=re.I), f"inline <script> in {where}"
            assert not re.search(r"\son[a-z]+\s*=", text, flags=re.I), f"inline event handler in {where}"
            assert "javascript:" not in text.lower(), f"javascript: URL in {where}"


@pytest.fixture(scope="module")
def production_site(django_db_setup, django_db_blocker):
    """gunicorn with production settings on the test database; requests reach it
    as they would through the TLS-terminating proxy (Host and X-Forwarded-Proto)."""
    with django_db_blocker.unblock():
        # The test database, the test Redis and the test SECRET_KEY (so that the
        # tests can make tokens the server accepts); production for the rest.
        kept = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
        env = {name: value for name, value in PRODUCTION.items() if name not in kept}
        with WebServer(extra_env=env) as server:
            yield server


def _https(site, path, *, session=None, method="GET", **kwargs):
    headers = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https"} | kwargs.pop("headers", {})
    return (session or requests).request(
        method, site.url + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
    )


def _csp(response):
    policy = {}
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        policy[name] = values
    return policy


def _form_token(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class SecurityHeaderTests:
    def test_every_kind_of_page_carries_the_security_headers(self, production_site):
        petition, _ = petition_seed_load()
        pending = signing.signature_create(petition=petition, **_signer_fields(SIGNER)).signature
        pages = {
            "petition": f"/en/p/{petition.slug}/",
            # An address without a language, redirected by Accept-Language.
            "redirect": f"/p/{petition.slug}/",
            "confirm": reverse("petitions:confirm", args=[confirmation_token_make(pending, timezone.now())]),
            "privacy": "/ar/privacy/",
            "count": f"/fr/p/{petition.slug}/count.json",
            "not found": "/no/such/page/",
            "staff login": "/staff/login/",
        }
        for name, path in pages.items():
            response = _https(production_site, path)
            assert response.status_code in (200, 302, 404), (name, response.status_code)
            headers = response.headers
            assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload", name
            assert headers["X-Frame-Options"] == "DENY", name
            assert headers["Referrer-Policy"] == "same-origin", name
            assert headers["X-Content-Type-Options"] == "nosniff", name
            assert headers["Cross-Origin-Opener-Policy"] == "same-origin", name
            policy = _csp(response)
            assert policy["script-src"] == ["'self'"], name
            assert policy["default-src"] == ["'self'"], name
            assert policy["frame-ancestors"] == ["'none'"], name
            assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], name
            assert "'unsafe-inline'" not in headers["Content-Security-Policy"], name
            assert "'unsafe-eval'" not in headers["Content-Security-Policy"], name

    def test_plain_http_is_redirected_to_https(self, production_site):
        response = requests.get(
            production_site.url + "/privacy/", headers={"Host": PUBLIC_HOST}, allow_redirects=False, timeout=30
        )
        assert response.status_code == 301
        assert response.headers["Location"] == f"https://{PUBLIC_HOST}/privacy/"

    def test_staff_sessions_are_secure_httponly_samesite_and_short(self, production_site, superuser):
        # The cookies are Secure, so a client on plain HTTP to the test server
        # would not send them back: they are carried by hand, as a browser on
        # HTTPS would.
        page = _https(production_site, "/staff/login/")
        csrf_cookie = _cookie(page, "csrftoken")
        assert {"secure", "httponly"} <= set(csrf_cookie) and csrf_cookie["samesite"] == "Lax"
        response = _https(
            production_site, "/staff/login/?next=/staff/", method="POST",
            data={"username": superuser.username, "password": STAFF_PASSWORD, "next": "/staff/",
                  "csrfmiddlewaretoken": _form_token(page.text)},
            headers={"Referer": f"https://{PUBLIC_HOST}/staff/login/", "Cookie": f"csrftoken={csrf_cookie['value']}"},
        )
        assert response.status_code == 302, response.text[:500]
        session_cookie = _cookie(response, "sessionid")
        assert {"secure", "httponly"} <= set(session_cookie) and session_cookie["samesite"] == "Lax"
        assert session_cookie["path"] == "/" and "domain" not in session_cookie
        assert int(session_cookie["max-age"]) <= 8 * 3600
        staff_page = _https(production_site, "/staff/", headers={"Cookie": f"sessionid={session_cookie['value']}"})
        assert staff_page.status_code == 200


def _cookie(response, name):
    """The attributes of the cookie `name` set by a response, lower-cased, with its value."""
    for header in response.raw.headers.getlist("Set-Cookie"):
        cookie_name, _, rest = header.partition("=")
        if cookie_name == name:
            value, *attributes = rest.split(";")
            parsed = {"value": value}
            for attribute in attributes:
                key, _, attribute_value = attribute.strip().partition("=")
                parsed[key.lower()] = attribute_value
            return parsed
    raise AssertionError(f"{name} was not set")


def _signer_fields(data):
    return {
        "first_name": data["first_name"], "last_name": data["last_name"], "email": data["email"],
        "country": data["country"], "postcode": data.get("postcode", ""),
    }


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(
        username="chief", email="chief@campaign.example.org", password=STAFF_PASSWORD
    )


def _login(client, username, password, address="127.0.0.1"):
    return client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/staff/"}, REMOTE_ADDR=address
    )


@pytest.mark.django_db
class StaffLoginTests:
    @pytest.fixture(autouse=True)
    def _quick_password_hashing(self, settings):
        # Throttling is about counting attempts, not about the hash's cost.
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def test_repeated_failures_lock_that_login_from_that_address_even_with_the_right_password(self, client, superuser):
        for _ in range(4):
            response = _login(client, "chief", "wrong password")
            assert response.status_code == 200 and (
                "Please enter the correct username and password" in response.content.decode()
            )
        assert _login(client, "chief", "wrong password").status_code == 429
        locked = _login(client, "chief", STAFF_PASSWORD)
        assert locked.status_code == 429
        assert "too many login attempts" in locked.content.decode()
        assert "_auth_user_id" not in client.session
        assert AccessAttempt.objects.get(username="chief").failures_since_start >= 5

    def test_the_lockout_does_not_let_an_attacker_lock_staff_out_from_elsewhere(self, client, superuser):
        for _ in range(6):
            _login(client, "chief", "wrong password", address="203.0.113.9")
        response = _login(Client(), "chief", STAFF_PASSWORD, address="198.51.100.7")
        assert response.status_code == 302

    def test_behind_a_trusted_proxy_the_lock_follows_the_address_the_proxy_reports(self, client, superuser, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        for _ in range(5):
            client.post(
                reverse("admin:login"), {"username": "chief", "password": "wrong"}, HTTP_X_FORWARDED_FOR="203.0.113.9"
            )
        locked = client.post(
            reverse("admin:login"),
            {"username": "chief", "password": STAFF_PASSWORD},
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
        assert locked.status_code == 429
        elsewhere = Client().post(
            reverse("admin:login"),
            {"username": "chief", "password": STAFF_PASSWORD},
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )
        assert elsewhere.status_code == 302

    def test_the_lock_lifts_after_the_cool_off_period(self, client, superuser, settings):
        for _ in range(6):
            _login(client, "chief", "wrong password")
        assert _login(client, "chief", STAFF_PASSWORD).status_code == 429
        AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
        assert _login(client, "chief", STAFF_PASSWORD).status_code == 302

    @pytest.mark.parametrize(
        "password", ["short1!", "password1234", "123456789012345", "chief-campaign", "Chief@campaign.example.org"]
    )
    def test_weak_staff_passwords_are_refused(self, superuser, password):
        with pytest.raises(ValidationError):
            validate_password(password, user=superuser)

    def test_the_admin_refuses_a_weak_new_password_for_staff(self, client, superuser):
        client.force_login(superuser)
        url = reverse("admin:password_change")
        weak = client.post(
            url, {"old_password": STAFF_PASSWORD, "new_password1": "petition", "new_password2": "petition"}
        )
        assert weak.status_code == 200 and "This password is too short" in weak.content.decode()
        strong = "a long and unusual passphrase 7"
        changed = client.post(url, {"old_password": STAFF_PASSWORD, "new_password1": strong, "new_password2": strong})
        assert changed.status_code == 302

    def test_logging_in_gives_a_new_session_and_logging_out_ends_it(self, client, superuser):
        client.cookies["sessionid"] = "attacker-chosen-session-key-0123456789"
        assert _login(client, "chief", STAFF_PASSWORD).status_code == 302
        session_key = client.cookies["sessionid"].value
        assert session_key != "attacker-chosen-session-key-0123456789"
        client.post(reverse("admin:logout"))
        stolen = Client()
        stolen.cookies["sessionid"] = session_key
        assert stolen.get("/staff/").status_code == 302  # to the login page


def _without_csrf_tokens(received):
    received = re.sub(rb'(name="csrfmiddlewaretoken" value=")[^"]+', rb"\1TOKEN", received)
    return re.sub(rb"(csrftoken=)[^;]+", rb"\1TOKEN", received)


def _signing_visit(petition, data):
    """A fresh browser opens the petition and signs; returns every byte it
    received after the form, apart from CSRF tokens."""
    browser = Client(enforce_csrf_checks=True)
    browser.get(reverse("petitions:detail", args=[petition.slug]))
    response = browser.post(reverse("petitions:sign", args=[petition.slug]), data, headers=FROM_THE_PETITION_PAGE)
    received = [response.status_code, _without_csrf_tokens(response.serialize())]
    if response.status_code == 302:
        landing = browser.get(response["Location"])
        received += [landing.status_code, _without_csrf_tokens(landing.serialize())]
    return received


@pytest.mark.django_db
class EnumerationTests:
    def test_first_and_repeat_signers_get_byte_identical_responses(self, petition, settings):
        first = _signing_visit(petition, SIGNER)
        assert first[0] == 302
        repeat = dict(SIGNER, email="  AMIRA.haddad@Example.ORG ", first_name="Someone", last_name="Else")
        assert _signing_visit(petition, repeat) == first
        # Also once the repeat notices have run out, once confirmed, and once invalidated.
        for _ in range(settings.REPEAT_NOTICE_LIMIT):
            _signing_visit(petition, repeat)
        assert _signing_visit(petition, repeat) == first
        signature = Signature.objects.get()
        signing.signature_confirm(public_id=signature.public_id)
        assert _signing_visit(petition, repeat) == first
        Signature.objects.filter(pk=signature.pk).update(state=Signature.State.INVALIDATED)
        assert _signing_visit(petition, repeat) == first
        assert _signing_visit(petition, dict(SIGNER, email="someone.new@example.org")) == first

    def test_a_form_with_a_mistake_looks_the_same_for_a_new_and_a_known_address(self, petition):
        _signing_visit(petition, SIGNER)
        mistake = {"letter_consent": ""}
        known = _signing_visit(petition, dict(SIGNER, **mistake))
        # An address of the same length, so that even Content-Length may not differ.
        unknown = _signing_visit(petition, dict(SIGNER, email="zzzzz.haddad@example.org", **mistake))
        assert known[0] == 400
        assert known[1].replace(b"amira.haddad@example.org", b"EMAIL") == unknown[1].replace(
            b"zzzzz.haddad@example.org", b"EMAIL"
        )


def _patterns(resolver=None, prefix="", namespace=None):
    """(route, URL name with namespace, view) for every URL pattern of the site."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace])) or None
            yield from _patterns(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name, pattern.callback


def _exempt(name, view=None):
    if name in CSRF_EXEMPT:
        return True
    if name in CROSS_ORIGIN_PROTECTED:
        return getattr(view, "cross_origin_protected", view is None)
    # The ESP's webhooks: anymail authenticates them (shared secret and the ESP's signature).
    return issubclass(getattr(view, "view_class", object), AnymailBaseWebhookView)


@pytest.mark.django_db
class CsrfTests:
    def test_no_view_is_exempt_from_csrf_except_the_documented_ones(self):
        undocumented = {(route, name) for route, name, view in _patterns() if getattr(view, "csrf_exempt", False)
                        and not _exempt(name, view)}
        assert undocumented == set(), "add a reason to CSRF_EXEMPT, or protect the view"

    def test_every_public_post_without_a_token_is_refused(self, petition):
        signature = signing.signature_create(petition=petition, **_signer_fields(SIGNER)).signature
        samples = {
            "slug": petition.slug,
            "token": confirmation_token_make(signature, timezone.now()),
        }
        browser = Client(enforce_csrf_checks=True)
        checked = []
        for route, name, view in _patterns():
            if not name or not name.startswith("petitions:") or _exempt(name, view):
                continue
            arguments = {key: samples[key] for key in re.findall(r"<(?:\w+:)?(\w+)>", route)}
            url = reverse(name, kwargs=arguments)
            response = browser.post(url, dict(SIGNER))
            assert response.status_code == 403, (name, response.status_code)
            assert "Please try again" in response.content.decode(), name
            checked.append(name)
        assert "petitions:confirm" in set(checked)
        assert Signature.objects.get().state == Signature.State.PENDING
        assert Signature.objects.count() == 1

    @pytest.mark.parametrize("headers", [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://attacker.example"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://other.testserver"},
        {"Sec-Fetch-Site": "cross-site"},
        # A browser without Fetch Metadata (before 2023): Origin alone decides.
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},
    ])
    def test_a_signature_posted_from_another_site_is_refused(self, petition, headers):
        response = Client(enforce_csrf_checks=True).post(
            reverse("petitions:sign", args=[petition.slug]), dict(SIGNER), headers=headers
        )
        assert response.status_code == 403
        assert "sent from another website" in response.content.decode()
        assert not Signature.objects.exists()

    @pytest.mark.parametrize("headers", [
        FROM_THE_PETITION_PAGE,
        {"Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://testserver"},
        # Not a browser (no Origin, no Fetch Metadata): it cannot carry a victim's visit.
        {},
    ])
    def test_a_signature_posted_from_the_petition_page_is_taken(self, petition, headers):
        response = Client(enforce_csrf_checks=True).post(
            reverse("petitions:sign", args=[petition.slug]), dict(SIGNER), headers=headers
        )
        assert response.status_code == 302
        assert Signature.objects.count() == 1

    def test_only_the_confirm_button_page_sets_a_cookie_as_the_privacy_page_says(self, petition):
        signature = signing.signature_create(petition=petition, **_signer_fields(SIGNER)).signature
        pages = {
            "petitions:detail": [petition.slug], "petitions:signed": [petition.slug],
            "petitions:confirmed": [petition.slug], "petitions:privacy": [],
            "petitions:unsubscribe": [unsubscribe_token_make(signature.public_id)],
            "petitions:confirm": [confirmation_token_make(signature, timezone.now())],
        }
        cookies = {name: sorted(Client().get(reverse(name, args=args)).cookies) for name, args in pages.items()}
        assert cookies == {name: [] for name in pages} | {"petitions:confirm": ["csrftoken"]}
        assert "set no cookies" in Client().get(reverse("petitions:privacy")).content.decode()

    def test_the_petition_page_is_the_same_for_everyone_and_sets_no_cookie(self, petition):
        url = reverse("petitions:detail", args=[petition.slug])
        first, second = Client().get(url), Client().get(url)
        assert first.content == second.content
        assert not first.cookies and not second.cookies
        assert "csrfmiddlewaretoken" not in first.content.decode()
        assert "public" in first["Cache-Control"] and "Cookie" not in first.get("Vary", "")

    def test_staff_actions_without_a_token_are_refused(self, superuser):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(superuser)
        for url in [
            reverse("admin:login"),
            reverse("admin:logout"),
            reverse("admin:password_change"),
            reverse("admin:petitions_signature_changelist"),
            reverse("admin:petitions_target_add"),
            reverse("admin:auth_user_password_change", args=[superuser.pk]),
        ]:
            response = browser.post(url, {"action": "delete_selected", "_selected_action": [1], "password1": "x"})
            assert response.status_code == 403, url

    def test_every_form_that_posts_carries_the_csrf_token(self):
        for template in sorted((ROOT / "templates").rglob("*.html")):
            text = template.read_text()
            for form in re.findall(r"<form\b[^>]*>.*?</form>", text, flags=re.S | re.I):
                if not re.search(r'method="post"', form, flags=re.I):
                    continue
                # Every view the action may name (the sign form names the embed's when embedded).
                action = re.search(r'action="([^"]*)"', form)
                names = re.findall(r"\{% url '([\w:]+)'", action.group(1)) if action else []
                if names and all(_exempt(name) for name in names):
                    continue
                assert "{% csrf_token %}" in form, template.relative_to(ROOT)
