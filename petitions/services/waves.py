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
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone
from redis.exceptions import RedisError

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


# The window is scanned at most this often per petition (the drain asks for
# every batch of 50); in between, new signatures are matched against the waves
# found then, so a wave costs a few set lookups per signature.
CHECK_SECONDS = 10


@dataclass(frozen=True)
class Wave:
    reason: str
    kind: str  # "domain" or "pattern"
    value: str

    def takes(self, signature: Signature) -> bool:
        if self.kind == "domain":
            return signature.email_domain == self.value
        return name_pattern(signature.first_name, signature.last_name) == self.value


def waves_flag(*, signatures: Sequence[Signature]) -> set[int]:
    """Flag, silently, the waves these new signatures belong to (every
    undecided signature of each wave in the window, when the window is
    scanned); return the ids among `signatures` that were flagged."""
    by_petition: dict[int, list[Signature]] = defaultdict(list)
    for signature in signatures:
        by_petition[signature.petition_id].append(signature)
    flagged: set[int] = set()
    for petition_id, group in by_petition.items():
        newest = max(signature.created_at for signature in group)
        waves, members = _waves_current(petition_id, newest)
        undecided = Signature.objects.filter(flag_reason="", last_decision__isnull=True).exclude(
            state=Signature.State.INVALIDATED
        )
        for wave in waves:
            taken = {signature.pk for signature in group if wave.takes(signature)}
            ids = taken | members.get(wave.reason, set())
            if ids:
                undecided.filter(pk__in=ids).update(flag_reason=wave.reason[:200], flagged_at=timezone.now())
            flagged |= taken
    return flagged


def _waves_current(petition_id: int, newest: datetime) -> tuple[list[Wave], dict[str, set[int]]]:
    """The waves of the petition's last WAVE_WINDOW, as scanned at most
    CHECK_SECONDS ago; with the window's members of each when scanned now."""
    key = f"waves:{petition_id}"
    try:
        kept = cache.get(key)
    except RedisError:
        kept = None
    if kept is not None:
        return kept, {}
    found = _waves_scan(petition_id, newest)
    waves = [wave for wave, _members in found]
    try:
        cache.set(key, waves, CHECK_SECONDS)
    except RedisError:
        pass  # scanned again next time
    return waves, {wave.reason: members for wave, members in found}


def _waves_scan(petition_id: int, newest: datetime) -> list[tuple[Wave, set[int]]]:
    """Each wave in the window ending at `newest`, with the ids of its signatures."""
    start = newest - WAVE_WINDOW
    recent = Signature.objects.filter(petition_id=petition_id, created_at__gt=start, created_at__lte=newest)
    window_total = recent.count()
    if window_total < settings.WAVE_MIN_SIGNATURES:
        return []
    found: list[tuple[Wave, set[int]]] = []
    counts = (
        Signature.objects.filter(petition_id=petition_id, created_at__gt=start - BASELINE, created_at__lte=newest)
        .exclude(email_domain__in=LARGE_PROVIDERS)
        .values("email_domain")
        .annotate(
            in_window=Count("pk", filter=Q(created_at__gt=start)),
            in_baseline=Count("pk", filter=Q(created_at__lte=start)),
        )
        .filter(in_window__gte=settings.WAVE_MIN_SIGNATURES)
    )
    for row in counts:
        if row["email_domain"] and _surging(row["in_window"], row["in_baseline"], window_total):
            reason = f"wave: {row['in_window']} signatures from {row['email_domain']} in 5 minutes"
            members = set(recent.filter(email_domain=row["email_domain"]).values_list("pk", flat=True))
            found.append((Wave(reason, "domain", row["email_domain"]), members))
    names = list(recent.values_list("pk", "first_name", "last_name")[:NAME_SAMPLE])
    by_pattern: dict[str, set[int]] = defaultdict(set)
    for pk, first, last in names:
        by_pattern[name_pattern(first, last)].add(pk)
    for pattern, members in by_pattern.items():
        if _large(len(members), min(window_total, NAME_SAMPLE)):
            reason = f"wave: {len(members)} signatures named like \"{pattern}\" in 5 minutes"
            found.append((Wave(reason, "pattern", pattern), members))
    return found
