"""Load realistic signatures into the database with PostgreSQL COPY.

    DATABASE_URL=postgres://... python bench/generate.py --count 1000000

Signers have names in several scripts (Latin with diacritics, Arabic,
Cyrillic, Greek, Devanagari, Ge'ez, Han, Hangul), come from countries weighted
roughly as a migrant-rights petition's would, and signed over the last 60 days
with a launch spike; about 95% are confirmed, 3% still pending and 2%
invalidated. About half asked for updates and a third let recipients reply.

The rows are written by COPY in one transaction and the table is analysed
afterwards, so the planner sees a million rows. Columns the generator does not
know about (added by a later migration) get their model default, so a new
field with a default does not break it; a new required field without one
stops it with a message naming the field.

It writes signatures only. Their letters are not generated: a million
signatures' letters would be some 4 GB of text that no measured query reads.
"""

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (first names, last names, ASCII stem for the address). Each script is listed
# with names a signer would really type.
NAMES = [
    (["Amira", "Youssef", "Leïla", "Karim", "Nour", "Omar", "Salma"], ["Haddad", "Ben Ali", "Trabelsi", "Mansour"],
     "latin-maghreb"),
    (["Emma", "Lukas", "Sofía", "João", "Zoë", "Mateo", "Chloé", "Søren"],
     ["Müller", "García", "Dubois", "Ødegård", "Nowak", "O'Brien", "Smith", "Rossi"], "latin-europe"),
    (["أمينة", "محمد", "فاطمة", "علي", "خديجة", "يوسف"], ["الحداد", "بن علي", "المصري", "الشريف"], "arabic"),
    (["Анна", "Дмитрий", "Ольга", "Сергей", "Мария"], ["Иванова", "Петров", "Смирнова", "Кузнецов"], "cyrillic"),
    (["Ελένη", "Γιώργος", "Μαρία", "Νίκος"], ["Παπαδοπούλου", "Οικονόμου", "Γεωργίου"], "greek"),
    (["प्रिया", "राहुल", "अनीता", "विक्रम"], ["शर्मा", "पटेल", "सिंह"], "devanagari"),
    (["ሳባ", "ዮሐንስ", "ሄለን", "ዳዊት"], ["ተስፋዬ", "ገብረ", "ኃይሉ"], "geez"),
    (["伟", "芳", "娜", "敏"], ["王", "李", "张", "刘"], "han"),
    (["지은", "민준", "서연"], ["김", "이", "박"], "hangul"),
    (["Chidi", "Ngozi", "Kwame", "Aisha", "Fatou"], ["Okafor", "Mensah", "Diallo", "Ndiaye"], "latin-africa"),
]
# Most signers write in Latin script; the other scripts are a steady minority.
NAME_WEIGHTS = [14, 40, 12, 6, 3, 4, 3, 4, 2, 12]
COUNTRIES = [
    ("GB", 22), ("DE", 10), ("FR", 9), ("IT", 8), ("ES", 6), ("NL", 4), ("SE", 3), ("IE", 3), ("US", 8),
    ("CA", 2), ("TN", 3), ("LY", 2), ("EG", 2), ("MA", 2), ("NG", 3), ("ER", 1), ("ET", 1), ("SD", 1),
    ("GR", 2), ("RU", 1), ("IN", 2), ("CN", 1), ("KR", 1), ("BE", 2), ("PL", 2), ("SN", 1), ("GH", 1),
]
POSTCODES = {"GB": ["SW1A 1AA", "EC1A 1BB", "M1 1AE", "B33 8TH", "CR2 6XH"], "DE": ["10115", "80331", "50667"],
             "FR": ["75001", "69001", "13001"], "US": ["10001", "94103", "60601"], "NL": ["1012 JS", "3011 AD"]}
DOMAINS = ["example.org", "example.com", "example.net", "mail.example", "post.example"]
DAYS = 60


