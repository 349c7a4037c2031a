"""Deciding, silently, whether a signature should be held for review.

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

import ipaddress

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from petitions.addresses import email_canonical, email_domain
from petitions.models import BlockedSource, RateLimit, Signature
from petitions.process_cache import ProcessCache

# Staff edit limits and the blocklist rarely; reading them once per process
# every few seconds keeps them off the signing path's queries.
_CONFIG_SECONDS = 10
_config = ProcessCache(_CONFIG_SECONDS)


def ip_hash(ip):
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


def client_ip(request):
    """The signer's IP: REMOTE_ADDR, or the proxy-reported address when
    TRUSTED_PROXY_COUNT proxies we run stand in front of the app."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def config_forget(**_signal_arguments):
    """Drop this process's copy of the limits and blocklist. A save or delete
    of either clears it (petitions.apps); a queryset update() needs this call."""
    _config.clear()


def _configuration():
    return _config.get(
        "limits-and-blocklist",
        lambda: (list(RateLimit.objects.filter(is_active=True)), list(BlockedSource.objects.all())),
    )


def _blocked_reason(blocked, email, ip):
    canonical, domain = email_canonical(email), email_domain(email)
    address = None
    if ip:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            address = None
    for entry in blocked:
        value = entry.value.strip().lower()
        if entry.kind == BlockedSource.Kind.EMAIL and email_canonical(value) == canonical:
            return "blocklist: email address"
        if entry.kind == BlockedSource.Kind.DOMAIN and (domain == value or domain.endswith("." + value)):
            return f"blocklist: domain {value}"
        if entry.kind == BlockedSource.Kind.IP_RANGE and address is not None:
            try:
                if address in ipaddress.ip_network(value, strict=False):
                    return f"blocklist: IP range {value}"
            except ValueError:
                continue
    return ""


def blocked_reason(*, email, ip):
    """Why a new signature from this address and IP is held ('' if it is not
    blocklisted). Checked while signing: only then is the IP itself known."""
    _limits, blocked = _configuration()
    return _blocked_reason(blocked, email, ip)


def over_limit_reasons(signatures):
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
    rows = []
    for signature in signatures:
        row = [signature.pk, signature.created_at]
        for limit in limits:
            value = signature.ip_hash if limit.scope == RateLimit.Scope.IP else signature.email_domain
            applies = bool(value) and not (
                # Millions share these domains: in a real surge of signers they
                # would pass any per-domain limit and be held silently. The IP
                # limits still apply to them.
                limit.scope == RateLimit.Scope.EMAIL_DOMAIN and value in LARGE_PROVIDERS
            )
            # A limit that does not apply gets an empty window.
            since = signature.created_at - timezone.timedelta(seconds=limit.window_seconds) if applies else signature.created_at
            row += [value, since]
        rows.append(row)
    reasons = {}
    for signature_id, *counts in _counts_capped(limits, rows):
        for limit, count in zip(limits, counts):
            if count >= limit.max_signatures:
                reasons[signature_id] = f"over limit: {limit.name}"
                break
    return reasons


# Column each scope counts by; both have an index on (column, created_at).
_SCOPE_COLUMNS = {RateLimit.Scope.IP: "ip_hash", RateLimit.Scope.EMAIL_DOMAIN: "email_domain"}


def _counts_capped(limits, rows):
    """For each row (signature id, its created_at, then a value and a start
    per limit), the id and, per limit, the signatures with that value made
    between the start and that signature, counted no further than the limit
    (whether it is reached is all that matters).

    One statement whatever the number of rows: the rows travel as a VALUES
    list, so PostgreSQL plans the counting once, not once per row and limit
    (planning a subquery per row and limit was most of the drain's database
    time). The window ends strictly before the signature's own time, so the
    range stays on the (column, created_at) index."""
    quote = connection.ops.quote_name
    table = quote(Signature._meta.db_table)
    names = ["id", "made"] + [name for number in range(len(limits)) for name in (f"v{number}", f"s{number}")]
    counts = [
        f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} AS earlier WHERE earlier.{quote(_SCOPE_COLUMNS[limit.scope])}"
        f" = given.v{number} AND earlier.created_at > given.s{number} AND earlier.created_at < given.made"
        f" LIMIT {int(limit.max_signatures)}) AS window_{number})"
        for number, limit in enumerate(limits)
    ]
    placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
    params = []
    for signature_id, made, *windows in rows:
        params += [signature_id, connection.ops.adapt_datetimefield_value(made)]
        for position in range(0, len(windows), 2):
            params += [windows[position], connection.ops.adapt_datetimefield_value(windows[position + 1])]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH given ({', '.join(names)}) AS (VALUES {', '.join([placeholders] * len(rows))})"
            f" SELECT given.id, {', '.join(counts)} FROM given",
            params,
        )
        return cursor.fetchall()


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
