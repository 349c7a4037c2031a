"""The petition and what it is made of: its texts, demands, background facts,
recipients and the consent wordings signers agree to."""

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


class Petition(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    language = models.CharField(
        _("original language"), max_length=8, choices=settings.LANGUAGES, default="en",
        help_text=_("The language the texts below are written in; translations are edited separately."),
    )
    title = models.CharField(max_length=200)
    headline = models.CharField(max_length=300, blank=True, help_text="The line under the title.")
    summary = models.CharField(max_length=300, blank=True, help_text="One line, shown first.")
    body = models.TextField(
        help_text="The facts, as the petition's author wrote them. Paragraphs separated by blank lines."
    )
    call_to_action = models.CharField(max_length=300, blank=True)
    further_reading = models.TextField(
        blank=True, help_text="Titles of further reading, one per line; add ' | https://...' to link one."
    )
    letter_subject = models.CharField(max_length=200)
    letter_greeting = models.CharField(max_length=300, help_text="The letter's opening line, e.g. 'Dear ...,'")
    letter_body = models.TextField(help_text="The letter up to its demands. Paragraphs separated by blank lines.")
    letter_demands_intro = models.CharField(max_length=300, blank=True)
    letter_closing = models.CharField(max_length=100, default="Yours sincerely,")
    goal = models.PositiveIntegerField(default=10000)
    is_open = models.BooleanField(default=True, help_text="Closed petitions show their text but take no signatures.")
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    signing_paused = models.BooleanField(default=False, help_text="Stop taking signatures for now.")
    # Blank shows the standard wording, in the page's language; staff's own
    # words are shown as written, in every language.
    signing_paused_message = models.CharField(
        max_length=300, blank=True, default="",
        help_text=_("Blank: \"Signing is paused for a short while. Please come back later.\", translated."),
    )
    letters_paused = models.BooleanField(default=False, help_text="Hold all letters of this petition for now.")
    letters_paused_message = models.CharField(
        max_length=300, blank=True, default="",
        help_text=_("Blank: \"Letters to the recipients are paused for now; yours will go out later.\", translated."),
    )
    # A wave of bot signatures caught within this time never reaches the
    # recipients: a letter waits this long after its signature is confirmed,
    # and a signature invalidated or flagged meanwhile sends none.
    letter_release_minutes = models.PositiveIntegerField(
        default=15, help_text="Letters wait this many minutes after confirming, so moderators can stop a bot wave."
    )
    count_after_release = models.BooleanField(
        default=False,
        help_text="Count a signature publicly only once its letters are released (otherwise at once).",
    )
    targets: models.ManyToManyField = models.ManyToManyField(
        "Target", related_name="petitions", blank=True, verbose_name="recipients"
    )
    created_at = models.DateTimeField(default=timezone.now)

    # How a campaigner runs it: a draft is public only once published; a
    # closing date closes it by itself (`accepts_signatures`, read on every
    # request, so no task has to run at that moment); an outcome tells the
    # public how it ended.
    class Outcome(models.TextChoices):
        NONE = "", _("No outcome yet")
        WON = "won", _("Won")
        DELIVERED = "delivered", _("Delivered")
        CLOSED = "closed", _("Closed")

    is_published = models.BooleanField(
        _("published"), default=True, help_text=_("A draft is seen only by staff, through its preview link.")
    )
    closes_at = models.DateTimeField(
        _("closes at"), null=True, blank=True, help_text=_("From then on the petition takes no signatures.")
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True, default="")
    outcome_message = models.TextField(
        _("outcome message"), blank=True, help_text=_("Shown on the page above the form once there is an outcome.")
    )
    goal_steps = models.CharField(
        _("goal ladder"), max_length=200, blank=True,
        help_text=_(
            "Further goals, comma-separated (e.g. 20000, 50000). Once the count reaches the goal the page shows "
            "the next step; past the last, the goal doubles."
        ),
    )
    hero_image = models.ImageField(
        _("hero image"), upload_to="petitions/", blank=True,
        help_text=_("Shown at the top of the page, resized for every screen."),
    )
    hero_alt = models.CharField(
        _("hero image's text alternative"), max_length=300, blank=True,
        help_text=_("What the image shows, for people who cannot see it. Required with an image."),
    )
    embed_origins = models.TextField(
        _("sites that may embed it"), blank=True,
        help_text=_("One origin per line, e.g. https://partner.example.org. Only these may frame the embed page."),
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.title

    @property
    def accepts_signatures(self) -> bool:
        """Open, published and not past its closing date."""
        return self.is_open and self.is_published and not self.is_past_closing

    @property
    def is_past_closing(self) -> bool:
        return self.closes_at is not None and self.closes_at <= timezone.now()

    def goal_for(self, count: int) -> int:
        """The goal to show for `count`: the first step of the ladder not yet
        reached; past the last step, the last doubled until it is ahead."""
        steps = sorted({self.goal, *self.goal_step_numbers()})
        for step in steps:
            if count < step:
                return step
        goal = max(steps[-1], 1)
        while goal <= count:
            goal *= 2
        return goal

    def goal_step_numbers(self) -> list[int]:
        return [int(part) for part in self.goal_steps.replace(" ", "").split(",") if part.isdigit() and int(part) > 0]

    def embed_origin_list(self) -> list[str]:
        return [line.strip().rstrip("/") for line in self.embed_origins.splitlines() if line.strip()]

    def body_paragraphs(self):
        return paragraphs(self.body)

    def letter_paragraphs(self):
        return paragraphs(self.letter_body)

    def further_reading_lines(self):
        return [line.strip() for line in self.further_reading.splitlines() if line.strip()]

    def further_reading_links(self) -> list[tuple[str, str]]:
        return further_reading_links(self.further_reading_lines())

    HERO_WIDTHS = (480, 960, 1440)

    def hero_variant_name(self, width: int) -> str:
        """Where the `width`-pixel copy of the hero image is kept (services.content.hero_variants_make)."""
        stem = self.hero_image.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return f"petitions/variants/{stem}-{width}.jpg"

    def hero_variants(self) -> list[tuple[str, int]]:
        """(address, width) of each resized copy, smallest first; none without an image."""
        if not self.hero_image:
            return []
        storage = self.hero_image.storage
        return [(storage.url(self.hero_variant_name(width)), width) for width in self.HERO_WIDTHS]

    def clean(self):
        super().clean()
        if self.hero_image and not self.hero_alt.strip():
            raise ValidationError({"hero_alt": _("Describe the image for people who cannot see it.")})


def further_reading_links(lines: list[str]) -> list[tuple[str, str]]:
    """(title, address) per further-reading line, written "Title | https://..."; address '' when none."""
    links = []
    for line in lines:
        title, _bar, address = line.rpartition(" | ")
        if title and address.startswith(("https://", "http://")):
            links.append((title.strip(), address.strip()))
        else:
            links.append((line, ""))
    return links


def paragraphs(text: str) -> list[str]:
    """A text's paragraphs: separated by blank lines, trimmed, none empty."""
    return [part.strip() for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]


class Demand(models.Model):
    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="demands")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.text[:80]


class BackgroundFact(models.Model):
    """A fact of the campaign's background, in our words, with its source named."""

    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="background_facts")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField()
    source_name = models.CharField(max_length=200)
    source_detail = models.CharField(max_length=300, blank=True, help_text="Date or title of the source.")
    source_url = models.URLField(_("source's address"), blank=True, help_text=_("Where the source can be read."))

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.text[:80]


