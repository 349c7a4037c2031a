"""Every raw-SQL fast path of the project, in one place.

Each does what a plain ORM version would, faster on a path that runs for
every signature, email or letter, and `tests/test_fastsql.py` compares each
with that ORM version on both databases. Columns and values always come from
the models' own fields, prepared as the ORM prepares them.

- `signature_insert`: a new signature and its confirmation email, or a repeat
  signer's entry and rate-limit row, in one statement (PostgreSQL) or one
  transaction of three (SQLite), the same statements either way. Through the
  ORM it was two INSERTs in a transaction, four round trips and more than
  half of the web process's CPU per signature (py-spy, bench/). A repeat
  signer meets `ON CONFLICT DO NOTHING` instead of an error and a rollback.
- `update_each`: many rows updated in one statement, each with its own value.
  Django's bulk_update writes a CASE per column and row and took two thirds
  of a 100-recipient mailing batch's time.
- `window_counts`: the rate limits' counts (signatures and repeat attempts)
  for a batch of signatures, planned once rather than once per signature and limit.
- `mailing_audience_insert`: a mailing's audience snapshot as INSERT ... SELECT
  of the same rows as `selectors.mailings.mailing_audience`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from petitions.models import MailingRecipient, Outbox, RepeatAttempt, Signature, Suppression


def _columns_and_values(
    connection: BaseDatabaseWrapper, instance: models.Model, *, leave_out: frozenset[str] = frozenset()
) -> tuple[str, list[Any]]:
    """The columns and values of an INSERT of `instance`, prepared by its fields
    as the ORM prepares them (defaults, pre_save, conversion for the database)."""
    fields, columns = _fields_and_columns(connection, type(instance), leave_out)
    return columns, [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]


# Column lists, by database backend and model; not by connection, since a
# cache keyed by connections would keep every thread's connection alive.
_column_lists: dict[tuple[str, type[models.Model], frozenset[str]], tuple[list[models.Field], str]] = {}
_conflict_columns: dict[str, str] = {}
_typed_lists: dict[tuple[str, type[models.Model], frozenset[str]], str] = {}


def _fields_and_columns(
    connection: BaseDatabaseWrapper, model: type[models.Model], leave_out: frozenset[str]
) -> tuple[list[models.Field], str]:
    key = (connection.vendor, model, leave_out)
    if key not in _column_lists:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.column not in leave_out]
        _column_lists[key] = fields, ", ".join(connection.ops.quote_name(field.column) for field in fields)
    return _column_lists[key]


def _field(model: type[models.Model], name: str) -> models.Field:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field), name
    return field


def _one_signer_per_petition(connection: BaseDatabaseWrapper) -> str:
    """The columns of the constraint a repeat signer runs into."""
    if connection.vendor not in _conflict_columns:
        constraint = next(c for c in Signature._meta.constraints if c.name == "signature_one_per_email")
        assert isinstance(constraint, models.UniqueConstraint)
        _conflict_columns[connection.vendor] = ", ".join(
            connection.ops.quote_name(str(_field(Signature, name).column)) for name in constraint.fields
        )
    return _conflict_columns[connection.vendor]


def _placeholders(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _typed_placeholders(connection: BaseDatabaseWrapper, model: type[models.Model], leave_out: frozenset[str]) -> str:
    """Placeholders cast to their columns' types: a VALUES list or a UNION
    would otherwise type an untyped NULL or string as text, which PostgreSQL
    will not put into a timestamp or integer column."""
    key = (connection.vendor, model, leave_out)
    if key not in _typed_lists:
        fields, _columns = _fields_and_columns(connection, model, leave_out)
        _typed_lists[key] = ", ".join(f"CAST(%s AS {field.db_type(connection)})" for field in fields)
    return _typed_lists[key]


def signature_insert(signature: Signature, entry: Outbox) -> tuple[bool, int]:
    """Write `signature` with its outbox `entry` (its confirmation email), or,
    if the mailbox has already signed this petition, a repeat-signature entry
    (the same entry, of kind REPEAT_SIGNATURE, pending, naming the petition and
    the canonical address) and a RepeatAttempt for the rate limits instead.
    Either way the request makes the same statements, so a repeat signer's
    answer takes no longer than a first signer's. Returns (new signature?, the
    id of the outbox entry written); sets the ids (and entry.signature) of a
    new signature and its entry."""
    # The connection itself, not django.db.connection: that proxy looks the
    # connection up again on every attribute read, and preparing the rows'
    # values reads it some sixty times.
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    columns, values = _columns_and_values(connection, signature)
    insert_signature = (
        f"INSERT INTO {quote(Signature._meta.db_table)} ({columns}) VALUES ({_placeholders(values)})"
        f" ON CONFLICT ({_one_signer_per_petition(connection)}) DO NOTHING RETURNING {quote('id')}"
    )
    entry_columns, entry_values = _columns_and_values(connection, entry, leave_out=frozenset({"signature_id"}))
    attempt = RepeatAttempt(
        ip_hash=signature.ip_hash, email_domain=signature.email_domain, created_at=signature.created_at
    )
    attempt_columns, attempt_values = _columns_and_values(connection, attempt)
    outbox, attempts = quote(Outbox._meta.db_table), quote(RepeatAttempt._meta.db_table)
    if connection.vendor == "postgresql":
        # One statement, atomic on its own: no transaction round trips. The
        # entry's values travel once (psycopg caches a statement's parsing only
        # up to 50 parameters); the repeat entry is the same row with its kind,
        # state, petition and address replaced.
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH entry ({entry_columns}) AS (VALUES ({_typed_placeholders(connection, Outbox, _NO_SIGNATURE)})),"
                f" new_signature AS ({insert_signature}),"
                f" attempt AS (INSERT INTO {attempts} ({attempt_columns})"
                f" SELECT {_placeholders(attempt_values)} WHERE NOT EXISTS (SELECT 1 FROM new_signature) RETURNING 1)"
                f" INSERT INTO {outbox} ({entry_columns}, signature_id)"
                f" SELECT entry.*, new_signature.id FROM entry, new_signature"
                f" UNION ALL SELECT {_repeat_select(connection)}, NULL FROM entry, attempt"
                f" RETURNING signature_id, id",
                entry_values + values + attempt_values + _repeat_given(connection, signature),
            )
            signature_id, entry_id = cursor.fetchone()
    else:
        # Three statements whichever way it goes; changes() is 0 after a
        # signature INSERT that met the conflict.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(insert_signature, values)
            row = cursor.fetchone()
            signature_id = row[0] if row else None
            cursor.execute(
                f"INSERT INTO {attempts} ({attempt_columns}) SELECT {_placeholders(attempt_values)}"
                f" WHERE changes() = 0",
                attempt_values,
            )
            chosen = entry_values if signature_id else _as_repeat(connection, entry_values, signature)
            cursor.execute(
                f"INSERT INTO {outbox} ({entry_columns}, signature_id) VALUES ({_placeholders(chosen)}, %s)"
                f" RETURNING id",
                chosen + [signature_id],
            )
            (entry_id,) = cursor.fetchone()
    if not _saved(connection, signature, signature_id):
        return False, entry_id
    _saved(connection, entry, entry_id)
    entry.signature = signature
    return True, entry_id


# What makes a confirmation entry's row the repeat-signature entry's.
_REPEAT_CONSTANTS = {
    "kind": Outbox.Kind.REPEAT_SIGNATURE.value, "state": Outbox.State.PENDING.value, "done_at": None, "last_error": "",
}
_REPEAT_GIVEN = ("petition_id", "signer_address")
_NO_SIGNATURE = frozenset({"signature_id"})


def _as_repeat(connection: BaseDatabaseWrapper, entry_values: list[Any], signature: Signature) -> list[Any]:
    """A confirmation entry's prepared values as the repeat-signature entry's
    (cheaper than preparing a second model instance on every signature)."""
    fields, _columns = _fields_and_columns(connection, Outbox, _NO_SIGNATURE)
    changes = _REPEAT_CONSTANTS | {"petition_id": signature.petition_id, "signer_address": signature.email_normalized}
    return [changes.get(field.attname, value) for field, value in zip(fields, entry_values, strict=True)]


def _repeat_given(connection: BaseDatabaseWrapper, signature: Signature) -> list[Any]:
    """The repeat entry's own values, in the order its columns come."""
    given = {"petition_id": signature.petition_id, "signer_address": signature.email_normalized}
    fields, _columns = _fields_and_columns(connection, Outbox, _NO_SIGNATURE)
    return [given[field.attname] for field in fields if field.attname in given]


