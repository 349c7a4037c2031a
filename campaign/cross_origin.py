"""Cross-site request forgery protection without a token, from the headers
browsers send: for views whose page must be the same for every visitor.

The signing form is on the petition page, and that page is cached whole and
served to everyone (and may be cached by a CDN): it cannot carry a per-visitor
CSRF token, and it sets no cookie. Forged cross-site POSTs are refused instead
by what every current browser says about where a request comes from, as Go's
net/http CrossOriginProtection does (https://words.filippo.io/csrf/):

- Sec-Fetch-Site (all major browsers since 2023): only "same-origin" and
  "none" (typed in, a bookmark) pass;
- without it, Origin (sent with every POST by browsers since 2020): it must be
  this site's own origin or one of CSRF_TRUSTED_ORIGINS;
- with neither, the request is not from a current browser, and a forgery
  needs a victim's browser, so it passes.

Signing needs no ambient authority (no session, no login), so a forged POST
could only sign with details the attacker chose, from the victim's IP address;
this check stops even that. Views using a session keep Django's token check.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

SAFE_FETCH_SITES = {"same-origin", "none"}

View = Callable[..., HttpResponseBase]


def request_is_cross_origin(request: HttpRequest) -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in SAFE_FETCH_SITES
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    own = f"{'https' if request.is_secure() else 'http'}://{request.get_host()}"
    return origin != own and origin not in settings.CSRF_TRUSTED_ORIGINS


def cross_origin_protected(view: View) -> View:
    """Exempt `view` from the CSRF token and refuse cross-origin requests to it
    instead, with the page Django shows for a failed token check."""

    @wraps(view)
    def protected(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and request_is_cross_origin(request):
            return render(request, "403_csrf.html", {"cross_origin": True}, status=403)
        return view(request, *args, **kwargs)

    # tests/test_security.py accepts a CSRF-exempt view only with this mark or a documented reason.
    protected.cross_origin_protected = True  # type: ignore[attr-defined]
    return csrf_exempt(protected)
