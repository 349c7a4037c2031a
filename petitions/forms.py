"""Input validation for signing. Nothing here writes."""

import copy
import csv
import functools
import io
import re
import unicodedata
from urllib.parse import parse_qs, urlsplit

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from petitions.services.signing import Attribution

NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254
POSTCODE_MAX_LENGTH = 16
COMMENT_MAX_LENGTH = 500

# Characters that can hide, reorder or break a line of text. Zero-width joiners
# (U+200C, U+200D) are left alone: Persian, Indic and other scripts need them.
_BIDI_CONTROLS = {chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_LINE_SEPARATORS = {"\u2028", "\u2029", "\x85"}


def _has_control_characters(value):
    return any(
        unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS or char in _LINE_SEPARATORS for char in value
    )


def validate_plain_line(value):
    if _has_control_characters(value):
        raise forms.ValidationError(
            _("Please use only letters, spaces and punctuation: line breaks and control characters can't be used."),
            code="control_characters",
        )


# Invisible characters that can hide text or make two names look alike: every
# format character but the zero-width joiner and non-joiner, which Persian,
# Indic and other scripts need between letters.
_JOINERS = {"\u200c", "\u200d"}
# More combining marks in a row than any script writes on one letter.
_MAX_COMBINING_RUN = 3
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?", re.ASCII)


def invisible_characters_remove(value: str) -> str:
    return "".join(char for char in value if unicodedata.category(char) != "Cf" or char in _JOINERS)


def _longest_combining_run(value: str) -> int:
    longest = run = 0
    for char in value:
        run = run + 1 if unicodedata.category(char) in ("Mn", "Me") else 0
        longest = max(longest, run)
    return longest


def validate_name(value: str) -> None:
    """A name signs a letter and stands in its From line: it must read as the
    name it is, in any script, and as nothing else."""
    if _ENCODED_WORD.search(value):
        raise forms.ValidationError(
            _("Please write your name as you would on paper: \"=?\" sequences can't be used."), code="encoded_word"
        )
    if any(char in value for char in "<>@"):
        raise forms.ValidationError(_("Please enter just your name, not an email address."), code="address_like")
    if invisible_characters_remove(value) != value:
        raise forms.ValidationError(
            _("Your name contains invisible characters (such as a zero-width space). Please type it again."),
            code="invisible",
        )
    if _longest_combining_run(value) > _MAX_COMBINING_RUN:
        raise forms.ValidationError(
            _("Your name has too many accent marks stacked on one letter. Please type it again."), code="combining"
        )


def validate_has_letter(value):
    if not any(unicodedata.category(char).startswith("L") for char in value):
        raise forms.ValidationError(_("Please enter a name with at least one letter."), code="no_letters")


@functools.lru_cache(maxsize=16)
def _country_choices(language):
    # django-countries sorts the translated names on every iteration; the list
    # only changes with the language, so it is built once per language.
    return [("", gettext("Choose your country"))] + [(code, name) for code, name in countries]


class CountryField(forms.ChoiceField):
    """A country by its code. Checks the code against a set: ChoiceField's own
    check walks all 250 choices, which was a tenth of a signature's CPU."""

    def valid_value(self, value):
        return value in _country_codes()


@functools.lru_cache(maxsize=1)
def _country_codes():
    return frozenset(code for code, _name in countries)


class SignatureForm(forms.Form):
    first_name = forms.CharField(
        label=_("First name"),
        error_messages={"required": _("Please enter your first name.")},
        max_length=NAME_MAX_LENGTH,
        validators=[validate_plain_line, validate_name, validate_has_letter],
        widget=forms.TextInput(attrs={"autocomplete": "given-name", "dir": "auto"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        error_messages={"required": _("Please enter your last name.")},
        max_length=NAME_MAX_LENGTH,
        validators=[validate_plain_line, validate_name, validate_has_letter],
        widget=forms.TextInput(attrs={"autocomplete": "family-name", "dir": "auto"}),
    )
    email = forms.EmailField(
        label=_("Email"),
        error_messages={
            "required": _("Please enter your email address."),
            "invalid": _("Please enter a valid email address, like name@example.org."),
        },
        max_length=EMAIL_MAX_LENGTH,
        validators=[validate_plain_line],
        help_text=_(
            "Only to confirm your signature. Never shown publicly, never sent to the recipients"
            " unless you tick that box below."
        ),
        # Addresses read left to right in every language.
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "inputmode": "email", "spellcheck": "false", "dir": "ltr"}
        ),
    )
    country = CountryField(
        label=_("Country"),
        choices=lambda: _country_choices(get_language()),
        # The browser may fill it in (WCAG 1.3.5): the values are ISO codes, as "country" expects.
        widget=forms.Select(attrs={"autocomplete": "country"}),
        error_messages={
            "required": _("Please choose your country."),
            "invalid_choice": _("Please choose your country from the list."),
        },
    )
    postcode = forms.CharField(
        label=_("Postcode (optional)"),
        max_length=POSTCODE_MAX_LENGTH,
        required=False,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9][A-Za-z0-9 \-]*$",
                _("Please use only letters, digits, spaces and hyphens in the postcode."),
                code="postcode",
            )
        ],
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "dir": "ltr"}),
    )
    comment = forms.CharField(
        label=_("Why are you signing? (optional)"),
        max_length=COMMENT_MAX_LENGTH,
        required=False,
        validators=[lambda value: validate_plain_line(value.replace("\n", " "))],
        help_text=_("Shown on this page with your first name and country, once a moderator has read it."),
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
    )
    letter_consent = forms.BooleanField(
        required=True,
        error_messages={
            "required": _("Please tick this box: the letter is sent in your name, so we need your agreement.")
        },
    )
    reply_consent = forms.BooleanField(required=False)
    updates_consent = forms.BooleanField(required=False)
    # Hidden from people by the stylesheet and from screen readers by
    # aria-hidden; bots that fill every field give themselves away.
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    # Which wordings of the consents the page showed ("12-13-14"): the page is
    # cached, so a signer may have read a wording that staff have since replaced.
    consent_key = forms.CharField(required=False, widget=forms.HiddenInput)

    CONSENT_FIELDS = ("letter_consent", "reply_consent", "updates_consent")
    WORDING_CHANGED = _(
        "The wording of this agreement was changed while the page was open. Please read it again and tick the box."
    )

    def __init__(self, *args, consents, **kwargs):
        # The templates write labels themselves; Django would translate ":"
        # for every form.
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.consents = consents
        self.fields.update(_consent_fields(self.base_fields, self._consent_texts()))  # type: ignore[arg-type]

    def _consent_texts(self):
        """What the consent fields show: (kind, id, text) of each wording."""
        return tuple((kind, self.consents[kind].pk, self.consents[kind].text) for kind in sorted(self.consents))

    @property
    def current_consent_key(self):
        return "-".join(str(self.consents[kind].pk) for kind in sorted(self.consents))

    def consent_wording_changed(self):
        """True when the page this was posted from showed other consent wordings."""
        shown = self.data.get("consent_key", "")
        return bool(shown) and shown != self.current_consent_key

    def asking_consent_again(self):
        """The same form, its boxes unticked, under the current wordings, with
        the letter box asking to be read again; all else the signer typed kept."""
        data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict, as posted
        for name in self.CONSENT_FIELDS:
            data.pop(name, None)
        data["consent_key"] = self.current_consent_key
        again = type(self)(data, consents=self.consents)
        again.full_clean()
        again.errors["letter_consent"] = again.error_class([str(self.WORDING_CHANGED)])
        return again

    def clean_first_name(self):
        return " ".join(self.cleaned_data["first_name"].split())

    def clean_last_name(self):
        return " ".join(self.cleaned_data["last_name"].split())

    def clean_comment(self):
        # Shown publicly: invisible characters are dropped rather than refused.
        text = invisible_characters_remove(self.cleaned_data["comment"])
        lines = text.replace("\r\n", "\n").split("\n")
        return "\n".join(" ".join(line.split()) for line in lines).strip()

    def clean_postcode(self):
        return " ".join(self.cleaned_data["postcode"].split()).upper()

    def is_bot(self):
        return bool(self.data.get("website"))