_repeat_selects: dict[str, str] = {}


def _repeat_select(connection: BaseDatabaseWrapper) -> str:
    """The select list of the repeat entry from the `entry` row: constants as
    literals (our own, so safe to write inline), petition and address as the
    statement's last two parameters, every other column as the entry's."""
    if connection.vendor not in _repeat_selects:
        fields, _columns = _fields_and_columns(connection, Outbox, _NO_SIGNATURE)
        items = []
        for field in fields:
            if field.attname in _REPEAT_GIVEN:
                items.append(f"CAST(%s AS {field.db_type(connection)})")
            elif field.attname in _REPEAT_CONSTANTS:
                constant = _REPEAT_CONSTANTS[field.attname]
                items.append("NULL" if constant is None else f"'{constant}'")
            else:
                items.append(f"entry.{connection.ops.quote_name(field.column)}")
        _repeat_selects[connection.vendor] = ", ".join(items)
    return _repeat_selects[connection.vendor]


def _saved(connection: BaseDatabaseWrapper, instance: models.Model, pk: int | None) -> bool:
    """Mark `instance` as the row `pk` (True), or leave it unsaved if no row was written (False)."""
    if pk is None:
        return False
    instance.pk = pk
    # What Model.save() leaves behind, so the instance acts as one loaded from
    # the database (a later save() updates rather than inserts).
    instance._state.adding = False
    instance._state.db = connection.alias
    return True


