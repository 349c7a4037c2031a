"""Email addresses as the same mailbox: the one address rule of the project.

Every column that stores a comparable address (signatures' `email_normalized`
and `email_domain`, suppressions, blocklist values, mailing recipients'
`email_normalized`, ESP event recipients) is written through this module, so
that two spellings of one mailbox compare equal wherever they meet: one
signature per person, a bounce suppresses every spelling, a blocked domain
blocks however it is typed.

The spellings an attacker (or a phone keyboard) produces for one mailbox:
case, surrounding spaces, Gmail's ignored dots and plus-tags, plus-tags at
providers that ignore them, a domain in Unicode (`bücher.example`), in
punycode (`xn--bcher-kva.example`) or in full-width letters, full-width or
ideographic dots and at-signs, and invisible zero-width characters. All of them
map to one form here. Nothing in this module raises on any input: it is called
on whatever a form, an ESP webhook or staff typed.
"""

import unicodedata
from functools import lru_cache

import idna
from django.utils.crypto import salted_hmac

# Providers that ignore dots in the local part and everything after a "+".
_DOTS_AND_PLUS_IGNORED = {"gmail.com", "googlemail.com"}
# Providers that deliver "name+tag@" to "name@".
_PLUS_IGNORED = {
    "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
    "protonmail.com", "proton.me", "pm.me", "fastmail.com", "fastmail.fm", "yandex.com", "zoho.com",
}
# Domains that are one mailbox namespace under two names.
_DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}

# Invisible characters that render as nothing: removed first, so that
# "jane\u200bdoe" and "janedoe", or a joiner inside a domain, are one address.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
# Full-width, ideographic and half-width ideographic full stops. NFKC maps only
# the first to "."; the ideographic ones are dots in domains (UTS 46 maps them)
# and typed as dots by CJK keyboards, so they are dots everywhere here.
_DOTS = {0xFF0E: ".", 0x3002: ".", 0xFF61: "."}
_INVISIBLE_AND_DOTS = {**_ZERO_WIDTH, **_DOTS}

# Folding is repeated until it changes nothing (see _fold); it settles in one
# or two rounds, and this bound only stops a pathological input from looping.
_MAX_ROUNDS = 8
# Domains longer than this are canonicalised without the cache, so junk input
# cannot fill the process's memory.
_CACHED_DOMAIN_LENGTH = 255


def _typed(text: str) -> str:
    """What the person meant to type: zero-width characters removed, NFKC
    (full-width letters, "＠" and "．" become ASCII), ideographic dots as ".",
    trimmed. Zero-width characters go first so that NFKC can compose across
    where they were; they are removed again in case normalisation made one."""
    text = text.translate(_ZERO_WIDTH)
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE_AND_DOTS)
    return text.strip()


def _fold(text: str) -> str:
    """Case-folded, trimmed text that is its own NFKC form and its own lower().

    Casefolding after NFKC can leave text that is not NFKC any more (and a
    few casefolded letters, e.g. Cherokee, are upper case), so the steps are
    repeated until nothing changes: the result is a fixed point, which is what
    makes email_canonical idempotent and keeps the column's check constraint
    (value = lower(value)) true."""
    for _ in range(_MAX_ROUNDS):
        folded = unicodedata.normalize("NFKC", text.casefold()).translate(_INVISIBLE_AND_DOTS).lower().strip()
        if folded == text and unicodedata.normalize("NFKC", folded) == folded:
            break
        text = unicodedata.normalize("NFKC", folded) if folded == text else folded
    return text


def _a_label(domain: str) -> str | None:
    """The domain's IDNA 2008 ASCII form with UTS 46 mapping (lower case,
    "bücher.example" -> "xn--bcher-kva.example"), without a trailing root dot;
    None where IDNA rejects it. Non-transitional, as browsers and registries
    now are: "faß.de" stays a different domain from "fass.de"."""
    try:
        ascii_form = idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except (UnicodeError, ValueError):  # idna.IDNAError is a UnicodeError
        return None
    if ascii_form.endswith("."):
        ascii_form = ascii_form[:-1]
    return ascii_form or None


def _domain_uncached(domain: str) -> str:
    """See _domain."""
    ascii_form = _a_label(domain)
    if ascii_form is None:
        folded = _fold(domain)
        ascii_form = _a_label(folded) if folded != domain else None
        if ascii_form is None:
            # Not a domain IDNA accepts (an underscore, an emoji, an empty
            # label): still compared case- and width-insensitively.
            return folded
    return _DOMAIN_ALIASES.get(ascii_form, ascii_form)


