"""Request -> form -> service -> response. No ORM writes here."""

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaign.cross_origin import cross_origin_protected
from campaign.i18n import language_alternates
from petitions import caches, emails
from petitions.forms import REFERRAL_CODE, SignatureForm, attribution_read
from petitions.models import Letter, Petition
from petitions.selectors import letters as letter_reads
from petitions.selectors.counts import offline_count
from petitions.selectors.delivery_ledger import delivery_ledger, letters_of_signer, response_as_json, responses_shown
from petitions.selectors.public import (
    comments_approved,
    counts_by_country,
    petitions_open,
    petitions_public,
    thermometer_read,
)
from petitions.selectors.texts import petition_texts
from petitions.services import letters, signing, suppression
from petitions.tokens import (
    TokenExpired,
    TokenInvalid,
    confirmation_token_read,
    digest_download_token_read,
    letter_state_token_read,
    own_mail_token_make,
    own_mail_token_read,
    unsubscribe_token_read,
)


@require_GET
def home(request):
    """The open petitions, each linking to its own lasting address."""
    language = get_language()
    open_petitions = [
        (petition, petition_texts(petition, language), thermometer_read(petition)) for petition in petitions_open()
    ]
    return render(request, "petitions/home.html", {"open_petitions": open_petitions})


def _petition_page(petition, form, status=200, *, preview=False):
    thermometer = thermometer_read(petition)
    count = thermometer.count
    language = get_language()
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
        "texts": petition_texts(petition, language),
        "alternates": language_alternates(reverse("petitions:detail", args=[petition.slug])),
        "number_locale": settings.NUMBER_LOCALES.get(language, language),
        "form": form,
        "confirmed_count": count,
        "offline_count": offline_count(petition),
        "progress_percent": thermometer.percent,
        "targets": petition.targets.filter(is_active=True),
        # Evaluated only when the cached fragment showing them is rebuilt.
        # Only a confirmed signature not held for review shows its comment.
        "comments": comments_approved(petition),
        "responses": responses_shown(petition),
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
    form = SignatureForm(consents=signing.consent_wordings_current(get_language()))
    return _petition_page(petition, form).content


@require_GET
def petition_detail(request, slug):
    # One page per petition and language (the language is in the address).
    key = (slug, get_language())
    response = HttpResponse(caches.pages.get(key, lambda: _page_build(slug)))
    response.headers["Cache-Control"] = f"public, max-age={settings.PAGE_CACHE_SECONDS}"
    return response


@staff_member_required
@require_GET
def petition_preview(request, slug):
    """A petition as the public will see it, draft or not, for staff only; never cached."""
    petition = get_object_or_404(Petition, slug=slug)
    form = SignatureForm(consents=signing.consent_wordings_current(get_language()))
    response = _petition_page(petition, form, preview=True)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@cross_origin_protected
@require_POST
def petition_sign(request, slug):
    return _sign(request, slug, signed_url=_signed_url(slug, get_language()), page=_petition_page)


def _sign(request, slug, *, signed_url, page):
    """The sign POST of the petition page and of its embed: `page` renders the
    form again (with its errors), `signed_url` is where a signer lands."""
    petition = _petition_for_signing(slug)
    language = get_language()
    form = SignatureForm(request.POST, consents=signing.consent_wordings_current(language))
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
            language=language,
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
        "texts": petition_texts(petition, get_language()),
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
        return _embed_page(petition, SignatureForm(consents=signing.consent_wordings_current(get_language()))).content

    response = HttpResponse(caches.pages.get(("embed", slug, get_language()), build))
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
    response = render(request, "petitions/embed_signed.html", _petition_context(petition))
    return _framable_by(response, petition)


@functools.lru_cache(maxsize=64)
def _signed_url(slug, language):
    """Where a signer lands, by petition and language (reversed once per
    process, not per signature; `reverse` prefixes the active language)."""
    return reverse("petitions:signed", args=[slug])


@require_GET
def petition_signed(request, slug):
    petition = get_object_or_404(Petition, slug=slug)
    return render(request, "petitions/signed.html", _petition_context(petition))


def _petition_context(petition):
    return {"petition": petition, "texts": petition_texts(petition, get_language())}


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
        # Who the letter goes to, for the signer's country: shown here for
        # those whose browser ran no script on the form.
        recipients = letter_reads.signature_recipients(public_id=public_id)
        return render(request, "petitions/confirm.html", {"token": token, "recipients": recipients})
    result, signature = signing.signature_confirm(public_id=public_id)
    if result == signing.ConfirmResult.NOT_CONFIRMABLE or signature is None:
        return render(request, "petitions/confirm_invalid.html", {"expired": False}, status=400)
    if result == signing.ConfirmResult.PETITION_CLOSED:
        return render(request, "petitions/confirm_closed.html", _petition_context(signature.petition), status=409)
    # The signed token lets the signer choose, on the next page, to send the
    # letter from their own mail; the signer's own code rides along, so the
    # page's share links carry it.
    query = {"letter": own_mail_token_make(signature.public_id)}
    if signature.referral_code:
        query["ref"] = signature.referral_code
    confirmed = reverse("petitions:confirmed", args=[signature.petition.slug])
    return HttpResponseRedirect(f"{confirmed}?{urlencode(query)}")


