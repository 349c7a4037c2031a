from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from petitions.selectors.handover import handover_csv_check


class Command(BaseCommand):
    help = (
        "Recompute the hash chain of a hand-over pack's CSV and say whether it is the list that was handed "
        "over: every row unchanged, and its final digest the one recorded (and printed on the pack's cover)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The pack's CSV file.")
        parser.add_argument(
            "--digest", help="The final digest printed on the cover, to compare with as well (64 hex digits)."
        )

    def handle(self, *args, file, digest=None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        with path.open(newline="", encoding="utf-8-sig") as lines:
            check = handover_csv_check(lines)
        if not check.header_ok:
            raise CommandError("NOT the list handed over: this is not a hand-over pack's CSV (its header differs).")
        self.stdout.write(f"Rows: {check.rows}")
        self.stdout.write(f"Final digest recomputed: {check.final_digest}")
        problems = []
        if check.first_changed_row is not None:
            problems.append(
                f"row {check.first_changed_row} (or the chain cell of a row before it) was changed after the pack "
                "was made"
            )
        if digest and digest.strip().lower() != check.final_digest:
            problems.append("the final digest differs from the one given")
        if check.pack is None:
            problems.append("no hand-over pack with this final digest was recorded")
        if problems or check.pack is None:
            raise CommandError("NOT the list handed over: " + "; ".join(problems) + ".")
        pack = check.pack
        self.stdout.write(
            self.style.SUCCESS(
                f"This is the list handed over: pack {pack.pk} of “{pack.petition.title}”, made "
                f"{pack.created_at:%Y-%m-%d %H:%M} UTC, {pack.signature_count} signatures."
            )
        )