def update_each(model: type[models.Model], column: str, values_by_id: dict[Any, Any], **same_for_all: Any) -> None:
    """Set `column` to each row's own value ({pk: value}) and the fields in
    `same_for_all` to one value, for every row in `values_by_id`; one statement."""
    if not values_by_id:
        return
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    own_field = _field(model, column)
    assignments: list[str] = []
    params: list[Any] = []
    for pk, value in values_by_id.items():
        params += [str(pk), own_field.get_db_prep_save(value, connection)]
    assignments.append(f"{quote(str(own_field.column))} = given.value")
    constants = []
    for name, value in same_for_all.items():
        field = _field(model, name)
        assignments.append(f"{quote(str(field.column))} = %s")
        constants.append(field.get_db_prep_save(value, connection))
    rows = ", ".join(["(%s, %s)"] * len(values_by_id))
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH given (id, value) AS (VALUES {rows})"
            f" UPDATE {table} SET {', '.join(assignments)} FROM given"
            f" WHERE {table}.{quote(meta.pk.column)} = CAST(given.id AS BIGINT)",
            params + constants,
        )


def window_counts(*, columns: Sequence[str], caps: Sequence[int], rows: Sequence[Sequence[Any]]) -> list[tuple]:
    """For each row (signature id, its created_at, then per limit a value and a
    window start), the id and, per limit, the signatures and repeat attempts
    (RepeatAttempt) whose column (the limit's one of `columns`) equals that
    value, made after the start and before that signature, counted no further than the limit's cap (whether it
    is reached is all that matters).

    One statement whatever the number of rows: the rows travel as a VALUES
    list, so PostgreSQL plans the counting once, not once per row and limit.
    The window ends strictly before the signature's own time, so the range
    stays on the (column, created_at) index."""
    quote = connection.ops.quote_name
    table = quote(Signature._meta.db_table)
    repeats = quote(RepeatAttempt._meta.db_table)
    names = ["id", "made"] + [name for number in range(len(columns)) for name in (f"v{number}", f"s{number}")]
    counts = [
        f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} AS earlier WHERE earlier.{quote(column)}"
        f" = given.v{number} AND earlier.created_at > given.s{number} AND earlier.created_at < given.made"
        f" UNION ALL SELECT 1 FROM {repeats} AS again WHERE again.{quote(column)}"
        f" = given.v{number} AND again.created_at > given.s{number} AND again.created_at < given.made"
        f" LIMIT {int(cap)}) AS window_{number})"
        for number, (column, cap) in enumerate(zip(columns, caps, strict=True))
    ]
    placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
    params: list[Any] = []
    for signature_id, made, *windows in rows:
        params += [signature_id, connection.ops.adapt_datetimefield_value(made)]
        for position in range(0, len(windows), 2):
            params += [windows[position], connection.ops.adapt_datetimefield_value(windows[position + 1])]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH given ({', '.join(names)}) AS (VALUES {', '.join([placeholders] * len(rows))})"
            f" SELECT given.id, {', '.join(counts)} FROM given",
            params,
        )
        return cursor.fetchall()


def mailing_audience_insert(*, mailing_id: int, petition_id: int) -> int:
    """Snapshot a mailing's audience as one MailingRecipient row each (pending):
    the petition's confirmed signers who asked for updates, minus suppressed
    addresses. Returns how many rows were written."""
    quote = connection.ops.quote_name
    recipient, signature = MailingRecipient._meta.db_table, Signature._meta.db_table
    suppression = Suppression._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(recipient)}"
            " (mailing_id, signature_id, email, email_normalized, language, state, error, esp_message_id)"
            " SELECT %s, s.id, s.email, s.email_normalized, s.language, %s, '', ''"
            f" FROM {quote(signature)} s"
            " WHERE s.petition_id = %s AND s.state = %s AND s.updates_consent_id IS NOT NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {quote(suppression)} x WHERE x.email_normalized = s.email_normalized)",
            [mailing_id, MailingRecipient.State.PENDING, petition_id, Signature.State.CONFIRMED],
        )
        return cursor.rowcount
