"""Request -> form -> service -> response. No ORM writes here."""

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaign.cross_origin import cross_origin_protected
from petitions import caches
from petitions.forms import REFERRAL_CODE, SignatureForm, attribution_read
from petitions.models import Petition
from petitions.selectors.public import (
    comments_approved,
    counts_by_country,
    petitions_open,
    petitions_public,
    thermometer_read,
)
from petitions.services import signing, suppression
from petitions.tokens import TokenExpired, TokenInvalid, confirmation_token_read, unsubscribe_token_read


@require_GET
def home(request):
    """The open petitions, each linking to its own lasting address."""
    open_petitions = [(petition, thermometer_read(petition)) for petition in petitions_open()]
    return render(request, "petitions/home.html", {"open_petitions": open_petitions})


def _petition_page(petition, form, status=200, *, preview=False):
    thermometer = thermometer_read(petition)
    count = thermometer.count
    context = {
        "thermometer": thermometer,
        "preview": preview,
        # Called only when the cached fragment showing them is rebuilt.
        "countries": functools.partial(counts_by_country, petition),
        "site_url": settings.SITE_URL,
        # The unbound form and the petition's texts are rendered once a minute
        # per process (PAGE_FRAGMENT_SECONDS); these keys change when what they
        # show changes without waiting for that.
        "fragment_seconds": settings.PAGE_FRAGMENT_SECONDS,
        "consent_key": form.current_consent_key,
        "petition": petition,
        "form": form,
        "confirmed_count": count,
        "progress_percent": thermometer.percent,
        "demands": petition.demands.all(),
        "background_facts": petition.background_facts.all(),
        "targets": petition.targets.filter(is_active=True),
        # Evaluated only when the cached fragment showing them is rebuilt.
        # Only a confirmed signature not held for review shows its comment.
        "comments": comments_approved(petition),
    }
    # Rendered without the request: nothing on the page depends on who asks.
    content = render_to_string("petitions/petition_detail.html", context)
    return HttpResponse(content, status=status)


# The petition page is built once per process every PAGE_CACHE_SECONDS and
# served as bytes to everyone (petitions.caches.pages): it carries no CSRF
# token and sets no cookie (the form is protected by campaign.cross_origin),
# so proxies may keep it as long as this process does.


def client_ip(request: HttpRequest) -> str:
    """The signer's IP: REMOTE_ADDR, or the proxy-reported address when
    TRUSTED_PROXY_COUNT proxies we run stand in front of the app."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def _petition_for_signing(slug):
    """The petition as the sign form reads it, shared by this process's requests: never changed."""
    return caches.signing_petitions.get(slug, lambda: get_object_or_404(petitions_public(), slug=slug))


def _page_build(slug):
    petition = get_object_or_404(petitions_public(), slug=slug)
    form = SignatureForm(consents=signing.consent_wordings_current())
    return _petition_page(petition, form).content


@require_GET
def petition_detail(request, slug):
    response = HttpResponse(caches.pages.get(slug, lambda: _page_build(slug)))
    response.headers["Cache-Control"] = f"public, max-age={settings.PAGE_CACHE_SECONDS}"
    return response


@staff_member_required
@require_GET
def petition_preview(request, slug):
    """A petition as the public will see it, draft or not, for staff only; never cached."""
    petition = get_object_or_404(Petition, slug=slug)
    form = SignatureForm(consents=signing.consent_wordings_current())
    response = _petition_page(petition, form, preview=True)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@cross_origin_protected
@require_POST
def petition_sign(request, slug):
    return _sign(request, slug, signed_url=_signed_url(slug), page=_petition_page)


def _sign(request, slug, *, signed_url, page):
    """The sign POST of the petition page and of its embed: `page` renders the
    form again (with its errors), `signed_url` is where a signer lands."""
    petition = _petition_for_signing(slug)
    form = SignatureForm(request.POST, consents=signing.consent_wordings_current())
    if form.is_bot():
        # A filled honeypot gets the very page a person gets, and nothing is kept.
        return HttpResponseRedirect(signed_url)
    if form.consent_wording_changed():
        # Consent is to the words shown: ask again rather than record others.
        return page(petition, form.asking_consent_again(), status=409)
    if not form.is_valid():
        return page(petition, form, status=400)
    try:
        signing.signature_create(
            petition=petition,
            first_name=form.cleaned_data["first_name"],
            last_name=form.cleaned_data["last_name"],
            email=form.cleaned_data["email"],
            country=form.cleaned_data["country"],
            postcode=form.cleaned_data["postcode"],
            wants_reply=form.cleaned_data["reply_consent"],
            wants_updates=form.cleaned_data["updates_consent"],
            comment=form.cleaned_data["comment"],
            ip=client_ip(request),
            attribution=attribution_read(request, petition),
        )
    except (signing.PetitionClosed, signing.SigningPaused):
        # The cached petition is shared by this process's requests: read a fresh one.
        return page(get_object_or_404(Petition, slug=slug), form, status=409)
    # First and repeat signers land on the same page; only their inbox differs.
    return HttpResponseRedirect(signed_url)


# The embed: a compact count and sign form that the sites staff list may frame
# (Petition.embed_origins); only these routes relax frame-ancestors and drop
# X-Frame-Options. It needs no cookie and no script: the form posts to this
# site inside the frame, guarded like the page's own (same-origin fetch).


