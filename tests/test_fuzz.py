"""Property-based fuzzing of what the public can send: the signing form and the
endpoints that take a token from an email (confirm, unsubscribe).

Thousands of generated inputs: very long strings, control characters, mixed
scripts, markup and header-injection probes, malformed and forged tokens. For
every one: never a server error, never an unescaped value in a page or an email,
never a header injection, and a token never acts on any signature but its own.

Probes carry sentinels (an element `<fuzztag>`, an attribute `fuzzattr`): a page
or email whose parsed HTML contains either let a value through unescaped.

A new endpoint taking a token is one more entry in TOKEN_ENDPOINTS.
`FUZZ_EXAMPLES` sets the number of inputs per test (FAULTS_LONG=1: 10,000,
and a fresh random seed each run; otherwise a fixed seed, so CI is repeatable).
"""

import email
import email.policy
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from campaign.email_backends import ResendEmailBackend
from petitions import emails
from petitions.models import Letter, Signature, Suppression
from petitions.services import signing as signing_service
from petitions.tokens import (
    TokenInvalid,
    confirmation_token_make,
    confirmation_token_read,
    unsubscribe_token_make,
    unsubscribe_token_read,
)
from tests.support.fault_fixtures import LONG

pytestmark = pytest.mark.django_db

# Inputs per test. A signing input costs a full page or a signature with its
# emails (tens of ms); a token input costs two small pages.
FORM_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or (10_000 if LONG else 400))
TOKEN_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or (10_000 if LONG else 1500))


def fuzz_settings(examples):
    return hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=not LONG,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )

SENTINEL_TAG, SENTINEL_ATTRIBUTE = "fuzztag", "fuzzattr"
PROBES = [
    "<fuzztag>", "</textarea><fuzztag>", '"><fuzztag fuzzattr=1>', "'><fuzztag fuzzattr=1>", '" fuzzattr="1',
    "' fuzzattr='1", "<fuzztag fuzzattr=x/>", "<script>fuzz()</script>", "<img src=x fuzzattr=1>", "javascript:fuzz()",
    "&lt;fuzztag&gt;", "&#60;fuzztag&#62;", "{{ 7|add:7 }}", "{% csrf_token %}", "${7*7}", "%(name)s",
    "\r\nBcc: fuzz@evil.example", "\nSubject: fuzz", "\r\n\r\n<fuzztag>", "%0d%0aBcc:%20fuzz@evil.example",
    "=?utf-8?q?fuzz=0D=0ABcc:_fuzz@evil.example?=", "\x00", "\x1b[31m", "\u202e", "\u2028", "\ufeff", "\u200d",
    "\u0085", ",", ";", "<", ">", '"', "'", "&", "\\",
]
NAMES = [
    "Amira", "Zoë Ó Súilleabháin", "أميرة حداد", "Амира", "アミラ", "אמירה", "𝔄𝔪𝔦𝔯𝔞", "👩🏽\u200d🦱",
    "ǅ", "ß", "İ", "a\u0301", "O'Brien", "Jean-Luc", "محمد\u200cرضا",
]
pieces = st.one_of(st.sampled_from(PROBES), st.sampled_from(NAMES), st.text(max_size=12))
nasty_text = st.one_of(
    st.lists(pieces, min_size=1, max_size=6).map("".join),
    st.text(min_size=100, max_size=2000),
    st.builds(lambda piece, count: piece * count, st.sampled_from(["A", "é", "<fuzztag>", "\x07", "😀"]),
              st.integers(100, 20_000)),
)
names = st.one_of(
    st.sampled_from(NAMES), nasty_text, st.text(st.characters(categories=["L", "M", "Zs"]), min_size=1, max_size=40)
)
addresses = st.one_of(
    st.emails(),
    st.emails().map(lambda address: address + "\r\nBcc: fuzz@evil.example"),
    st.builds(
        lambda local, domain: f"{local}@{domain}",
        nasty_text,
        st.sampled_from(["example.org", "EXAMPLE.org", "bücher.example"]),
    ),
    st.builds(lambda name, address: f'"{name}" <{address}>', names, st.emails()),
    nasty_text,
)
wild_forms = st.fixed_dictionaries(
    {
        "first_name": names,
        "last_name": names,
        "email": addresses,
        "country": st.one_of(st.sampled_from(["TN", "LY", "FR", "GB", "tn", "XX"]), nasty_text),
    },
    optional={
        "postcode": st.one_of(st.just(""), st.from_regex(r"[A-Z0-9][A-Z0-9 -]{0,15}", fullmatch=True), nasty_text),
        "letter_consent": st.sampled_from(["on", "on", "on", "", "off", "<fuzztag>"]),
        "reply_consent": st.sampled_from(["on", "", "<fuzztag>"]),
        "updates_consent": st.sampled_from(["on", ""]),
        "website": st.one_of(st.just(""), st.just(""), nasty_text),
    },
)
# Forms a person could send, with names in any script and probes mixed into
# them, so that many are accepted and reach the emails and the letter.
plausible_names = st.lists(st.one_of(st.sampled_from(NAMES), st.sampled_from(PROBES)), min_size=1, max_size=4).map(
    lambda parts: "Amira" + "".join(parts)
)
plausible_forms = st.fixed_dictionaries(
    {
        "first_name": plausible_names,
        "last_name": plausible_names,
        "email": st.emails(),
        "country": st.sampled_from(["TN", "LY", "IE", "JP", "IL", "RU"]),
        "letter_consent": st.just("on"),
    },
    optional={
        "postcode": st.from_regex(r"[A-Z0-9][A-Z0-9 -]{0,15}", fullmatch=True),
        "reply_consent": st.just("on"),
        "updates_consent": st.just("on"),
    },
)
signing_forms = st.one_of(wild_forms, plausible_forms)


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.inline_scripts, self.script_urls = set(), set(), 0, []
        self._in_script_without_src = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        self.script_urls += [value for _, value in attrs if value and value.strip().lower().startswith("javascript:")]
        self._in_script_without_src = tag == "script" and not dict(attrs).get("src")

    def handle_endtag(self, tag):
        self._in_script_without_src = False

    def handle_data(self, data):
        if self._in_script_without_src and data.strip():
            self.inline_scripts += 1


