"""Handing work to Celery workers, by task name, and waking one worker at a time.

Services never import `petitions.tasks`: they name the task here, so the
arrows run one way (tasks -> services -> delivery). Nothing here retries:
callers either run in a request, which must not wait on a broker, or in a
periodic task that will simply try again, and the rows in the database are
what make a failed hand-over harmless (a sweep hands them over later).

A *slot* is a short Redis key taken with SET NX: whoever takes it starts a
worker task, and whoever finds it taken knows one is already running. It
costs one Redis command, so signing can do it for every signature.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from celery import current_app
from django.conf import settings
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a broker or Redis outage raises: both mean "not now", never "lost".
BrokerUnavailable = (KombuOperationalError, RedisError)

# The project's Celery tasks, by the names their workers know them by.
TASK_PREFIX = "petitions.tasks."


def publish(task: str, argument_tuples: Iterable[Sequence[Any]]) -> None:
    """Hand tasks named `task` (e.g. "letters_send") to the broker over one
    connection. Raises one of BrokerUnavailable on failure."""
    app = current_app
    with app.producer_or_acquire() as producer:
        for arguments in argument_tuples:
            app.send_task(TASK_PREFIX + task, args=tuple(arguments), producer=producer, retry=False)


# One Redis client per process and URL, for the slots: the cache backend's own
# client is private to Django, and a client made per call was a third of a
# signature's time.
_clients: dict[str, redis.Redis] = {}


def _client() -> redis.Redis:
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(
            url,
            socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
            socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        )
    return _clients[url]


def _slot_key(name: str) -> str:
    return f"campaign:slot:{name}"


def slot_take(name: str, *, seconds: int) -> bool:
    """Take the slot for `seconds` (False if someone holds it). Raises RedisError."""
    return bool(_client().set(_slot_key(name), 1, nx=True, ex=seconds))


def slot_keep(name: str, *, seconds: int) -> None:
    """Hold a slot taken earlier for `seconds` more. Raises RedisError."""
    _client().expire(_slot_key(name), seconds)


def slot_free(name: str) -> None:
    """Free the slot; if Redis is away it expires by itself."""
    try:
        _client().delete(_slot_key(name))
    except RedisError:
        pass