def _framable_by(response, petition):
    """Let the petition's listed origins, and only those, frame `response`."""
    response._csp_replace = {"frame-ancestors": petition.embed_origin_list() or ["'none'"]}
    response.xframe_options_exempt = True
    return response


def _embed_page(petition, form, status=200):
    context = {
        "fragment_seconds": settings.PAGE_FRAGMENT_SECONDS,
        "consent_key": form.current_consent_key,
        "petition": petition,
        "form": form,
        "thermometer": thermometer_read(petition),
        "embed": True,
    }
    response = HttpResponse(render_to_string("petitions/embed.html", context), status=status)
    return _framable_by(response, petition)


@require_GET
def petition_embed(request, slug):
    petition = _petition_for_signing(slug)

    def build():
        return _embed_page(petition, SignatureForm(consents=signing.consent_wordings_current())).content

    response = HttpResponse(caches.pages.get(("embed", slug), build))
    response.headers["Cache-Control"] = f"public, max-age={settings.PAGE_CACHE_SECONDS}"
    return _framable_by(response, petition)


@cross_origin_protected
@require_POST
def petition_embed_sign(request, slug):
    signed_url = reverse("petitions:embed_signed", args=[slug])
    return _framable_by(_sign(request, slug, signed_url=signed_url, page=_embed_page), _petition_for_signing(slug))


@require_GET
def petition_embed_signed(request, slug):
    petition = _petition_for_signing(slug)
    response = render(request, "petitions/embed_signed.html", {"petition": petition})
    return _framable_by(response, petition)


@functools.lru_cache(maxsize=64)
def _signed_url(slug):
    """Where a signer lands, by petition (reversed once per process, not per signature)."""
    return reverse("petitions:signed", args=[slug])


@require_GET
def petition_signed(request, slug):
    petition = get_object_or_404(Petition, slug=slug)
    return render(request, "petitions/signed.html", {"petition": petition})


@require_http_methods(["GET", "POST"])
def signature_confirm(request, token):
    # Mail scanners follow links in emails, so the link only shows a button;
    # the confirmation itself needs a POST.
    try:
        public_id = confirmation_token_read(token)
    except TokenExpired:
        return render(request, "petitions/confirm_invalid.html", {"expired": True}, status=410)
    except TokenInvalid:
        return render(request, "petitions/confirm_invalid.html", {"expired": False}, status=400)
    if request.method == "GET":
        return render(request, "petitions/confirm.html", {"token": token})
    result, signature = signing.signature_confirm(public_id=public_id)
    if result == signing.ConfirmResult.NOT_CONFIRMABLE or signature is None:
        return render(request, "petitions/confirm_invalid.html", {"expired": False}, status=400)
    if result == signing.ConfirmResult.PETITION_CLOSED:
        return render(request, "petitions/confirm_closed.html", {"petition": signature.petition}, status=409)
    # The signer's own code rides along, so the page's share links carry it.
    confirmed_url = reverse("petitions:confirmed", args=[signature.petition.slug])
    if signature.referral_code:
        confirmed_url = f"{confirmed_url}?{urlencode({'ref': signature.referral_code})}"
    return HttpResponseRedirect(confirmed_url)


@require_GET
def petition_confirmed(request, slug):
    petition = get_object_or_404(Petition, slug=slug)
    page_url = request.build_absolute_uri(reverse("petitions:detail", args=[petition.slug]))
    referral_code = request.GET.get("ref", "")
    if REFERRAL_CODE.fullmatch(referral_code):
        page_url = f"{page_url}?{urlencode({'ref': referral_code})}"
    return render(request, "petitions/confirmed.html", {"petition": petition, "share_url": page_url})


@require_GET
@cache_control(public=True, max_age=30)
def petition_count(request, slug):
    petition = get_object_or_404(petitions_public(), slug=slug)
    thermometer = thermometer_read(petition)
    return JsonResponse({"confirmed": thermometer.count, "goal": thermometer.goal})


# RFC 8058 one-click unsubscribe: a mail client POSTs here with no cookie and
# no CSRF token, so this view is exempt. That is safe because the signed token
# in the URL is what authorises it, and all it can do is stop email.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    try:
        public_id = unsubscribe_token_read(token)
    except TokenInvalid:
        return render(request, "petitions/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "GET":
        # Link scanners open links too; only the button's POST unsubscribes.
        return render(request, "petitions/unsubscribe.html", {"token": token})
    if not suppression.supporter_unsubscribe(public_id=public_id):
        return render(request, "petitions/unsubscribe.html", {"invalid": True}, status=400)
    return render(request, "petitions/unsubscribe.html", {"done": True})


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    context = {
        "controller": settings.PRIVACY_CONTROLLER,
        "contact_email": settings.PRIVACY_CONTACT_EMAIL,
        "email_provider": settings.PRIVACY_EMAIL_PROVIDER,
        "legal_basis": settings.PRIVACY_LEGAL_BASIS,
        "ip_days": settings.IP_HASH_RETENTION_DAYS,
        "purge_days": settings.PURGE_UNCONFIRMED_AFTER_DAYS,
    }
    return render(request, "petitions/privacy.html", context)
