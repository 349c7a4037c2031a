"""Every value a process keeps for a few seconds instead of reading it on every request.

For what every signature or page view reads and staff change rarely: the
rendered petition page, the petition as the sign form reads it, the consent
wordings, and the rate limits and blocklist. Each process has its own copy;
a save or delete of the models they are made from clears the saving
process's copies at once (`connect`, called when the app is ready), and
every other process reads the change within the cache's seconds.

Values kept here are shared by every request of the process, so nothing may
change them: a caller that needs a fresh object loads its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db.models.signals import post_delete, post_save

from petitions.models import (
    BackgroundFact,
    BlockedSource,
    ConsentWording,
    Demand,
    DisposableDomain,
    OfflineBatch,
    Organisation,
    Petition,
    RateLimit,
    Target,
)


class ProcessCache:
    def __init__(self, seconds: float | Callable[[], float]) -> None:
        """`seconds`: how long a value is kept; a number, or a function giving
        it (for a setting read at the time, which tests may change)."""
        self._seconds: Callable[[], float] = seconds if callable(seconds) else (lambda: seconds)
        self._values: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        """The value for `key`, from `load()` when missing or older than the
        cache's seconds. Nothing is kept when `load` raises."""
        now = time.monotonic()
        kept = self._values.get(key)
        if kept is None or now - kept[0] >= self._seconds():
            kept = self._values[key] = (now, load())
        return kept[1]

    def clear(self) -> None:
        self._values.clear()


# The petition page exactly as every visitor gets it, as bytes, by slug.
pages = ProcessCache(lambda: settings.PAGE_CACHE_SECONDS)
# Petitions as the sign form reads them, by slug: looking the petition up was
# a sixth of a signature's CPU. Staff's switches (pause signing, close) reach
# every process within these seconds.
signing_petitions = ProcessCache(2)
# The open API's answers, by path and language (petitions.api.v1).
api_answers = ProcessCache(lambda: settings.API_CACHE_SECONDS)
# The organisation the pages name (petitions.selectors.public.organisation_current).
organisation = ProcessCache(10)
# The current consent wordings, which change a few times a year.
consent_wordings = ProcessCache(10)
# The rate limits and the blocklist, kept off the signing path's queries.
screening = ProcessCache(10)


def pages_forget() -> None:
    """Forget this process's pages, page fragments, API answers and petitions."""
    pages.clear()
    api_answers.clear()
    signing_petitions.clear()
    caches["fragments"].clear()


def forget_all() -> None:
    pages_forget()
    organisation.clear()
    consent_wordings.clear()
    screening.clear()


# Which saves and deletes clear which caches.
_CLEARED_BY: dict[str, tuple[Callable[[], None], tuple[type, ...]]] = {
    # A batch of paper signatures added or withdrawn changes the page's count
    # and its "collected on paper" line (the counts are re-synced after commit).
    "pages": (pages_forget, (Petition, Demand, BackgroundFact, Target, ConsentWording, OfflineBatch, Organisation)),
    "organisation": (organisation.clear, (Organisation,)),
    "consents": (consent_wordings.clear, (ConsentWording,)),
    "screening": (screening.clear, (RateLimit, BlockedSource, DisposableDomain)),
}


def connect() -> None:
    """Clear a process's copies when that process saves or deletes what they hold."""
    for name, (clear, models) in _CLEARED_BY.items():
        for model in models:
            for action, signal in (("save", post_save), ("delete", post_delete)):
                signal.connect(
                    _receiver(clear), sender=model, weak=False,
                    dispatch_uid=f"petitions.caches.{name}.{model.__name__}.{action}",
                )


def _receiver(clear: Callable[[], None]) -> Callable[..., None]:
    def receive(**_signal_arguments: Any) -> None:
        clear()

    return receive