@lru_cache(maxsize=8192)
def _domain_cached(domain: str) -> str:
    """See _domain. A few domains (gmail.com, ...) are most of all addresses,
    and IDNA is the slow part of the rule."""
    return _domain_uncached(domain)


def _domain(domain: str) -> str:
    """The canonical form of a domain already passed through _typed: its
    lower-case A-label, alias-mapped (googlemail.com -> gmail.com); or, where
    IDNA rejects it, its folded text, so that this never raises."""
    if len(domain) <= _CACHED_DOMAIN_LENGTH:
        return _domain_cached(domain)
    return _domain_uncached(domain)


def _provider_rule(local: str, domain: str) -> str:
    """The local part as the provider delivers it: without a plus-tag where the
    provider ignores it, and without dots at Gmail. Never empty if it was not:
    "+tag@gmail.com" keeps its text rather than becoming "@gmail.com"."""
    if domain in _DOTS_AND_PLUS_IGNORED or domain in _PLUS_IGNORED:
        local = local.split("+", 1)[0] or local
    if domain in _DOTS_AND_PLUS_IGNORED:
        local = local.replace(".", "") or local
    return local


def _local(local: str, domain: str) -> str:
    """The canonical local part: folded, then the provider's rule, trimmed
    ("jane @gmail.com" is a typo of "jane@gmail.com"). Removing a dot can let
    NFKC compose the letters either side of it, or leave a space at the edge,
    so these are repeated until nothing changes (the idempotence
    email_canonical needs)."""
    for _ in range(_MAX_ROUNDS):
        canonical = _provider_rule(_fold(local), domain).strip()
        if canonical == local:
            break
        local = canonical
    return local


def email_canonical(address: str) -> str:
    """The comparable form of an address: two spellings of one mailbox give
    the same string, two mailboxes give different ones.

    Used for every stored, compared address: the one-signature-per-address
    rule, suppressions, the blocklist, mailing recipients and ESP events all
    match on it, so they must agree on it. The domain becomes its IDNA A-label
    (Unicode, punycode and full-width spellings of a domain are one domain),
    the local part is case-folded, and provider rules (Gmail's dots, plus-tags)
    apply to the canonical domain. The result equals its own lower(), as the
    database's check constraint requires, and email_canonical of it is itself.
    Never raises: junk gives folded junk, which matches nothing real."""
    text = _typed(address)
    local, at, domain = text.rpartition("@")
    if not at:
        return _fold(text)
    domain = _domain(domain.strip())
    return f"{_local(local, domain)}@{domain}"


def email_domain(address: str) -> str:
    """The canonical domain of an address ("" if it has no "@"): the same
    A-label, alias-mapped, that email_canonical puts after the "@", so that
    per-domain rate limits and domain blocklists count every spelling of a
    domain as one."""
    local, at, domain = _typed(address).rpartition("@")
    return _domain(domain.strip()) if at else ""


def domain_canonical(domain: str) -> str:
    """The canonical form of a bare domain as staff type it into the
    blocklist ("@Bücher.example", ".example.org"): a leading "@" or "." is
    dropped, then the same rule as email_domain, so that a stored entry
    compares equal to the domains of the addresses it should block."""
    for _ in range(_MAX_ROUNDS):
        # Repeated for "@ @x": stripping can bare another leading "@" or ".".
        canonical = _domain(_typed(domain).lstrip("@.").strip())
        if canonical == domain:
            break
        domain = canonical
    return canonical


def email_for_sending(address: str) -> str:
    """The address to hand to the ESP: as typed (NFKC, zero-width characters
    removed, ideographic dots as ".", trimmed), the local part's case kept
    (a mailbox may, in theory, be case-sensitive), and the domain as its IDNA
    A-label, so an ESP without SMTPUTF8 can still deliver to a Unicode domain.
    No provider rule or alias is applied: it goes to the mailbox the person
    gave. Never raises; a domain IDNA rejects is left as typed."""
    text = _typed(address)
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    local, domain = local.strip(), domain.strip()
    return f"{local}@{_domain_for_sending(domain)}"


@lru_cache(maxsize=8192)
def _domain_for_sending(domain: str) -> str:
    """The domain as its A-label, else as typed; kept per process like _domain_cached."""
    return _a_label(domain) or _a_label(_fold(domain)) or domain


def address_hash(canonical: str) -> str:
    """A keyed hash of a canonical address (HMAC-SHA256, key derived from
    SECRET_KEY): it matches the same mailbox again but cannot be read back.
    Kept for suppressions after erasure. Rotating SECRET_KEY without
    rehashing makes old hashes match nothing."""
    return salted_hmac("petitions.address-hash", canonical, algorithm="sha256").hexdigest()