def _own_mail_public_id(token):
    try:
        return own_mail_token_read(token)
    except TokenInvalid:
        return None


def _confirmed_page(request, petition, *, token, chosen=False):
    page_url = request.build_absolute_uri(reverse("petitions:detail", args=[petition.slug]))
    referral_code = request.GET.get("ref", "")
    if REFERRAL_CODE.fullmatch(referral_code):
        page_url = f"{page_url}?{urlencode({'ref': referral_code})}"
    context = _petition_context(petition) | {"share_url": page_url}
    public_id = _own_mail_public_id(token) if token else None
    if public_id is not None:
        own = letter_reads.signature_letters(public_id=public_id)
        by_supporter = [letter for letter in own if letter.state == Letter.State.BY_SUPPORTER]
        choosable = [
            letter for letter in own
            if letter.state == Letter.State.QUEUED
            or (letter.state == Letter.State.DIGEST_ONLY and not letter.digest_id)
        ]
        context |= {
            "own_mail_token": token,
            "own_mail_chosen": chosen,
            "letters_choosable": choosable,
            "letters_by_supporter": by_supporter,
            "own_mail_link": emails.letters_mailto(by_supporter),
        }
    return render(request, "petitions/confirmed.html", context)


@require_GET
def petition_confirmed(request, slug):
    petition = get_object_or_404(Petition, slug=slug)
    return _confirmed_page(request, petition, token=request.GET.get("letter", ""))


# No CSRF token (the page would set a cookie, which the privacy page says only
# the confirm page does): the signed token in the form is what authorises the
# choice, and the browser's own headers refuse a cross-site post.
@cross_origin_protected
@require_POST
def letters_own_mail(request, slug):
    """The signer chooses to send the letter from their own mail client."""
    petition = get_object_or_404(Petition, slug=slug)
    token = request.POST.get("letter", "")
    public_id = _own_mail_public_id(token)
    if public_id is None:
        return render(request, "petitions/link_invalid.html", status=400)
    letters.letters_send_by_supporter(public_id=public_id)
    return _confirmed_page(request, petition, token=token, chosen=True)


@require_GET
def digest_download(request, token):
    """The names and countries a recipient's digest counted, as a CSV file."""
    try:
        digest_id = digest_download_token_read(token)
    except TokenExpired:
        return render(request, "petitions/link_invalid.html", {"expired": True}, status=410)
    except TokenInvalid:
        return render(request, "petitions/link_invalid.html", status=400)
    response = StreamingHttpResponse(letter_reads.digest_names_csv(digest_id=digest_id), content_type="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="signers-digest-{digest_id}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


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


# The delivery ledger: per recipient, what became of the letters. Counts and
# times only, the same for everyone: built once per process every
# PAGE_CACHE_SECONDS (its grouped count over all of a petition's letters took
# 0.3 s at 100,000 letters) and served as bytes, which proxies may keep too.
def _delivery_build(slug: str) -> bytes:
    petition = get_object_or_404(Petition, slug=slug)
    context = _petition_context(petition) | {
        "ledger": delivery_ledger(petition),
        "responses": responses_shown(petition),
        "alternates": language_alternates(reverse("petitions:delivery", args=[petition.slug])),
    }
    return render_to_string("petitions/delivery.html", context).encode()


def _delivery_json_build(slug: str) -> bytes:
    petition = get_object_or_404(Petition, slug=slug)
    return JsonResponse({
        "petition": petition.slug,
        "recipients": [line.as_json() for line in delivery_ledger(petition)],
        "responses": [response_as_json(reply) for reply in responses_shown(petition)],
    }).content


@require_GET
def petition_delivery(request: HttpRequest, slug: str) -> HttpResponse:
    response = HttpResponse(caches.pages.get(("delivery", slug, get_language()), lambda: _delivery_build(slug)))
    response.headers["Cache-Control"] = f"public, max-age={settings.PAGE_CACHE_SECONDS}"
    return response


@require_GET
def petition_delivery_json(request: HttpRequest, slug: str) -> HttpResponse:
    content = caches.pages.get(("delivery.json", slug), lambda: _delivery_json_build(slug))
    response = HttpResponse(content, content_type="application/json")
    response.headers["Cache-Control"] = f"public, max-age={settings.PAGE_CACHE_SECONDS}"
    return response


# A signer's own letters, from the signed link in their thank-you email. It
# shows only that signature's letters, and is nobody else's to keep.
@require_GET
@cache_control(private=True, no_store=True)
def letter_state(request: HttpRequest, token: str) -> HttpResponse:
    try:
        public_id = letter_state_token_read(token)
    except TokenInvalid:
        return render(request, "petitions/letter_state.html", {"invalid": True}, status=404)
    signature, letters = letters_of_signer(public_id)
    if signature is None:
        return render(request, "petitions/letter_state.html", {"invalid": True}, status=404)
    context = _petition_context(signature.petition) | {"first_name": signature.first_name, "letters": letters}
    response = render(request, "petitions/letter_state.html", context)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