def assert_markup_safe(html, where):
    markup = _Markup()
    markup.feed(html)
    markup.close()
    assert SENTINEL_TAG not in markup.tags, f"an unescaped element in {where}"
    assert SENTINEL_ATTRIBUTE not in markup.attributes, f"an unescaped attribute in {where}"
    assert markup.inline_scripts == 0 and markup.script_urls == [], f"script injected into {where}"


def assert_response_safe(response, where):
    assert response.status_code < 500, f"{where}: server error {response.status_code}"
    for name, value in response.items():
        assert "\r" not in value and "\n" not in value, f"{where}: line break in response header {name}"
    if response.get("Content-Type", "").startswith("text/html"):
        assert_markup_safe(response.content.decode(), where)


_ALLOWED_HEADERS = {
    "from", "to", "reply-to", "subject", "date", "message-id", "mime-version", "content-type",
    "content-transfer-encoding", "list-unsubscribe", "list-unsubscribe-post",
}


def assert_email_safe(message, *, to, where):
    """The message as Django serialises it and as anymail sends it to the ESP:
    only our headers, one recipient, and HTML with nothing unescaped."""
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
    assert {name.lower() for name in parsed.keys()} <= _ALLOWED_HEADERS, f"{where}: {parsed.keys()}"
    assert [address.addr_spec.lower() for address in parsed["To"].addresses] == [to.lower()], where
    assert len(parsed["From"].addresses) == 1 and len(parsed["Reply-To"].addresses) == 1, where
    html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    assert_markup_safe(html, where)
    payload = ResendEmailBackend(api_key="fuzz").build_message_payload(message, {})
    data = json.loads(payload.serialize_data())
    for field in ("from", "subject"):
        assert "\r" not in data[field] and "\n" not in data[field], f"{where}: line break in {field}"
    for field in ("to", "reply_to"):
        for value in data.get(field) or []:
            assert "\r" not in value and "\n" not in value, f"{where}: line break in {field}"
    assert len(data["to"]) == 1, where
    for name, value in (data.get("headers") or {}).items():
        assert "\r" not in value and "\n" not in value, f"{where}: line break in header {name}"


