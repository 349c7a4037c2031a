"""Waves: a surge of signatures from many IP addresses that share something a
crowd of real people would not, held silently for review like the rate limits.

Per-IP limits miss a botnet: 500 signatures from 500 addresses pass them all.
What such a wave shares is its mail domain (one throwaway domain, or a few in
turn) or the pattern of its made-up names. So, for the signatures the outbox
drain is about to email, this looks at the last WAVE_WINDOW of the petition:

- a mail domain (other than the large webmail providers millions share) with
  at least WAVE_MIN_SIGNATURES signatures in the window, and more than
  WAVE_FACTOR times its own average over the day before, is a wave;
- so is a name pattern: the same full name, or names with digits in them
  shaped alike ("User 4821", "user 1193": "a 9"), WAVE_MIN_SIGNATURES times
  in the window.

Every undecided signature of the wave in the window is then flagged, those
already emailed included: their confirmation may have gone, but their letters
wait (petitions.services.letters holds a flagged signature's letters) until a
moderator approves or invalidates the wave, which the review queue and the
bulk invalidation by domain or time window do in one step.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from petitions.models import Signature
from petitions.services.screening import LARGE_PROVIDERS

WAVE_WINDOW = timedelta(minutes=5)
BASELINE = timedelta(hours=24)
WAVE_FACTOR = 5
# A wave is also at least this share of the window's signatures: in a real
# surge of tens of thousands, a common name or a mid-sized provider is a small
# share, while a botnet's domain or naming pattern is most of what arrives.
WAVE_SHARE = 0.05
# At most this many recent names are read to look for a pattern.
NAME_SAMPLE = 5000


def _surging(in_window: int, in_baseline: int, window_total: int) -> bool:
    """More than the floor and the share, and far more than this source's usual."""
    usual = in_baseline / (BASELINE / WAVE_WINDOW)
    return _large(in_window, window_total) and in_window > WAVE_FACTOR * (usual + 1)


def _large(count: int, window_total: int) -> bool:
    return count >= settings.WAVE_MIN_SIGNATURES and count >= WAVE_SHARE * window_total


def name_pattern(first_name: str, last_name: str) -> str:
    """What made-up names share: the full name itself, or, for names with
    digits, their shape (letters as "a", digits as "9", runs as one)."""
    full = " ".join(f"{first_name} {last_name}".casefold().split())
    if not any(char.isdigit() for char in full):
        return full
    shape = "".join("9" if char.isdigit() else "a" if char.isalpha() else char for char in full)
    return re.sub(r"(.)\1+", r"\1", shape)


def waves_flag(*, signatures: Sequence[Signature]) -> set[int]:
    """Flag, silently, the waves these new signatures belong to (every
    undecided signature of each wave in the window); return the ids among
    `signatures` that were flagged."""
    by_petition: dict[int, list[Signature]] = defaultdict(list)
    for signature in signatures:
        by_petition[signature.petition_id].append(signature)
    flagged: set[int] = set()
    for petition_id, group in by_petition.items():
        newest = max(signature.created_at for signature in group)
        window = Signature.objects.filter(
            petition_id=petition_id, created_at__gt=newest - WAVE_WINDOW, created_at__lte=newest
        )
        undecided = window.filter(flag_reason="", last_decision__isnull=True).exclude(state=Signature.State.INVALIDATED)
        for reason, members in _waves(petition_id, group, newest).items():
            now = timezone.now()
            undecided.filter(pk__in=members).update(flag_reason=reason[:200], flagged_at=now)
            flagged |= {signature.pk for signature in group if signature.pk in members}
    return flagged


def _waves(petition_id: int, group: list[Signature], newest: datetime) -> dict[str, set[int]]:
    """{reason: ids of the signatures in the window that belong to that wave}."""
    start = newest - WAVE_WINDOW
    recent = Signature.objects.filter(petition_id=petition_id, created_at__gt=start, created_at__lte=newest)
    waves: dict[str, set[int]] = {}
    window_total = recent.count()
    domains = {s.email_domain for s in group if s.email_domain and s.email_domain not in LARGE_PROVIDERS}
    if domains:
        counts = (
            Signature.objects.filter(
                petition_id=petition_id, email_domain__in=domains, created_at__gt=start - BASELINE,
                created_at__lte=newest,
            )
            .values("email_domain")
            .annotate(
                in_window=Count("pk", filter=Q(created_at__gt=start)),
                in_baseline=Count("pk", filter=Q(created_at__lte=start)),
            )
        )
        for row in counts:
            if _surging(row["in_window"], row["in_baseline"], window_total):
                members = set(recent.filter(email_domain=row["email_domain"]).values_list("pk", flat=True))
                waves[f"wave: {row['in_window']} signatures from {row['email_domain']} in 5 minutes"] = members
    names = list(recent.values_list("pk", "first_name", "last_name")[:NAME_SAMPLE])
    patterns = Counter(name_pattern(first, last) for _pk, first, last in names)
    wanted = {name_pattern(s.first_name, s.last_name) for s in group}
    for pattern, count in patterns.items():
        if pattern in wanted and _large(count, min(window_total, NAME_SAMPLE)):
            members = {pk for pk, first, last in names if name_pattern(first, last) == pattern}
            waves[f"wave: {count} signatures named like \"{pattern}\" in 5 minutes"] = members
    return waves
