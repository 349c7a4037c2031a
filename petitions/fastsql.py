"""The signing write as SQL: a new signature and its confirmation email, at once.

Signing is the one write every visitor makes. Through the ORM it was two
INSERTs inside a transaction, four round trips to the database and more than
half of the web process's CPU per signature (py-spy, bench/). Here the columns
and values still come from the models' own fields, exactly as the ORM would
write them, but PostgreSQL gets the whole write as one statement (a
data-modifying CTE, atomic on its own) and SQLite gets its two INSERTs in one
transaction. A repeat signer meets `ON CONFLICT DO NOTHING` instead of an
error and a rollback.
"""

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from petitions.models import Outbox, Signature


def _columns_and_values(connection, instance, *, leave_out=frozenset()):
    """The columns and values of an INSERT of `instance`, prepared by its fields
    as the ORM prepares them (defaults, pre_save, conversion for the database)."""
    fields, columns = _fields_and_columns(connection, type(instance), leave_out)
    return columns, [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]


# Column lists, by database backend and model; not by connection, since a
# cache keyed by connections would keep every thread's connection alive.
_column_lists = {}


def _fields_and_columns(connection, model, leave_out):
    key = (connection.vendor, model, leave_out)
    if key not in _column_lists:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.column not in leave_out]
        _column_lists[key] = fields, ", ".join(connection.ops.quote_name(field.column) for field in fields)
    return _column_lists[key]


def _one_signer_per_petition(connection):
    """The columns of the constraint a repeat signer runs into."""
    key = (connection.vendor, "signature_one_per_email")
    if key not in _column_lists:
        constraint = next(c for c in Signature._meta.constraints if c.name == "signature_one_per_email")
        _column_lists[key] = ", ".join(
            connection.ops.quote_name(Signature._meta.get_field(name).column) for name in constraint.fields
        )
    return _column_lists[key]


def _placeholders(values):
    return ", ".join(["%s"] * len(values))


def signature_insert(signature, entry=None):
    """Write `signature` and, if given, its outbox `entry` (for that signature),
    both or neither. Returns False, writing nothing, if the signer has already
    signed this petition. On success sets the ids (and entry.signature)."""
    # The connection itself, not django.db.connection: that proxy looks the
    # connection up again on every attribute read, and preparing two rows'
    # values reads it some sixty times.
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    columns, values = _columns_and_values(connection, signature)
    insert_signature = (
        f"INSERT INTO {quote(Signature._meta.db_table)} ({columns}) VALUES ({_placeholders(values)})"
        f" ON CONFLICT ({_one_signer_per_petition(connection)}) DO NOTHING RETURNING {quote('id')}"
    )
    if entry is None:
        with connection.cursor() as cursor:
            cursor.execute(insert_signature, values)
            row = cursor.fetchone()
        return _saved(connection, signature, row and row[0])
    entry_columns, entry_values = _columns_and_values(connection, entry, leave_out=frozenset({"signature_id"}))
    outbox = quote(Outbox._meta.db_table)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH new_signature AS ({insert_signature})"
                f" INSERT INTO {outbox} ({entry_columns}, signature_id)"
                f" SELECT {_placeholders(entry_values)}, id FROM new_signature RETURNING signature_id, id",
                values + entry_values,
            )
            row = cursor.fetchone()
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(insert_signature, values)
            signature_row = cursor.fetchone()
            row = None
            if signature_row:
                cursor.execute(
                    f"INSERT INTO {outbox} ({entry_columns}, signature_id)"
                    f" VALUES ({_placeholders(entry_values)}, %s) RETURNING signature_id, id",
                    entry_values + [signature_row[0]],
                )
                row = cursor.fetchone()
    if not _saved(connection, signature, row and row[0]):
        return False
    _saved(connection, entry, row[1])
    entry.signature = signature
    return True


def _saved(connection, instance, pk):
    """Mark `instance` as the row `pk` (True), or leave it unsaved if no row was written (False)."""
    if pk is None:
        return False
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
    return True
