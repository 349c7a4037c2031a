"""Screening: deciding, silently, whether a signature should be held for review.

A signature from a blocklisted address, domain or IP range, or over one of
the rate limits, is accepted as far as the signer can tell, but held: no
email is sent, it does not count and no letter goes until a moderator
approves it. Bots learn nothing from the response.

IP addresses are never stored. A keyed hash (HMAC with a key derived from
SECRET_KEY) is kept on the signature for the limits and for bulk moderation,
and cleared after IP_HASH_RETENTION_DAYS by the privacy housekeeping task.
An IPv6 address is hashed by its /64 network, which is what one home or phone
is usually given.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import disposable_email_domains
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from petitions import caches
from petitions.addresses import domain_canonical, email_canonical, email_domain
from petitions.fastsql import window_counts
from petitions.models import BlockedSource, DisposableDomain, RateLimit, Signature

# Column each scope counts by; both have an index on (column, created_at).
_SCOPE_COLUMNS: dict[str, str] = {RateLimit.Scope.IP: "ip_hash", RateLimit.Scope.EMAIL_DOMAIN: "email_domain"}


def ip_hash(ip: str) -> str:
    """The keyed hash stored in place of an IP address ('' for no address)."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.version == 6:
        key = f"v6:{ipaddress.ip_network(f'{address}/64', strict=False).network_address}"
    else:
        key = f"v4:{address}"
    return salted_hmac("petitions.ip-hash", key, algorithm="sha256").hexdigest()[:32]


def _configuration() -> tuple[list[RateLimit], list[BlockedSource]]:
    """The active rate limits and the blocklist. Staff edit them rarely; reading
    them once per process every few seconds keeps them off the signing path."""
    return caches.screening.get(
        "limits-and-blocklist",
        lambda: (list(RateLimit.objects.filter(is_active=True)), list(BlockedSource.objects.all())),
    )


def _disposable_overrides() -> dict[str, bool]:
    """Staff's own word on domains, {domain: disposable?}, kept like the blocklist."""
    return caches.screening.get(
        "disposable-overrides",
        lambda: {domain_canonical(d.domain): d.disposable for d in DisposableDomain.objects.all()},
    )


def disposable_domain(domain: str) -> str | None:
    """The listed disposable domain that `domain` is or lies under, or None.
    Staff's entries win over the maintained list, the nearest domain first."""
    overrides = _disposable_overrides()
    labels = domain.split(".")
    for start in range(len(labels) - 1):
        candidate = ".".join(labels[start:])
        if candidate in overrides:
            return candidate if overrides[candidate] else None
        if candidate in disposable_email_domains.blocklist:
            return candidate
    return None


def _blocked_reason(blocked: list[BlockedSource], email: str, ip: str) -> str:
    canonical, domain = email_canonical(email), email_domain(email)
    address = None
    if ip:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            address = None
    disposable = disposable_domain(domain)
    if disposable:
        return f"disposable domain: {disposable}"
    for entry in blocked:
        if entry.kind == BlockedSource.Kind.EMAIL and email_canonical(entry.value) == canonical:
            return "blocklist: email address"
        value = entry.value.strip().lower()
        if entry.kind == BlockedSource.Kind.DOMAIN:
            blocked_domain = domain_canonical(value)
            if domain == blocked_domain or domain.endswith("." + blocked_domain):
                return f"blocklist: domain {value}"
        if entry.kind == BlockedSource.Kind.IP_RANGE and address is not None:
            try:
                if address in ipaddress.ip_network(value, strict=False):
                    return f"blocklist: IP range {value}"
            except ValueError:
                continue
    return ""


def blocked_reason(*, email: str, ip: str) -> str:
    """Why a new signature from this address and IP is held ('' if it is not
    blocklisted). Checked while signing: only then is the IP itself known."""
    _limits, blocked = _configuration()
    return _blocked_reason(blocked, email, ip)


def over_limit_reasons(signatures: Sequence[Signature]) -> dict[int, str]:
    """For each of these signatures that was over a rate limit when it was
    made, why: {signature id: reason}, from one query.

    A limit counts the signatures with the same IP hash or mail domain made
    within its window before this one (held ones too), as they stood when it
    was made, so the answer is the same whenever and however often it is asked.
    The outbox drain asks before it sends a confirmation email, in batches:
    signing itself then needs no query for the limits.
    """
    limits, _blocked = _configuration()
    if not signatures or not limits:
        return {}
    rows: list[list[Any]] = []
    for signature in signatures:
        row: list[Any] = [signature.pk, signature.created_at]
        for limit in limits:
            value = signature.ip_hash if limit.scope == RateLimit.Scope.IP else signature.email_domain
            applies = bool(value) and not (
                # Millions share these domains: in a real surge of signers they
                # would pass any per-domain limit and be held silently. The IP
                # limits still apply to them.
                limit.scope == RateLimit.Scope.EMAIL_DOMAIN and value in LARGE_PROVIDERS
            )
            # A limit that does not apply gets an empty window.
            since = signature.created_at - timedelta(seconds=limit.window_seconds) if applies else signature.created_at
            row += [value, since]
        rows.append(row)
    reasons: dict[int, str] = {}
    counted = window_counts(
        columns=[_SCOPE_COLUMNS[limit.scope] for limit in limits], caps=[limit.max_signatures for limit in limits],
        rows=rows,
    )
    for signature_id, *counts in counted:
        for limit, count in zip(limits, counts, strict=True):
            if count >= limit.max_signatures:
                reasons[signature_id] = f"over limit: {limit.name}"
                break
    return reasons


LARGE_PROVIDERS = {
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
    "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "mail.ru", "yandex.ru", "qq.com",
    "163.com", "proton.me", "protonmail.com", "orange.fr", "free.fr", "libero.it", "t-online.de",
}

DEFAULT_LIMITS = [
    {"name": "IP burst", "scope": RateLimit.Scope.IP, "window_seconds": 60, "max_signatures": 5},
    {"name": "IP sustained", "scope": RateLimit.Scope.IP, "window_seconds": 3600, "max_signatures": 30},
    {"name": "Email domain burst", "scope": RateLimit.Scope.EMAIL_DOMAIN, "window_seconds": 60, "max_signatures": 300},
]


def signatures_hold_over_limits(*, signatures: Sequence[Signature]) -> set[int]:
    """Hold for review, silently, those of these new signatures that were over
    a rate limit when they were made (no email, no count, no letter until a
    moderator approves); return their ids. The outbox drain calls this, a
    batch at a time, just before it would send their confirmation emails."""
    reasons = over_limit_reasons(signatures)
    if not reasons:
        return set()
    now = timezone.now()
    with transaction.atomic():
        for reason in set(reasons.values()):
            ids = [pk for pk, its_reason in reasons.items() if its_reason == reason]
            Signature.objects.filter(pk__in=ids, last_decision__isnull=True, flag_reason="").update(
                flag_reason=reason, flagged_at=now
            )
    return set(reasons)
