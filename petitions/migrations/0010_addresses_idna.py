"""Rewrite every stored comparable address through the new address rule.

petitions.addresses now maps Unicode, punycode and full-width spellings of a
domain to its IDNA A-label (and removes zero-width characters, folds case
fully), so addresses stored under the old rule may no longer be in canonical
form, and two rows that were different mailboxes under the old rule may now
be one. This recomputes signatures' email_normalized and email_domain,
suppressions, mailing recipients, ESP event recipients and blocklist entries,
and resolves the collisions the unique constraints would refuse:

- two signatures of one petition: the earliest is kept as it is, the later
  ones are invalidated (their queued letters cancelled) and keep a marked,
  unique email_normalized;
- two suppressions: the oldest is kept, the rest deleted;
- two recipients of one mailing: the lower id is kept, the other is skipped;
- two blocklist entries: the oldest is kept, the rest deleted.

Only rows whose value changes are written, after each table has been read in
chunks, so on a large table where almost nothing changes this is one read.
Rows erased for privacy (their email is "") keep their filler values.

The rule is imported from petitions.addresses: historic models have no
methods, and the point is to apply the rule as it now is. Reversing does
nothing: the old forms are not kept, and the new ones are valid under the
old code too.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.db import migrations, models
from django.utils import timezone

CHUNK = 2000
SIGNATURE_DUPLICATE = "Same mailbox as an earlier signature (address rule, IDN domains)."
RECIPIENT_DUPLICATE = "Same mailbox as another recipient."


Row = dict[str, Any]
Rule = Callable[[str], str]
# A model as the migration state builds it: its managers and fields, none of
# its methods, and a class the type checker cannot know.
HistoricModel = Any


def _changed_rows(
    queryset: models.QuerySet, fields: list[str], compute: Callable[[Row], str | None], column: str
) -> dict[int, tuple[str, Row]]:
    """Read the table in chunks; {pk: (new value, row)} for each row whose
    `column` would change. Nothing is written while the table is being read."""
    changed: dict[int, tuple[str, Row]] = {}
    for row in queryset.order_by("pk").values(*fields).iterator(chunk_size=CHUNK):
        new = compute(row)
        if new is not None and new != row[column]:
            changed[row["pk"]] = (new, row)
    return changed


def _fits(model: HistoricModel, column: str, value: str) -> bool:
    """Whether the value fits the column. A punycode domain is longer than its
    Unicode spelling, so a long address's canonical form can outgrow it; such
    a row keeps its old value (PostgreSQL would refuse the whole migration)."""
    return len(value) <= model._meta.get_field(column).max_length


def _holders(
    model: HistoricModel, column: str, values: Iterable[str], fields: list[str], scope: str | None = None
) -> dict[tuple, list[Row]]:
    """Rows that hold one of these values now: {(scope value, value): [row, ...]},
    each row with the same fields as the rows read by _changed_rows."""
    held: dict[tuple, list[Row]] = {}
    values = sorted(values)
    for start in range(0, len(values), 500):
        for row in model.objects.filter(**{f"{column}__in": values[start:start + 500]}).values(*fields):
            held.setdefault((row[scope] if scope else None, row[column]), []).append(row)
    return held


def _write(model: HistoricModel, column: str, values: dict[int, str]) -> None:
    """Set `column` to values[pk] for each pk, through a unique placeholder, so
    no statement meets the unique constraint halfway (one row taking a value
    another row gives up in the same pass)."""
    if not values:
        return
    for pk in values:
        model.objects.filter(pk=pk).update(**{column: f"#migrating-{pk}"})
    for pk, value in values.items():
        model.objects.filter(pk=pk).update(**{column: value})


def _marked(canonical: str, suffix: str, max_length: int) -> str:
    """canonical + suffix, shortened from the canonical side to fit the column."""
    return canonical[: max_length - len(suffix)] + suffix


def _groups(
    changed: dict[int, tuple[str, Row]], holders: dict[tuple, list[Row]], scope: str | None
) -> dict[tuple, list[Row]]:
    """The rows that will share each (scope, new value): the changed rows
    moving to it, and the unchanged rows that hold it already."""
    groups: dict[tuple, list[Row]] = {}
    for new, row in changed.values():
        groups.setdefault((row[scope] if scope else None, new), []).append(row)
    for key, rows in holders.items():
        if key in groups:
            groups[key].extend(row for row in rows if row["pk"] not in changed)
    return groups


def signatures_recanonicalise(
    Signature: HistoricModel, Letter: HistoricModel, email_canonical: Rule, email_domain: Rule
) -> None:
    """email_normalized and email_domain from the email as typed. One
    signature per mailbox and petition: the earliest stays as it is (it was
    counted first, its letters went first), later ones are invalidated."""
    fields = ["pk", "petition_id", "email", "email_normalized", "email_domain", "created_at", "state"]
    rows = Signature.objects.order_by("pk").values(*fields).iterator(chunk_size=CHUNK)
    changed: dict[int, tuple[str, Row]] = {}
    domains: dict[int, str] = {}
    for row in rows:
        if not row["email"]:
            continue  # erased: email_normalized holds a unique filler
        canonical, domain = email_canonical(row["email"]), email_domain(row["email"])
        if domain != row["email_domain"] and _fits(Signature, "email_domain", domain):
            domains[row["pk"]] = domain
        if canonical and canonical != row["email_normalized"] and _fits(Signature, "email_normalized", canonical):
            changed[row["pk"]] = (canonical, row)

    holders = _holders(Signature, "email_normalized", {new for new, _ in changed.values()}, fields, "petition_id")
    values: dict[int, str] = {}
    duplicates: list[int] = []
    max_length = Signature._meta.get_field("email_normalized").max_length
    for (_, canonical), group in _groups(changed, holders, "petition_id").items():
        group.sort(key=lambda row: (row["created_at"], row["pk"]))
        first, later = group[0], group[1:]
        if first["pk"] in changed:
            values[first["pk"]] = canonical
        for row in later:
            marked = _marked(canonical, f"#duplicate-{row['pk']}", max_length)
            if row["email_normalized"] != marked or row["state"] != "invalidated":
                values[row["pk"]] = marked
                duplicates.append(row["pk"])

    _write(Signature, "email_normalized", values)
    now = timezone.now()
    for start in range(0, len(duplicates), 500):
        chunk = duplicates[start:start + 500]
        # One invalidated already (by a moderator) keeps its reason and time.
        Signature.objects.filter(pk__in=chunk).exclude(state="invalidated").update(
            state="invalidated", invalidated_reason=SIGNATURE_DUPLICATE, invalidated_at=now
        )
        Letter.objects.filter(signature_id__in=chunk, state="queued").update(state="cancelled")
    by_domain: dict[str, list[int]] = {}
    for pk, domain in domains.items():
        by_domain.setdefault(domain, []).append(pk)
    for domain, pks in by_domain.items():
        for start in range(0, len(pks), 500):
            Signature.objects.filter(pk__in=pks[start:start + 500]).update(email_domain=domain)


def suppressions_recanonicalise(Suppression: HistoricModel, email_canonical: Rule) -> None:
    """Suppressions keep only their normalised address, so it is its own
    source. Two that become one mailbox: the oldest says why it was first
    suppressed, the others add nothing."""
    fields = ["pk", "email_normalized", "created_at"]
    changed = _changed_rows(
        Suppression.objects.all(), fields,
        lambda row: email_canonical(row["email_normalized"]) or None,
        "email_normalized",
    )
    changed = {pk: item for pk, item in changed.items() if _fits(Suppression, "email_normalized", item[0])}
    holders = _holders(Suppression, "email_normalized", {new for new, _ in changed.values()}, fields)
    values: dict[int, str] = {}
    doomed: list[int] = []
    for (_, canonical), group in _groups(changed, holders, None).items():
        group.sort(key=lambda row: (row["created_at"], row["pk"]))
        if group[0]["pk"] in changed:
            values[group[0]["pk"]] = canonical
        doomed.extend(row["pk"] for row in group[1:])
    for start in range(0, len(doomed), 500):
        Suppression.objects.filter(pk__in=doomed[start:start + 500]).delete()
    _write(Suppression, "email_normalized", values)


def recipients_recanonicalise(MailingRecipient: HistoricModel, email_canonical: Rule) -> None:
    """A mailing goes once to each mailbox: the lower id (the one a running
    send would reach first) keeps the address, the other is skipped."""
    fields = ["pk", "mailing_id", "email", "email_normalized", "state", "error"]
    changed = _changed_rows(
        MailingRecipient.objects.all(), fields,
        # An erased recipient (email "") keeps its filler.
        lambda row: email_canonical(row["email"]) or None,
        "email_normalized",
    )
    changed = {pk: item for pk, item in changed.items() if _fits(MailingRecipient, "email_normalized", item[0])}
    holders = _holders(MailingRecipient, "email_normalized", {new for new, _ in changed.values()}, fields, "mailing_id")
    values: dict[int, str] = {}
    skipped: list[int] = []
    for (_, canonical), group in _groups(changed, holders, "mailing_id").items():
        group.sort(key=lambda row: row["pk"])
        if group[0]["pk"] in changed:
            values[group[0]["pk"]] = canonical
        for row in group[1:]:
            marked = f"duplicate-{row['pk']}"
            if (row["email_normalized"], row["state"], row["error"]) != (marked, "skipped", RECIPIENT_DUPLICATE):
                values[row["pk"]] = marked
                skipped.append(row["pk"])
    _write(MailingRecipient, "email_normalized", values)
    for start in range(0, len(skipped), 500):
        MailingRecipient.objects.filter(pk__in=skipped[start:start + 500]).update(
            state="skipped", error=RECIPIENT_DUPLICATE
        )


def esp_events_recanonicalise(EspEvent: HistoricModel, email_canonical: Rule) -> None:
    """ESP events are matched to suppressions and erased by address; nothing
    unique hangs on the recipient, so it is simply rewritten."""
    changed = _changed_rows(
        EspEvent.objects.all(), ["pk", "recipient"],
        lambda row: email_canonical(row["recipient"]) if row["recipient"] else None,
        "recipient",
    )
    for pk, (recipient, _row) in changed.items():
        if _fits(EspEvent, "recipient", recipient):
            EspEvent.objects.filter(pk=pk).update(recipient=recipient)


def blocklist_recanonicalise(BlockedSource: HistoricModel, email_canonical: Rule, domain_canonical: Rule) -> None:
    """Address and domain entries in canonical form, as signatures' columns
    now are; two entries that become one: the oldest is kept. IP ranges are
    left alone."""
    rules = {"email": email_canonical, "domain": domain_canonical}
    fields = ["pk", "kind", "value", "created_at"]
    changed = _changed_rows(
        BlockedSource.objects.filter(kind__in=list(rules)), fields,
        lambda row: rules[row["kind"]](row["value"]) or None,
        "value",
    )
    changed = {pk: item for pk, item in changed.items() if _fits(BlockedSource, "value", item[0])}
    holders = _holders(BlockedSource, "value", {new for new, _ in changed.values()}, fields, "kind")
    values: dict[int, str] = {}
    doomed: list[int] = []
    for (_, value), group in _groups(changed, holders, "kind").items():
        group.sort(key=lambda row: (row["created_at"], row["pk"]))
        if group[0]["pk"] in changed:
            values[group[0]["pk"]] = value
        doomed.extend(row["pk"] for row in group[1:])
    BlockedSource.objects.filter(pk__in=doomed).delete()
    _write(BlockedSource, "value", values)


def addresses_recanonicalise(apps, schema_editor) -> None:
    """Apply petitions.addresses to every stored comparable address."""
    from petitions.addresses import domain_canonical, email_canonical, email_domain

    model = lambda name: apps.get_model("petitions", name)  # noqa: E731
    signatures_recanonicalise(model("Signature"), model("Letter"), email_canonical, email_domain)
    suppressions_recanonicalise(model("Suppression"), email_canonical)
    recipients_recanonicalise(model("MailingRecipient"), email_canonical)
    esp_events_recanonicalise(model("EspEvent"), email_canonical)
    blocklist_recanonicalise(model("BlockedSource"), email_canonical, domain_canonical)


class Migration(migrations.Migration):

    dependencies = [
        ("petitions", "0009_signature_fewer_indexes"),
    ]

    operations = [
        migrations.RunPython(addresses_recanonicalise, migrations.RunPython.noop, elidable=True),
    ]
