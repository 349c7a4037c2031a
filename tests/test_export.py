"""CSV export of a petition's signatures: streamed, with a recorded SHA-256
digest, email left out by default, formulas neutralised, and only for staff
allowed to export."""

import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.db.models.query import QuerySet
from django.urls import reverse

from petitions.models import ConsentWording, Signature, SignatureExport
from petitions.selectors import exports
from petitions.services import exports as export_records
from tests.conftest import staff

pytestmark = pytest.mark.django_db

CONFIRMED, PENDING = Signature.State.CONFIRMED, Signature.State.PENDING
SIGNED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def signatures_add(petition, count, *, state=CONFIRMED, **fields):
    consent = ConsentWording.objects.filter(kind=ConsentWording.Kind.LETTER).first()
    start = Signature.objects.count()
    return Signature.objects.bulk_create(
        [
            Signature(
                **{
                    "petition": petition, "first_name": "Amira", "last_name": f"Haddad{number}",
                    "email": f"amira{number}@example.org", "email_normalized": f"amira{number}@example.org",
                    "country": "TN", "postcode": "1002", "state": state, "letter_consent": consent,
                    "created_at": SIGNED, "confirmed_at": SIGNED + timedelta(minutes=3) if state == CONFIRMED else None,
                }
                | fields
            )
            for number in range(start, start + count)
        ],
        batch_size=2000,
    )


def export(client, user, petition, **choices):
    client.force_login(user)
    data = {"petition": petition.pk, "columns": [c.key for c in exports.COLUMNS if c.default], "states": [CONFIRMED]}
    return client.post(reverse("admin:petitions_export"), data | choices)


def rows_of(body):
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))


