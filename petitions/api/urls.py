"""The API's URLs (namespace `api-v1`), each answer open to every origin for GET."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver

from petitions.api.v1 import api


def open_to_every_origin(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """CORS for reading: any site's script may GET (no credentials: the API
    uses none), and a successful answer may be cached by browsers and proxies."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.headers["Access-Control-Allow-Origin"] = "*"
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            response.headers["Cache-Control"] = f"public, max-age={settings.API_CACHE_SECONDS}"
        return response

    return wrapped


def _patterns() -> list[URLPattern | URLResolver]:
    patterns, _app_name, _namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern) and pattern.callback is not None:
            pattern.callback = open_to_every_origin(pattern.callback)
    return patterns


urlpatterns = _patterns()
app_name = "api-v1"