def assert_signer_emails_safe(signature):
    now = timezone.now()
    supporter_messages = {
        "confirmation": emails.confirmation_email(signature, issued_at=now),
        "already signed": emails.already_signed_email(signature, issued_at=now),
        "thanks": emails.thanks_email(signature, issued_at=now),
        "reminder": emails.reminder_email(signature, issued_at=now, number=1),
    }
    for kind, message in supporter_messages.items():
        assert_email_safe(message, to=signature.email, where=f"the {kind} email")
    # The letters as they are sent: made by confirming, then read back from the database.
    signing_service.signature_confirm(public_id=signature.public_id)
    for letter in Letter.objects.filter(signature=signature).select_related("target"):
        message = emails.letter_email(letter)
        assert_email_safe(message, to=letter.target.email, where="the letter")
        # As the ESP receives it: the signer's name, whole and on one line, as the
        # display name of our own address.
        sent = json.loads(ResendEmailBackend(api_key="fuzz").build_message_payload(message, {}).serialize_data())
        assert parseaddr(sent["from"]) == (" ".join(signature.full_name.split()), settings.LETTER_FROM_EMAIL)
        assert [parseaddr(address)[1] for address in sent["reply_to"]] == [letter.reply_to]


def _normalised(response):
    """Every byte of a response but the CSRF token, which differs by design."""
    return re.sub(rb'(name="csrfmiddlewaretoken" value=")[^"]+', rb"\1TOKEN", response.serialize())


class SigningFuzzTests:
    def test_the_signing_form_takes_anything_safely(self, petition, fault_report):
        url = reverse("petitions:sign", args=[petition.slug])
        browser = Client()
        seen = {"inputs": 0, "accepted": 0, "refused": 0}

        @fuzz_settings(FORM_EXAMPLES)
        @given(form=signing_forms)
        def sign_anything(form):
            seen["inputs"] += 1
            with transaction.atomic():
                first = browser.post(url, form)
                assert_response_safe(first, "the signing response")
                assert first.status_code in (302, 400), first.status_code
                if first.status_code == 302:
                    assert first["Location"] == reverse("petitions:signed", args=[petition.slug])
                    signature = Signature.objects.filter(petition=petition).first()
                    if signature is not None:
                        seen["accepted"] += 1
                        assert_signer_emails_safe(signature)
                    # Whoever the address belongs to, a second try looks the same.
                    again = browser.post(url, form)
                    assert _normalised(again) == _normalised(first)
                else:
                    seen["refused"] += 1
                    assert not Signature.objects.exists()
                transaction.set_rollback(True)

        sign_anything()
        fault_report.add("fuzz signing-form", **seen, server_errors=0, unescaped=0, header_injections=0)
        assert seen["accepted"] > FORM_EXAMPLES // 10, "the fuzz must reach the accepted path often enough to test it"


@dataclass(frozen=True)
class TokenEndpoint:
    """A page reached by a link with a signed token: what it is, how its tokens
    are made and read, and which signatures it has acted on so far."""

    url_name: str
    make: Callable
    read: Callable
    acted_on: Callable
    statuses: frozenset

    def __str__(self):
        return self.url_name


def _confirmed():
    return set(Signature.objects.filter(state=Signature.State.CONFIRMED).values_list("public_id", flat=True))


def _unsubscribed():
    return set(
        Signature.objects.filter(
            email_normalized__in=Suppression.objects.values("email_normalized")
        ).values_list("public_id", flat=True)
    )


TOKEN_ENDPOINTS = [
    TokenEndpoint(
        "petitions:confirm", lambda signature: confirmation_token_make(signature, timezone.now()),
        confirmation_token_read, _confirmed, frozenset({200, 302, 400, 404, 410}),
    ),
    TokenEndpoint(
        "petitions:unsubscribe", lambda signature: unsubscribe_token_make(signature.public_id),
        unsubscribe_token_read, _unsubscribed, frozenset({200, 400, 404}),
    ),
]
TOKEN_CHARACTERS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_:=+/."