class ExportTests:
    def test_it_streams_a_csv_whose_recorded_digest_matches_its_bytes(self, client, superuser, petition):
        signatures_add(petition, 3)
        response = export(client, superuser, petition)
        assert response.status_code == 200
        assert response.streaming
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        record = SignatureExport.objects.get()
        assert response["Content-Disposition"] == (
            f'attachment; filename="{petition.slug}-signatures-'
            f'{record.created_at:%Y%m%d-%H%M%S}-export-{record.pk}.csv"'
        )
        assert (record.sha256, record.row_count) == ("", None)  # recorded at the start, completed at the end

        body = b"".join(response.streaming_content)
        record.refresh_from_db()
        assert record.sha256 == hashlib.sha256(body).hexdigest()
        assert record.row_count == 3
        assert (record.created_by, record.petition, record.columns) == (
            superuser, petition, ["first_name", "last_name", "country", "country_name", "postcode", "confirmed_at"]
        )
        assert rows_of(body) == [
            ["First name", "Last name", "Country code", "Country", "Postcode", "Confirmed at (UTC)"],
            *[["Amira", f"Haddad{number}", "TN", "Tunisia", "1002", "2025-03-01T12:03:00Z"] for number in range(3)],
        ]
        # Every field is quoted, lines end in CRLF (RFC 4180).
        assert body.startswith(b'"First name","Last name",') and body.endswith(b'"2025-03-01T12:03:00Z"\r\n')

    def test_it_lists_past_exports_with_their_digest_and_row_count(self, client, superuser, petition):
        signatures_add(petition, 2)
        response = export(client, superuser, petition)
        digest = hashlib.sha256(b"".join(response.streaming_content)).hexdigest()
        export_records.signature_export_start(petition=petition, user=superuser, columns=["last_name"])
        page = client.get(reverse("admin:petitions_export")).content.decode()
        assert f"<code>{digest}</code>" in page
        assert "First name, Last name, Country code, Country, Postcode, Confirmed at (UTC)" in page
        assert "incomplete: the download did not finish" in page
        assert "sha256sum FILE.csv" in page

    def test_it_leaves_an_abandoned_download_without_a_digest(self, superuser, petition):
        signatures_add(petition, 3)
        columns = ["last_name"]
        record = export_records.signature_export_start(petition=petition, user=superuser, columns=columns)
        rows, fields = exports.signatures_for_export(petition=petition, states=[CONFIRMED], columns=columns)
        stream = exports.csv_stream(
            rows=rows, fields=fields, columns=columns,
            on_complete=lambda sha256, row_count: export_records.signature_export_complete(
                export_id=record.pk, sha256=sha256, row_count=row_count
            ),
        )
        assert b"Haddad2" in next(stream)  # every byte of the file, but the server never asked for the end
        stream.close()  # what the server does when the browser goes away
        record.refresh_from_db()
        assert (record.sha256, record.row_count) == ("", None)

    def test_it_offers_the_email_unticked_and_marked_as_personal_data(self, client, superuser, petition):
        client.force_login(superuser)
        response = client.get(reverse("admin:petitions_export"))
        form = response.context["form"]
        assert "email" not in form.fields["columns"].initial
        assert "first_name" in form.fields["columns"].initial
        assert form.fields["states"].initial == [CONFIRMED]
        page = response.content.decode()
        assert "Email address (personal data)" in page
        assert 'value="email"' in page and 'value="email" checked' not in page

    def test_it_exports_the_email_only_when_asked(self, client, superuser, petition):
        signatures_add(petition, 1)
        body = b"".join(export(client, superuser, petition).streaming_content)
        assert b"@example.org" not in body
        body = b"".join(export(client, superuser, petition, columns=["last_name", "email"]).streaming_content)
        assert rows_of(body) == [["Last name", "Email address"], ["Haddad0", "amira0@example.org"]]

    def test_it_exports_confirmed_signatures_only_unless_other_states_are_chosen(self, client, superuser, petition):
        signatures_add(petition, 2)
        signatures_add(petition, 1, state=PENDING)
        signatures_add(petition, 1, state=Signature.State.INVALIDATED)
        other = type(petition).objects.create(
            slug="other", title="Another", body="b", letter_subject="s", letter_greeting="g", letter_body="l"
        )
        signatures_add(other, 5)
        body = b"".join(export(client, superuser, petition, columns=["last_name", "state"]).streaming_content)
        assert rows_of(body)[1:] == [["Haddad0", "confirmed"], ["Haddad1", "confirmed"]]
        body = b"".join(
            export(
                client, superuser, petition, columns=["last_name", "state"], states=[CONFIRMED, PENDING]
            ).streaming_content
        )
        assert rows_of(body)[1:] == [["Haddad0", "confirmed"], ["Haddad1", "confirmed"], ["Haddad2", "pending"]]

    def test_it_writes_timestamps_in_utc_to_the_whole_second_whatever_the_session_time_zone(
        self, client, superuser, petition
    ):
        if connection.vendor == "postgresql":
            # The export's text must not follow the database session's zone.
            with connection.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'Pacific/Auckland'")
        paris = ZoneInfo("Europe/Paris")
        signatures_add(
            petition, 1,
            created_at=datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=paris),
            confirmed_at=datetime(2026, 1, 1, 0, 59, 59, 999_500, tzinfo=paris),
        )
        signatures_add(petition, 1, state=PENDING, created_at=datetime(2025, 7, 14, 9, 30, 5, tzinfo=UTC))
        body = b"".join(
            export(
                client,
                superuser,
                petition,
                columns=["last_name", "confirmed_at", "created_at"],
                states=[CONFIRMED, PENDING],
            ).streaming_content
        )
        # Fractions are cut, never rounded up into the next second (or year);
        # a signature not confirmed has an empty cell.
        assert body.decode("utf-8").split("\r\n") == [
            '"Last name","Confirmed at (UTC)","Signed at (UTC)"',
            '"Haddad0","2025-12-31T23:59:59Z","2025-12-31T22:59:59Z"',
            '"Haddad1","","2025-07-14T09:30:05Z"',
            "",
        ]

    def test_it_has_the_database_send_every_field_as_text(self, petition):
        # Parsing a million timestamps into datetimes in Python and formatting
        # them again took most of a large export's time: the database formats them.
        signatures_add(petition, 1)
        signatures_add(petition, 1, state=PENDING)
        columns = [column.key for column in exports.COLUMNS]
        rows, fields = exports.signatures_for_export(petition=petition, states=[CONFIRMED, PENDING], columns=columns)
        assert fields == [
            "first_name", "last_name", "country", "postcode", "confirmed_at", "created_at", "state", "email",
            "source", "utm_source", "utm_medium", "utm_campaign", "embed_site", "referred_by",
        ]
        no_attribution = ("",) * 6
        assert list(rows) == [
            (
                "Amira", "Haddad0", "TN", "1002", "2025-03-01T12:03:00Z", "2025-03-01T12:00:00Z", "confirmed",
                "amira0@example.org", *no_attribution,
            ),
            ("Amira", "Haddad1", "TN", "1002", "", "2025-03-01T12:00:00Z", "pending", "amira1@example.org",
             *no_attribution),
        ]

    @pytest.mark.parametrize(
        "typed, exported",
        [
            ("=HYPERLINK(\"http://evil.example\")", "'=HYPERLINK(\"http://evil.example\")"),
            ("+33 1 23", "'+33 1 23"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "'\rcmd"),
            ("Anne-Marie", "Anne-Marie"),
            ("O'Brien, \"Jr\"", "O'Brien, \"Jr\""),
        ],
    )
    def test_it_neutralises_formulas_a_spreadsheet_would_run(self, client, superuser, petition, typed, exported):
        signatures_add(petition, 1, first_name=typed, last_name=typed)
        body = b"".join(export(client, superuser, petition, columns=["first_name", "last_name"]).streaming_content)
        assert rows_of(body)[1] == [exported, exported]

    def test_it_refuses_an_empty_choice_of_columns(self, client, superuser, petition):
        response = export(client, superuser, petition, columns=[])
        assert response.status_code == 400
        assert not response.streaming
        assert SignatureExport.objects.count() == 0

    def test_it_streams_rows_from_a_chunked_server_side_cursor(self, client, superuser, petition, monkeypatch):
        signatures_add(petition, 20_000)
        iterator_calls, cursors = [], []
        database_wrapper = type(connections["default"])
        original_iterator, original_chunked_cursor = QuerySet.iterator, database_wrapper.chunked_cursor

        def iterator_spy(queryset, chunk_size=None):
            iterator_calls.append((queryset.model, chunk_size))
            return original_iterator(queryset, chunk_size=chunk_size)

        def chunked_cursor_spy(wrapper):
            cursor = original_chunked_cursor(wrapper)
            cursors.append(cursor)
            return cursor

        monkeypatch.setattr(QuerySet, "iterator", iterator_spy)
        monkeypatch.setattr(database_wrapper, "chunked_cursor", chunked_cursor_spy)

        response = export(client, superuser, petition)
        assert response.streaming
        pieces = iter(response.streaming_content)
        first = next(pieces)
        # The first piece left before the rows were all read: the export is not complete yet.
        assert SignatureExport.objects.get().sha256 == ""
        rest = list(pieces)
        assert iterator_calls == [(Signature, exports.CHUNK_ROWS)]
        assert len(cursors) == 1
        if connection.vendor == "postgresql":
            # A named cursor is a server-side one: PostgreSQL sends its rows a chunk at a time.
            assert cursors[0].cursor.name
        # Many bounded pieces, not one body holding every row.
        sizes = [len(first)] + [len(piece) for piece in rest]
        assert len(sizes) > 10
        assert max(sizes) < exports.FLUSH_BYTES + 1024
        record = SignatureExport.objects.get()
        assert record.row_count == 20_000
        assert record.sha256 == hashlib.sha256(first + b"".join(rest)).hexdigest()