def time_zone_validate(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Not a known time zone: %(value)s"), params={"value": value}) from None


def weekdays_validate(value: str) -> None:
    if not value or any(day not in "0123456" for day in value) or len(set(value)) != len(value):
        raise ValidationError(_("Give each sending day once, as a digit from 0 (Monday) to 6 (Sunday)."))


class Target(models.Model):
    """A named recipient of the petition's letter."""

    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    is_active = models.BooleanField(default=True, help_text="Inactive recipients are sent no new letters.")
    hourly_cap = models.PositiveIntegerField(
        default=120, help_text="At most this many letters are sent to this recipient in any hour."
    )
    # Set when the ESP reports that this address bounced or complained: its
    # letters stay queued instead of being burnt on a dead address, until
    # staff fix the address and clear the hold.
    bounce_held_since = models.DateTimeField(null=True, blank=True)
    bounce_reason = models.CharField(max_length=300, blank=True)
    letter_language = models.CharField(
        _("letter language"), max_length=8, choices=settings.LANGUAGES, blank=True, default="",
        help_text=_("The language this recipient's letters are written in; blank for the petition's own."),
    )

    # How letters reach this recipient (issue 17): one by one, in a daily
    # digest, or both; only from the supporters' own mail; only from signers
    # in some countries; and within office hours.
    class DeliveryMode(models.TextChoices):
        EACH = "each", _("Each letter on its own")
        DIGEST = "digest", _("A daily digest")
        BOTH = "both", _("Each letter and a daily digest")

    delivery_mode = models.CharField(
        _("delivery"), max_length=10, choices=DeliveryMode.choices, default=DeliveryMode.EACH
    )
    digest_time = models.TimeField(
        _("digest time"), default=datetime.time(8, 0),
        help_text=_("The daily digest is sent at this time, in the recipient's time zone."),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[time_zone_validate],
        help_text=_("An IANA time zone such as Europe/Brussels."),
    )
    sending_weekdays = models.CharField(
        _("sending days"), max_length=7, default="0123456", validators=[weekdays_validate],
        help_text=_("Days letters may be sent, as digits: 0 is Monday, 6 is Sunday (01234 for Monday to Friday)."),
    )
    window_start = models.TimeField(
        _("office hours from"), null=True, blank=True,
        help_text=_("Letters are sent only within office hours, spread evenly with jitter. Empty: any time."),
    )
    window_end = models.TimeField(_("office hours until"), null=True, blank=True)
    own_mail_only = models.BooleanField(
        _("supporters' own mail only"), default=False,
        help_text=_("The service sends no letters to this recipient; supporters send them from their own mail."),
    )
    countries = CountryField(
        _("countries"), multiple=True, blank=True,
        help_text=_("Only signers in these countries write to this recipient. Empty: every signer does."),
    )

    class Meta:
        ordering = ["id"]
        verbose_name = "recipient"

    def __str__(self):
        return f"{self.name}, {self.title}" if self.title else self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def has_office_hours(self) -> bool:
        return self.window_start is not None and self.window_end is not None or len(self.sending_weekdays) < 7

    @property
    def sends_each_letter(self) -> bool:
        return self.delivery_mode != self.DeliveryMode.DIGEST and not self.own_mail_only

    @property
    def sends_digest(self) -> bool:
        return self.delivery_mode != self.DeliveryMode.EACH and not self.own_mail_only

    @property
    def country_names(self) -> str:
        return ", ".join(str(country.name) for country in self.countries)

    def writes_to(self, country: str) -> bool:
        """Whether a signer in `country` (a code) writes to this recipient."""
        return not self.countries or country in [str(code) for code in self.countries]


class ConsentWording(models.Model):
    """One version of the words a signer agrees to, kept for ever once used."""

    class Kind(models.TextChoices):
        LETTER = "letter", "Send the letter in my name"
        REPLY = "reply", "Recipients may reply to me"
        UPDATES = "updates", "Campaign updates"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Each language has its own versions: a signer is shown, and agrees to,
    # the wording in the language of the page they sign on.
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "language", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "language", "version"], name="consent_kind_language_version_unique")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} [{self.language}] v{self.version}"