def malformed_tokens(real, other_signature_id):
    """Tokens near the real one (changed, cut, lengthened, spliced with another
    signature's id, signed for another purpose) and anything at all."""
    value, _, rest = real.partition(":")
    return st.one_of(
        st.builds(
            lambda i, c: real[:i] + c + real[i + 1:], st.integers(0, len(real) - 1), st.sampled_from(TOKEN_CHARACTERS)
        ),
        st.integers(0, len(real) - 1).map(lambda i: real[:i]),
        st.text(max_size=30).map(lambda tail: real + tail),
        st.just(f"{other_signature_id}:{rest}"),
        st.just(signing.TimestampSigner(salt="petitions.other-purpose").sign(other_signature_id)),
        st.just(signing.Signer(salt="petitions.other-purpose").sign(other_signature_id)),
        st.just(real.upper()),
        st.just(value),
        nasty_text,
        st.text(alphabet=TOKEN_CHARACTERS, max_size=200),
    )


def _token_path(url_name, token):
    # Built by hand: reverse() refuses what the URL pattern would not match.
    prefix = reverse(url_name, args=["x"]).removesuffix("x/")
    return prefix + quote(token, safe="") + "/"


class TokenFuzzTests:
    @pytest.mark.parametrize("endpoint", TOKEN_ENDPOINTS, ids=str)
    def test_a_malformed_or_forged_token_never_errs_and_never_acts_on_another_signature(
        self, endpoint, client, petition, signer, fault_report
    ):
        mine = signing_service.signature_create(petition=petition, **_signature_fields(signer)).signature
        other = signing_service.signature_create(
            petition=petition, **_signature_fields(signer | {"email": "someone.else@example.org"})
        ).signature
        real = endpoint.make(mine)
        seen = {"inputs": 0, "refused": 0, "acted_on_own_signature": 0}

        @fuzz_settings(TOKEN_EXAMPLES)
        @given(token=malformed_tokens(real, other.public_id.hex))
        def use_token(token):
            seen["inputs"] += 1
            path = _token_path(endpoint.url_name, token)
            try:
                own = {endpoint.read(token)}
            except TokenInvalid:
                own = set()
            with transaction.atomic():
                for method in (client.get, client.post):
                    response = method(path)
                    assert_response_safe(response, f"{endpoint} {method.__name__.upper()}")
                    assert response.status_code in endpoint.statuses, (token, response.status_code)
                acted_on = endpoint.acted_on()
                assert acted_on <= own, f"a token acted on a signature it was not made for: {token!r}"
                seen["acted_on_own_signature"] += bool(acted_on)
                seen["refused"] += not own
                transaction.set_rollback(True)

        use_token()
        fault_report.add(f"fuzz {endpoint.url_name.split(':')[1]}-token", **seen, server_errors=0, acted_on_another=0)
        assert endpoint.acted_on() == set()

    @pytest.mark.parametrize("endpoint", TOKEN_ENDPOINTS, ids=str)
    def test_the_real_token_still_works_after_the_fuzz(self, endpoint, client, petition, signer):
        # The fuzz above can only pass if its properties can fail: the real
        # token is accepted and does act, on its own signature alone.
        mine = signing_service.signature_create(petition=petition, **_signature_fields(signer)).signature
        someone_else = signer | {"email": "someone.else@example.org"}
        signing_service.signature_create(petition=petition, **_signature_fields(someone_else))
        response = client.post(_token_path(endpoint.url_name, endpoint.make(mine)))
        assert response.status_code in (200, 302)
        assert endpoint.acted_on() == {mine.public_id}

    def test_an_expired_confirmation_token_is_refused(self, client, petition, signer):
        mine = signing_service.signature_create(petition=petition, **_signature_fields(signer)).signature
        old = confirmation_token_make(mine, timezone.now() - settings.CONFIRMATION_MAX_AGE - timedelta(minutes=1))
        assert client.post(_token_path("petitions:confirm", old)).status_code == 410
        assert _confirmed() == set()


def _signature_fields(data):
    return {key: data[key] for key in ("first_name", "last_name", "email", "country")}
