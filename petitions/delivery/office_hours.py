"""A recipient's office hours: on which days and between which times, in the
recipient's own time zone, letters may reach them, and how letters are spread
inside those hours.

A window belongs to the local day it opens on; one that ends before it starts
(22:00-06:00) runs into the next day. Without set times a window is the whole
of each sending day. Times are computed with zoneinfo, so a window keeps its
local hours across daylight-saving changes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from petitions.models import Target

# How far ahead to look for the next window: a week covers any choice of days.
_DAYS_AHEAD = 8


def _windows_from(target: Target, day: date) -> Iterator[tuple[datetime, datetime]]:
    """The target's windows (start, end), aware datetimes, opening on `day` or later."""
    zone = target.zone
    for offset in range(_DAYS_AHEAD + 1):
        current = day + timedelta(days=offset)
        if str(current.weekday()) not in target.sending_weekdays:
            continue
        if target.window_start is None or target.window_end is None:
            start = datetime.combine(current, time(0, 0), tzinfo=zone)
            end = datetime.combine(current + timedelta(days=1), time(0, 0), tzinfo=zone)
        else:
            start = datetime.combine(current, target.window_start, tzinfo=zone)
            ends_on = current if target.window_end > target.window_start else current + timedelta(days=1)
            end = datetime.combine(ends_on, target.window_end, tzinfo=zone)
        yield start, end


def window_at_or_after(target: Target, moment: datetime) -> tuple[datetime, datetime]:
    """The window open at `moment`, or else the next one to open: (start, end)."""
    local_day = moment.astimezone(target.zone).date()
    # A window opened the day before may still be open (an overnight one).
    for start, end in _windows_from(target, local_day - timedelta(days=1)):
        if end > moment:
            return start, end
    raise ValueError(f"Recipient {target.pk} has no sending day.")


def is_open(target: Target, moment: datetime) -> bool:
    """Whether letters may reach the recipient at `moment`."""
    if not target.has_office_hours:
        return True
    start, _end = window_at_or_after(target, moment)
    return start <= moment


def spacing(target: Target) -> timedelta:
    """The even gap between letters that keeps to the hourly cap."""
    return timedelta(hours=1) / max(target.hourly_cap, 1)


def slots(target: Target, *, count: int, after: datetime, rng: random.Random) -> list[datetime]:
    """`count` send times from `after` on, one per `spacing` interval, each at a
    random point of its interval (the jitter), all inside office hours: an
    interval that would leave the window starts again when the next one opens.

    At most one slot falls in each interval, so no hour holds more than the
    cap (plus one at the edge, which the claim's cap check holds back)."""
    gap = spacing(target)
    result: list[datetime] = []
    cursor = after
    for _ in range(count):
        start, end = window_at_or_after(target, cursor)
        cursor = max(cursor, start)
        if cursor + gap > end:
            # Too little of this window is left for a whole interval.
            start, end = window_at_or_after(target, end)
            cursor = start
        result.append(cursor + gap * rng.random())
        cursor += gap
    return result
