"""The benchmark's hand-over pack part (issue 18): a million confirmed
signatures, a tenth of them on paper, seeded with COPY; then, each in a
process of its own, the pack (CSV with the hash chain, and the PDF) against
the same rows written as a plain CSV, and against the process doing nothing.
Target: a million signatures in under 2 minutes and under 200 MB.

Part of bench/run.py (`--only handover`); also runs on its own against a
PostgreSQL database it creates:

    .venv/bin/python bench/handover.py --rows 1000000 --database campaign_bench_handover
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import Row, verdict  # noqa: E402

if TYPE_CHECKING:
    from bench.report import Run

HANDOVER_SLUG = "bench-handover"
PAPER_SHARE_MODULO = 10  # every tenth signature on paper
TARGET_SECONDS = 120
TARGET_MB = 200


def handover_petition_seed(*, rows: int, progress=None) -> float:
    """A closed petition of its own with `rows` confirmed signatures, every
    tenth in an offline batch (bulk SQL); returns seconds spent."""
    from django.db import connection

    from bench.generate import signatures_generate
    from petitions.models import OfflineBatch, Petition, Signature
    from petitions.services.signing import consent_wordings_current

    Petition.objects.filter(slug=HANDOVER_SLUG).delete()
    petition = Petition.objects.exclude(slug=HANDOVER_SLUG).first()
    assert petition is not None, "load a petition first (manage.py petition_load)"
    targets = list(petition.targets.all())
    petition.pk = None
    petition._state.adding = True
    petition.slug = HANDOVER_SLUG
    petition.is_open = False  # not counted by the reconciliation, not signable
    petition.save()
    petition.targets.set(targets)
    started = time.monotonic()
    signatures_generate(
        count=rows, petition=petition, consents=consent_wordings_current(), seed=18, confirmed_share=1.0,
        progress=progress,
    )
    batch = OfflineBatch.objects.create(
        petition=petition, collected_on="2026-11-28", place="Bench stall", scan_reference="bench"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Signature._meta.db_table} SET offline_batch_id = %s WHERE petition_id = %s AND id %% %s = 0",
            [batch.pk, petition.pk, PAPER_SHARE_MODULO],
        )
    return time.monotonic() - started


def handover_child(mode: str, env: dict[str, str]) -> dict:
    output = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "handover_child.py"), mode, HANDOVER_SLUG],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def handover_measure(run: Run, *, rows: int, env: dict[str, str]) -> None:
    """Seed, measure, and add the figures to `run`."""
    seed_seconds = handover_petition_seed(
        rows=rows, progress=lambda done: print(f"\r  handover: {done:,} signatures", end="", flush=True)
    )
    print()
    idle = handover_child("idle", env)
    plain = handover_child("csv", env)
    pack = handover_child("pack", env)
    run.raw["handover"] = {"seed_seconds": round(seed_seconds, 1), "idle": idle, "csv": plain, "pack": pack}
    print(
        f"  handover: pack {pack['seconds']:.1f} s, {pack['peak_rss_mb']:.0f} MB peak; "
        f"plain CSV {plain['seconds']:.1f} s, {plain['peak_rss_mb']:.0f} MB; idle {idle['peak_rss_mb']:.0f} MB"
    )
    run.rows.append(Row(
        f"Hand-over pack of {pack['rows']:,} signatures (CSV + hash chain + PDF), seconds and peak RSS",
        f"{pack['seconds']:.1f} s, {pack['peak_rss_mb']:.0f} MB",
        f"{plain['seconds']:.1f} s, {plain['peak_rss_mb']:.0f} MB (the same rows as a plain CSV)",
        f"{pack['seconds'] / plain['seconds']:.1f}×",
        f"< {TARGET_SECONDS} s, < {TARGET_MB} MB",
        verdict(pack["rows"] == rows and pack["seconds"] < TARGET_SECONDS and pack["peak_rss_mb"] < TARGET_MB),
        f"each in a process of its own (Django alone: {idle['peak_rss_mb']:.0f} MB); PDF "
        f"{pack['pdf_mb']:.0f} MB, CSV {pack['csv_mb']:.0f} MB; seeding (COPY, untimed) {seed_seconds:.0f} s",
    ))


class HandoverPhase:
    """Mixed into bench.run.Bench."""

    run: Run
    env: dict[str, str]
    scratch: Path

    def phase_handover(self) -> None:
        env = self.env | {"HANDOVER_DIR": str(self.scratch / "handover")}
        handover_measure(self.run, rows=self.profile.rows, env=env)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="campaign_bench_handover", help="database to DROP and create")
    args = parser.parse_args()
    import psycopg

    with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        connection.execute(f'CREATE DATABASE "{args.database}"')
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"{args.database}-files"
    env = os.environ | {
        "DATABASE_URL": f"{args.postgres}/{args.database}", "HANDOVER_DIR": str(scratch),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-never-used-anywhere-else-0123456789"),
    }
    for command in (["migrate", "--noinput"], ["petition_load"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    import django

    django.setup()
    from bench.report import Run, report_print

    run = Run(profile="handover only", args=vars(args), started_at=datetime.now(UTC).isoformat())
    handover_measure(run, rows=args.rows, env=env)
    report_print(run)
    print(json.dumps(run.raw["handover"], indent=2))


if __name__ == "__main__":
    main()