@functools.lru_cache(maxsize=8)
def _consent_fields(base_fields, consent_texts):
    """The fields that show consent wordings, labelled with them, made once
    per set of wordings (they change a few times a year) rather than copied
    and relabelled for every form."""
    texts = {kind: text for kind, _pk, text in consent_texts}
    fields = {name: copy.deepcopy(base_fields[name]) for name in (*SignatureForm.CONSENT_FIELDS, "consent_key")}
    fields["letter_consent"].label = texts["letter"]
    fields["reply_consent"].label = texts["reply"]
    fields["updates_consent"].label = texts["updates"]
    fields["consent_key"].initial = "-".join(str(pk) for _kind, pk, _text in consent_texts)
    return fields


class _SharedFields(dict):
    """A form class's base_fields that every form of the class shares instead
    of deep-copying them, as Django does for every form (BaseForm.__init__).

    Copying all eleven fields, with their widgets, validators and messages, was
    a tenth of a signature's CPU in the web process. Nothing may change a
    field on a form; the consent fields, which differ with the wordings, come
    from _consent_fields.
    """

    def __deepcopy__(self, memo):
        return dict(self)

    # A dict is not hashable; this one is the class's own, so it is keyed by identity.
    __hash__ = object.__hash__  # type: ignore[assignment]