class ExportPermissionTests:
    def test_it_refuses_the_moderator_and_the_campaigner(self, client, moderator, campaigner, petition):
        signatures_add(petition, 1)
        for user in (moderator, campaigner):
            assert not user.has_perm("petitions.export_signature")
            client.force_login(user)
            assert client.get(reverse("admin:petitions_export")).status_code == 403
            assert export(client, user, petition).status_code == 403
        assert SignatureExport.objects.count() == 0

    def test_it_refuses_staff_who_may_view_signatures_but_not_export_them(self, client, petition):
        viewer = staff("viewer", permissions=["view_signature", "view_signer_email"])
        assert export(client, viewer, petition).status_code == 403
        assert SignatureExport.objects.count() == 0

    def test_it_refuses_anyone_not_logged_in(self, client, petition):
        response = client.post(reverse("admin:petitions_export"), {"petition": petition.pk, "columns": ["last_name"]})
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]
        assert SignatureExport.objects.count() == 0

    def test_it_lets_staff_with_the_export_permission_export_without_emails(self, client, petition):
        signatures_add(petition, 1)
        exporter = staff("exporter", permissions=["export_signature"])
        client.force_login(exporter)
        page = client.get(reverse("admin:petitions_export"))
        assert page.status_code == 200
        assert 'value="email"' not in page.content.decode()
        response = export(client, exporter, petition)
        assert response.status_code == 200 and response.streaming
        assert b"Haddad0" in b"".join(response.streaming_content)
        # Email addresses also need the permission to see them.
        refused = export(client, exporter, petition, columns=["last_name", "email"])
        assert refused.status_code == 400
        assert SignatureExport.objects.count() == 1
        allowed = staff("exporter2", permissions=["export_signature", "view_signer_email"])
        assert b"amira0@example.org" in b"".join(
            export(client, allowed, petition, columns=["email"]).streaming_content
        )
