"""Staff's settings and records: rate limits, the blocklist, moderation
decisions, exports handed over and erasures made."""

from django.db import models
from django.utils import timezone

from petitions.models.content import Petition


class RepeatAttempt(models.Model):
    """A signature made again by a mailbox that had signed: it counts toward the
    rate limits exactly as a new signature does, so whether someone else had
    signed never changes what happens to the next signature from the same
    source. Holds no address: the keyed IP hash (cleared with the signatures'
    after IP_HASH_RETENTION_DAYS) and the mail domain."""

    ip_hash = models.CharField(max_length=64, blank=True)
    email_domain = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["ip_hash", "created_at"], name="repeat_ip_window"),
            models.Index(fields=["email_domain", "created_at"], name="repeat_domain_window"),
        ]


class DisposableDomain(models.Model):
    """Staff's own word on a mail domain, over the maintained list of disposable
    (throwaway) mail domains that signing holds silently: the
    disposable-email-domains package. Mark a new throwaway service as
    disposable, or a domain wrongly listed as not."""

    domain = models.CharField(max_length=254, unique=True, help_text="e.g. throwaway.example; covers its subdomains.")
    disposable = models.BooleanField(
        default=True, help_text="Ticked: hold its signatures. Unticked: never treat it as disposable."
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["domain"]

    def __str__(self):
        return f"{self.domain} ({'disposable' if self.disposable else 'not disposable'})"


class RateLimit(models.Model):
    """A limit on signatures from one source in a time window, editable by staff."""

    class Scope(models.TextChoices):
        IP = "ip", "Per IP address"
        EMAIL_DOMAIN = "email_domain", "Per email domain"

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=20, choices=Scope.choices)
    window_seconds = models.PositiveIntegerField()
    max_signatures = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["scope", "window_seconds"]

    def __str__(self):
        return f"{self.name}: {self.max_signatures} per {self.window_seconds}s {self.get_scope_display().lower()}"


class BlockedSource(models.Model):
    """An email address, email domain or IP range whose signatures are held silently."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email address"
        DOMAIN = "domain", "Email domain"
        IP_RANGE = "ip_range", "IP range (CIDR)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=254, help_text="e.g. someone@example.org, example.org, or 203.0.113.0/24")
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name = "blocklist entry"
        verbose_name_plural = "blocklist"
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="blocked_source_once")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.value}"


class ModerationDecision(models.Model):
    """Who decided what about which signatures, when and why."""

    class Action(models.TextChoices):
        INVALIDATE = "invalidate", "Invalidated signatures"
        APPROVE = "approve", "Approved flagged signatures"
        COMMENT_APPROVE = "comment_approve", "Approved comments"
        COMMENT_REJECT = "comment_reject", "Rejected comments"

    actor = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=30, choices=Action.choices)
    reason = models.CharField(max_length=300)
    criteria = models.JSONField(default=dict, blank=True, help_text="The conditions of a bulk decision.")
    signature_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_action_display()} ({self.signature_count})"


class SignatureExport(models.Model):
    """A CSV export handed over to someone: what it held and the SHA-256 of its bytes."""

    petition = models.ForeignKey(Petition, on_delete=models.PROTECT, related_name="exports")
    created_by = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    columns = models.JSONField(default=list)
    row_count = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="Filled in once the whole file has been sent.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Export of {self.petition} at {self.created_at:%Y-%m-%d %H:%M}"


class Erasure(models.Model):
    """That an erasure happened, and how much it erased; deliberately not who."""

    created_at = models.DateTimeField(default=timezone.now)
    signatures_erased = models.PositiveIntegerField(default=0)
    kind = models.CharField(
        max_length=40, default="request", help_text="request, purge of unconfirmed, or anonymisation"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind}: {self.signatures_erased} signature(s) at {self.created_at:%Y-%m-%d %H:%M}"