SignatureForm.base_fields = _SharedFields(SignatureForm.base_fields)


# Paper and offline signatures, typed by staff or uploaded as CSV: each row is
# checked by the very fields and cleaning of the online form above.

OFFLINE_COLUMNS = (
    "first_name", "last_name", "country", "email", "postcode", "letter_consent", "reply_consent", "updates_consent",
)
OFFLINE_MAX_ROWS = 5000
_TICKED = {"yes", "y", "x", "1", "true", "ticked", "oui", "نعم"}
_UNTICKED = {"", "no", "n", "0", "false", "non", "لا"}


class OfflineSignatureForm(forms.Form):
    """One signature from a paper form. The same fields and cleaning as
    SignatureForm; the email is optional (not everyone gives one on paper),
    and each consent is what the signer ticked on the paper."""

    first_name = SignatureForm.base_fields["first_name"]
    last_name = SignatureForm.base_fields["last_name"]
    email = copy.deepcopy(SignatureForm.base_fields["email"])
    email.required = False
    country = SignatureForm.base_fields["country"]
    postcode = SignatureForm.base_fields["postcode"]
    letter_consent = forms.BooleanField(required=False)
    reply_consent = forms.BooleanField(required=False)
    updates_consent = forms.BooleanField(required=False)

    clean_first_name = SignatureForm.clean_first_name
    clean_last_name = SignatureForm.clean_last_name
    clean_postcode = SignatureForm.clean_postcode

    def __init__(self, *args, paper_consents: frozenset[str] = frozenset(), **kwargs):
        """`paper_consents`: the kinds of consent ("letter", "reply", "updates") the paper form asked for."""
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.paper_consents = paper_consents

    def clean(self):
        cleaned = super().clean() or {}
        for kind in ("letter", "reply", "updates"):
            if cleaned.get(f"{kind}_consent") and kind not in self.paper_consents:
                self.add_error(
                    f"{kind}_consent", _("The paper form of this batch did not ask for this consent.")
                )
        if not cleaned.get("email"):
            for kind in ("reply", "updates"):
                if cleaned.get(f"{kind}_consent"):
                    self.add_error(
                        f"{kind}_consent", _("This consent needs an email address, and the row has none.")
                    )
        return cleaned


