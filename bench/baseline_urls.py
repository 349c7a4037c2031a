"""The project's URLs plus the benchmark's reference views, for its baselines.

The trivial view goes through the same middleware (sessions, CSRF, security
headers, ...) as every page, so it measures what bare Django costs on this
server: a page can be compared with it, request for request. It accepts GET
and POST; a POST is CSRF-checked like the confirm button's. The trivial form
view is checked as the sign form is (campaign.cross_origin: no token, the
browser's Origin and Sec-Fetch-Site), so it is the sign form's baseline.

The durable-write view is a reference, not a baseline: the least any design
can do that commits each signature before answering. Checked as the sign form
is, it reads the form and makes one INSERT of a signature row into the real
table, with its indexes, constraints and foreign keys, in autocommit: no
validation, no outbox row, no email, no rate limits, no count. Its rate next
to the trivial view's says how much of the trivial view's rate is left for
signing once the database has had its commit. The benchmark deletes its rows
after the phase.
"""

import uuid

from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from campaign.cross_origin import cross_origin_protected
from campaign.urls import urlpatterns as project_urlpatterns

# Only the columns without a default in the database (Django sets none there).
DURABLE_WRITE_SQL = (
    "INSERT INTO petitions_signature (public_id, petition_id, first_name, last_name, email,"
    " email_normalized, country, postcode, state, letter_consent_id, created_at, invalidated_reason,"
    " repeat_notices_sent, reminders_sent, ip_hash, email_domain, flag_reason, comment, comment_state,"
    " language, source, utm_source, utm_medium, utm_campaign, embed_site, referred_by, referral_code)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, '', 'pending', %s, %s, '', 0, 0, '', %s, '', '', '',"
    " 'en', '', '', '', '', '', '', '')"
)
_row_ids: dict[str, int] = {}  # the petition and consent wording every reference row points at, read once


@require_http_methods(["GET", "POST"])
def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


@require_POST
def durable_write(request):
    from petitions.models import ConsentWording, Petition

    if not _row_ids:
        _row_ids["petition"] = Petition.objects.order_by("pk").values_list("pk", flat=True)[0]
        _row_ids["consent"] = ConsentWording.objects.order_by("pk").values_list("pk", flat=True)[0]
    form = request.POST
    email = form["email"].strip()
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(DURABLE_WRITE_SQL, [
            uuid.uuid4().hex, _row_ids["petition"], form["first_name"], form["last_name"], email, email.lower(),
            form["country"], _row_ids["consent"], timezone.now(), email.rpartition("@")[2].lower(),
        ])
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("_bench/trivial/", trivial, name="bench-trivial"),
    path("_bench/trivial-form/", cross_origin_protected(trivial), name="bench-trivial-form"),
    path("_bench/durable-write/", cross_origin_protected(durable_write), name="bench-durable-write"),
    *project_urlpatterns,
]