def _text(value):
    """A value in COPY's text format (no tabs, newlines or backslashes occur in
    generated values, but a model default might contain them)."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _uuid4_hex(rng):
    value = rng.getrandbits(128)
    # Set the version (4) and variant bits, as uuid.uuid4() does.
    value = (value & ~(0xF000 << 64)) | (0x4000 << 64)
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)
    return f"{value:032x}"


def signatures_generate(
    *, count, petition, consents, seed=6, now=None, confirmed_share=0.95, updates_share=0.5, chunk=50_000,
    progress=None,
):
    """COPY `count` signatures for `petition`; return seconds spent (COPY, VACUUM and ANALYZE).

    `consents` maps kind ("letter", "reply", "updates") to a ConsentWording.
    Of the signatures that are not confirmed, three in five are pending and
    two invalidated. Addresses are unique per run (they carry the seed and a
    row number), so a second run with another seed adds to the first.
    """
    from django.conf import settings
    from django.db import connection, transaction

    from petitions.models import Signature

    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    start_of_campaign = now - timedelta(days=DAYS)
    countries = [code for code, weight in COUNTRIES for _ in range(weight)]
    name_sets = [index for index, weight in enumerate(NAME_WEIGHTS) for _ in range(weight)]

    fields = [field for field in Signature._meta.concrete_fields if not field.primary_key]
    generated = {
        "public_id", "petition", "first_name", "last_name", "email", "email_normalized", "country", "postcode",
        "state", "letter_consent", "reply_consent", "updates_consent", "created_at", "confirmed_at",
        "invalidated_at", "invalidated_reason", "reminders_sent", "email_domain", "ip_hash",
    }
    # IP hashes are kept for a week, then cleared by the privacy housekeeping.
    ip_hash_days = getattr(settings, "IP_HASH_RETENTION_DAYS", 7)
    reminder_days = sorted(getattr(settings, "REMINDER_SCHEDULE_DAYS", ()))
    pending_share = confirmed_share + (1 - confirmed_share) * 0.6
    constants = {}
    for field in fields:
        if field.name in generated:
            continue
        default = field.get_default()
        if default is None and not field.null:
            raise SystemExit(f"bench/generate.py does not know how to fill Signature.{field.name}; teach it.")
        constants[field.name] = _text(field.get_db_prep_save(default, connection))
    columns = [field.column for field in fields]
    table = connection.ops.quote_name(Signature._meta.db_table)

    def row(number):
        first_names, last_names, stem = NAMES[name_sets[rng.randrange(len(name_sets))]]
        first, last = rng.choice(first_names), rng.choice(last_names)
        country = rng.choice(countries)
        local = f"{stem}.{seed}.{number}"
        domain = rng.choice(DOMAINS)
        email = f"{local}@{domain}"
        # A launch spike: 40% sign in the first three days, the rest spread out.
        offset = rng.uniform(0, 3) if rng.random() < 0.4 else rng.uniform(0, DAYS)
        created = start_of_campaign + timedelta(days=offset)
        if created > now:
            created = now
        draw = rng.random()
        confirmed_at = invalidated_at = None
        reason = ""
        reminders = 0
        if draw < confirmed_share:
            state = "confirmed"
            confirmed_at = min(now, created + timedelta(minutes=rng.expovariate(1 / 90)))
        elif draw < pending_share:
            state = "pending"
            # Old pending signers have had the reminders due to them already.
            age_days = (now - created).total_seconds() / 86400
            reminders = sum(1 for days in reminder_days if days <= age_days)
        else:
            state = "invalidated"
            confirmed_at = created + timedelta(minutes=rng.expovariate(1 / 90))
            invalidated_at = min(now, confirmed_at + timedelta(days=rng.uniform(0, 5)))
            reason = "Invalidated by moderator in the admin"
        values = {
            "public_id": _uuid4_hex(rng),
            "petition": str(petition.pk),
            "first_name": first,
            "last_name": last,
            "email": email if rng.random() < 0.9 else email.capitalize(),
            "email_normalized": email,
            "country": country,
            "postcode": rng.choice(POSTCODES[country]) if country in POSTCODES and rng.random() < 0.6 else "",
            "state": state,
            "letter_consent": str(consents["letter"].pk),
            "reply_consent": str(consents["reply"].pk) if rng.random() < 0.33 else r"\N",
            "updates_consent": str(consents["updates"].pk) if rng.random() < updates_share else r"\N",
            "created_at": created.isoformat(),
            "confirmed_at": confirmed_at.isoformat() if confirmed_at else r"\N",
            "invalidated_at": invalidated_at.isoformat() if invalidated_at else r"\N",
            "invalidated_reason": reason,
            "reminders_sent": str(reminders),
            "email_domain": domain,
            "ip_hash": f"{rng.getrandbits(128):032x}" if (now - created).days < ip_hash_days else "",
        }
        return "\t".join(values[field.name] if field.name in values else constants[field.name] for field in fields)

    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        # Maintaining nine indexes and checking four deferred foreign keys row by
        # row costs three times what the COPY itself does; building them once
        # afterwards is much faster. All of it is one transaction, so an
        # interrupted load leaves the schema as it was.
        rebuild = _indexes_and_constraints_drop(cursor, Signature._meta.db_table)
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for first in range(0, count, chunk):
                lines = [row(number) for number in range(first, min(count, first + chunk))]
                copy.write("\n".join(lines) + "\n")
                if progress:
                    progress(min(count, first + chunk))
        for statement in rebuild:
            cursor.execute(statement)
    with connection.cursor() as cursor:
        # VACUUM too: left to autovacuum, its first pass over the new rows
        # (setting the visibility map) ran during the first timed phase.
        cursor.execute(f"VACUUM (ANALYZE) {table}")
    return time.monotonic() - started


def _indexes_and_constraints_drop(cursor, table):
    """Drop the table's unique and foreign-key constraints and its other indexes
    (not the primary key, which other tables reference); return the statements
    that recreate them exactly as they were."""
    cursor.execute(
        """
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = %s::regclass AND contype IN ('u', 'f')
        """,
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
        WHERE indrelid = %s::regclass AND NOT indisprimary
          AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conrelid = %s::regclass)
        """,
        [table, table],
    )
    indexes = cursor.fetchall()
    quoted = '"' + table.replace('"', '""') + '"'
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {quoted} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    # Indexes first: unique constraints build their own, foreign keys are
    # checked by one join each.
    return [definition for _, definition in indexes] + [
        f'ALTER TABLE {quoted} ADD CONSTRAINT "{name}" {definition}'
        for name, definition in sorted(constraints, key=lambda item: "FOREIGN KEY" in item[1])
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--petition", default="libya-detention", help="slug of a loaded petition")
    parser.add_argument("--seed", type=int, default=6, help="also makes the addresses of this run unique")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from petitions.models import Petition
    from petitions.services.signing import consent_wordings_current

    petition = Petition.objects.get(slug=args.petition)
    seconds = signatures_generate(
        count=args.count, petition=petition, consents=consent_wordings_current(), seed=args.seed,
        progress=lambda done: print(f"\r{done:,} rows", end="", file=sys.stderr, flush=True),
    )
    print(f"\n{args.count:,} signatures loaded in {seconds:.1f} s ({args.count / seconds:,.0f} rows/s)")


if __name__ == "__main__":
    main()