def offline_row_data(row: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """A CSV row as the data OfflineSignatureForm takes: a country written
    as its English name becomes its code, and consent cells such as "yes" or
    "x" become ticked boxes. Returns (data, errors of the cells themselves)."""
    data: dict[str, str] = {}
    errors: list[str] = []
    for column in OFFLINE_COLUMNS:
        value = (row.get(column) or "").strip()
        if column.endswith("_consent"):
            if value.casefold() in _TICKED:
                data[column] = "on"
            elif value.casefold() not in _UNTICKED:
                errors.append(
                    _("%(column)s: write yes or no, not “%(value)s”.") % {"column": column, "value": value[:40]}
                )
        elif column == "country" and value and value.upper() not in _country_codes():
            data[column] = countries.by_name(value) or value
        else:
            data[column] = value.upper() if column == "country" else value
    return data, errors


class OfflineFileError(Exception):
    pass


def offline_csv_rows(uploaded) -> list[dict[str, str]]:
    """The rows of an uploaded CSV (UTF-8, with or without a byte-order mark,
    comma- or semicolon-separated, headed by OFFLINE_COLUMNS' names). Raises
    OfflineFileError with a message for staff when the file cannot be read."""
    raw = uploaded.read(OFFLINE_MAX_ROWS * 2000 + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OfflineFileError(_("The file is not UTF-8 text: save it from the spreadsheet as “CSV UTF-8”.")) from None
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    headers = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in ("first_name", "last_name", "country") if name not in headers]
    if missing:
        raise OfflineFileError(
            _("The file has no column %(columns)s: start from the template.") % {"columns": ", ".join(missing)}
        )
    reader.fieldnames = headers
    rows = []
    for row in reader:
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue  # a blank line
        rows.append({key: value for key, value in row.items() if isinstance(key, str) and isinstance(value, str)})
        if len(rows) > OFFLINE_MAX_ROWS:
            raise OfflineFileError(
                _("The file has more than %(limit)d rows: split it into batches.") % {"limit": OFFLINE_MAX_ROWS}
            )
    if not rows:
        raise OfflineFileError(_("The file has no rows under its header."))
    return rows
# Attribution: where a signer came from. The petition page is the same bytes
# for everyone and needs no script, so the address the signer arrived at
# (with its ?source=, utm_* and ref= parameters) is read on the sign POST from
# its Referer: the site's Referrer-Policy (same-origin) sends the full address
# of our own page with a form posted from it, and only then.
REFERRAL_CODE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_ATTRIBUTION_VALUE = re.compile(r"[\w .:/@+-]{1,100}")
_ATTRIBUTION_PARAMETERS = ("source", "utm_source", "utm_medium", "utm_campaign")


def attribution_read(request, petition):
    """An `Attribution` for a sign POST, from the query of the page it was
    posted from (or of the POST itself). A value that is not plain text is
    dropped; an embedding site is kept only if staff listed it."""
    referer = request.headers.get("Referer", "")
    own_host = request.get_host()
    arrived_at = urlsplit(referer) if referer else None
    query = {key: values[-1] for key, values in request.GET.lists()}
    if arrived_at is not None and arrived_at.netloc == own_host:
        query = {key: values[-1] for key, values in parse_qs(arrived_at.query).items()} | query

    def plain(name):
        value = query.get(name, "").strip()
        return value if _ATTRIBUTION_VALUE.fullmatch(value) else ""

    referral = query.get("ref", "")
    site = query.get("site", "").rstrip("/")
    return Attribution(
        **{name: plain(name) for name in _ATTRIBUTION_PARAMETERS},
        embed_site=site if site in petition.embed_origin_list() else "",
        referred_by=referral if REFERRAL_CODE.fullmatch(referral) else "",
    )
