"""The public count of confirmed signatures.

Signing never writes to the petition row: a spike of signers would otherwise
queue on that one row (the failure that took down a national petitions site in
2019). The count is read from the shared cache, which a periodic task keeps
in step with the database, so it lags by at most the task's interval.
"""

import logging
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import RedisError

from petitions.models import Petition, Signature

logger = logging.getLogger(__name__)
# Long enough to outlive a stopped beat for a while, short enough that a stale
# value cannot linger for ever.
COUNT_CACHE_SECONDS = 15 * 60


def _cache_key(petition_id: int) -> str:
    return f"petition:{petition_id}:confirmed-count"


def _offline_cache_key(petition_id: int) -> str:
    return f"petition:{petition_id}:offline-count"


def confirmed_count_from_database(petition_id: int, *, offline_only: bool = False) -> int:
    """Confirmed signatures; with `count_after_release`, only those whose letters
    are released (confirmed at least the release delay ago). `offline_only`:
    of those, the ones collected on paper or offline."""
    counted = Signature.objects.counted().filter(petition_id=petition_id)
    if offline_only:
        counted = counted.filter(offline_batch__isnull=False)
    petition = Petition.objects.only("count_after_release", "letter_release_minutes").get(pk=petition_id)
    if petition.count_after_release:
        released_before = timezone.now() - timedelta(minutes=petition.letter_release_minutes)
        counted = counted.filter(confirmed_at__lte=released_before)
    return counted.count()


def confirmed_count(petition: Petition) -> int:
    """The confirmed count to show the public, at most a reconcile interval old."""
    return _cached_count(_cache_key(petition.pk), petition.pk, offline_only=False)


def offline_count(petition: Petition) -> int:
    """Of the confirmed count, how many were collected on paper or offline;
    cached and reconciled with it."""
    return _cached_count(_offline_cache_key(petition.pk), petition.pk, offline_only=True)


def _cached_count(key: str, petition_id: int, *, offline_only: bool) -> int:
    try:
        count = cache.get(key)
    except RedisError:
        logger.warning("Cache unavailable; counting petition %s in the database", petition_id)
        return confirmed_count_from_database(petition_id, offline_only=offline_only)
    if count is None:
        count = confirmed_count_from_database(petition_id, offline_only=offline_only)
        _cache_set(key, count)
    return count


def counts_reconcile() -> dict[int, int]:
    """Recount every open petition from the database and store it in the cache."""
    counts: dict[int, int] = {}
    for petition_id in Petition.objects.filter(is_open=True).values_list("pk", flat=True):
        counts[petition_id] = confirmed_count_from_database(petition_id)
        _cache_set(_cache_key(petition_id), counts[petition_id])
        _cache_set(_offline_cache_key(petition_id), confirmed_count_from_database(petition_id, offline_only=True))
    return counts


def _cache_set(key: str, count: int) -> None:
    try:
        cache.set(key, count, COUNT_CACHE_SECONDS)
    except RedisError:
        logger.warning("Cache unavailable; count for %s not stored", key)
