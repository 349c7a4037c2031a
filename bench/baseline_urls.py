"""The project's URLs plus one trivial view, for the benchmark's baselines.

The trivial view goes through the same middleware (sessions, CSRF, security
headers, ...) as every page, so it measures what bare Django costs on this
server: a page can be compared with it, request for request. It accepts GET
and POST; a POST is CSRF-checked like the sign form.
"""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

from campaign.urls import urlpatterns as project_urlpatterns


@require_http_methods(["GET", "POST"])
def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("_bench/trivial/", trivial, name="bench-trivial"), *project_urlpatterns]
