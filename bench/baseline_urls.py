"""The project's URLs plus one trivial view, for the benchmark's baselines.

The trivial view goes through the same middleware (sessions, CSRF, security
headers, ...) as every page, so it measures what bare Django costs on this
server: a page can be compared with it, request for request. It accepts GET
and POST; a POST is CSRF-checked like the confirm button's. The trivial form
view is checked as the sign form is (campaign.cross_origin: no token, the
browser's Origin and Sec-Fetch-Site), so it is the sign form's baseline.
"""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

from campaign.cross_origin import cross_origin_protected
from campaign.urls import urlpatterns as project_urlpatterns


@require_http_methods(["GET", "POST"])
def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("_bench/trivial/", trivial, name="bench-trivial"),
    path("_bench/trivial-form/", cross_origin_protected(trivial), name="bench-trivial-form"),
    *project_urlpatterns,
]
