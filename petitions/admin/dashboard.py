"""The staff dashboard page: the figures (petitions.selectors.dashboard) with
two charts drawn on the server as inline SVG, with a table of the same
numbers for screen readers, needing no JavaScript. Reads only."""

import dataclasses
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, cast

from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.dateformat import format as date_format
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext

from campaign.staff_site import StaffSite
from petitions.models import Petition
from petitions.roles import ROLES
from petitions.selectors.dashboard import (
    FIGURES_CACHE_SECONDS,
    OUTBOX_STALE_AFTER,
    Bucket,
    broker_backlog,
    dashboard_figures_cached,
)

# The staff site, as the class that takes pages (campaign.staff_site).
site = cast(StaffSite, admin.site)

def dashboard_allowed(user: User | AnonymousUser) -> bool:
    """Staff who may read signatures, or staff holding one of the staff roles.

    The page shows aggregates only, no signer's data, so a campaigner (who
    cannot read signatures one by one) may see it too.
    """
    if not (user.is_active and user.is_staff):
        return False
    return user.has_perm("petitions.view_signature") or user.groups.filter(name__in=ROLES).exists()


# The chart ----------------------------------------------------------------------

CHART_WIDTH = 960
CHART_HEIGHT = 260
PLOT_LEFT = 56
PLOT_RIGHT = 12
PLOT_TOP = 12
PLOT_BOTTOM = 44


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    total_y: float
    total_height: float
    confirmed_y: float
    confirmed_height: float
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = CHART_WIDTH - PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = CHART_HEIGHT - PLOT_BOTTOM


def _nice_step(largest: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) that divides 0..largest
    into about `ticks` intervals."""
    if largest <= ticks:
        return 1
    rough = largest / ticks
    power = 10 ** math.floor(math.log10(rough))
    for multiple in (1, 2, 5, 10):
        if multiple * power >= rough:
            return multiple * power
    return 10 * power  # pragma: no cover - the loop always returns


def chart_build(buckets: list[Bucket], *, unit: Literal["hour", "day"], title: str) -> Chart:
    """Lay out stacked bars (confirmed, and the rest of the signatures) with
    round gridlines and a time label every 6 hours or 7 days."""
    largest = max((bucket.total for bucket in buckets), default=0)
    step = _nice_step(largest)
    top = max(step, math.ceil(largest / step) * step)
    plot_height = CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    slot = (CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT) / len(buckets)
    gap = max(1.0, slot * 0.15)

    def y(value: int) -> float:
        return round(PLOT_TOP + plot_height * (1 - value / top), 1)

    bars: list[Bar] = []
    x_ticks: list[Tick] = []
    for index, bucket in enumerate(buckets):
        x = PLOT_LEFT + slot * index
        # Dates through Django's date format (D, M: the names in the active language).
        if unit == "hour":
            when = gettext("%(start)s–%(end)s UTC") % {
                "start": date_format(bucket.start, "D d M, H:00"),
                "end": date_format(bucket.start + timedelta(hours=1), "H:00"),
            }
            if bucket.start.hour % 6 == 0:
                label = date_format(bucket.start, "D H:00" if bucket.start.hour == 0 else "H:00")
                x_ticks.append(Tick(position=round(x + slot / 2, 1), label=label))
        else:
            when = date_format(bucket.start, "D d M Y")
            if index % 7 == (len(buckets) - 1) % 7:
                x_ticks.append(Tick(position=round(x + slot / 2, 1), label=date_format(bucket.start, "d M")))
        bars.append(
            Bar(
                x=round(x + gap / 2, 1),
                width=round(slot - gap, 1),
                total_y=y(bucket.total),
                total_height=round(y(0) - y(bucket.total), 1),
                confirmed_y=y(bucket.confirmed),
                confirmed_height=round(y(0) - y(bucket.confirmed), 1),
                title=gettext("%(when)s: %(total)s signed, %(confirmed)s confirmed so far")
                % {"when": when, "total": bucket.total, "confirmed": bucket.confirmed},
            )
        )
    y_ticks = [
        Tick(position=y(value), label=number_format(value, force_grouping=True))
        for value in range(0, top + 1, step)
    ]
    total = sum(bucket.total for bucket in buckets)
    confirmed = sum(bucket.confirmed for bucket in buckets)
    busiest = max(buckets, key=lambda bucket: bucket.total)
    numbers = {"total": f"{total:,}", "count": len(buckets), "confirmed": f"{confirmed:,}"}
    # The English text says "signatures" whatever the total; other languages
    # may need its plural forms.
    if unit == "hour":
        description = ngettext(
            "%(total)s signatures in the last %(count)s hours, %(confirmed)s of them confirmed so far.",
            "%(total)s signatures in the last %(count)s hours, %(confirmed)s of them confirmed so far.",
            total,
        ) % numbers
    else:
        description = ngettext(
            "%(total)s signatures in the last %(count)s days, %(confirmed)s of them confirmed so far.",
            "%(total)s signatures in the last %(count)s days, %(confirmed)s of them confirmed so far.",
            total,
        ) % numbers
    if busiest.total:
        if unit == "hour":
            busiest_text = gettext("Busiest hour: %(when)s UTC with %(count)s.") % {
                "when": date_format(busiest.start, "d M H:00"), "count": f"{busiest.total:,}"
            }
        else:
            busiest_text = gettext("Busiest day: %(when)s with %(count)s.") % {
                "when": date_format(busiest.start, "d M Y"), "count": f"{busiest.total:,}"
            }
        description += " " + busiest_text
    return Chart(title=title, description=description, bars=bars, y_ticks=y_ticks, x_ticks=x_ticks)


# The page ------------------------------------------------------------------------


def _petition_chosen(request: HttpRequest) -> Petition | None:
    try:
        petition_id = int(request.GET.get("petition", ""))
    except ValueError:
        return None
    return Petition.objects.filter(pk=petition_id).first()


@site.page("petitions/dashboard/", name="petitions_dashboard")
def dashboard_view(request: HttpRequest) -> HttpResponse:
    if not dashboard_allowed(request.user):
        raise PermissionDenied
    petition = _petition_chosen(request)
    figures = dashboard_figures_cached(petition=petition)
    charts = {
        "hourly_chart": chart_build(
            figures["hourly"], unit="hour", title=gettext("Signatures per hour, last 48 hours")
        ),
        "daily_chart": chart_build(figures["daily"], unit="day", title=gettext("Signatures per day, last 60 days")),
    }
    context = site.each_context(request) | figures | charts | {
        "title": (
            gettext("Dashboard: %(petition)s") % {"petition": petition.title} if petition else gettext("Dashboard")
        ),
        "petitions": Petition.objects.order_by("-created_at"),
        "petition": petition,
        "health": dataclasses.replace(figures["health"], broker_backlog=broker_backlog()),
        "outbox_stale_minutes": int(OUTBOX_STALE_AFTER.total_seconds() // 60),
        "figures_cache_seconds": FIGURES_CACHE_SECONDS,
    }
    return TemplateResponse(request, "admin/petitions/dashboard.html", context)
