"""One measured run of the hand-over pack, in a process of its own so that its
peak memory is its own (bench/handover.py starts it).

    python bench/handover_child.py pack|csv|idle SLUG

pack: handover_pack_make (CSV with the hash chain, then the PDF);
csv:  the same rows written as a plain CSV, no chain, no PDF (the baseline);
idle: Django set up and nothing else (the process's own floor).
Prints one JSON line: seconds, rows, peak RSS in MB, sizes.
"""

import csv
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mb():
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss,
    which a process started by a larger one inherits from it across fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    mode, slug = sys.argv[1], sys.argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    import django

    django.setup()
    from django.conf import settings

    from petitions.models import Petition
    from petitions.selectors.handover import HEADER, handover_rows
    from petitions.services.handover import handover_pack_make, handover_paths

    petition = Petition.objects.get(slug=slug)
    result: dict[str, object] = {"mode": mode}
    started = time.monotonic()
    if mode == "pack":
        pack = handover_pack_make(petition=petition, created_by=None, recipients=["The Minister of the Interior"])
        csv_path, pdf_path = handover_paths(pack)
        result |= {
            "rows": pack.signature_count, "digest": pack.final_digest,
            "csv_mb": csv_path.stat().st_size / 2**20, "pdf_mb": pdf_path.stat().st_size / 2**20,
        }
    elif mode == "csv":
        path = Path(settings.HANDOVER_DIR) / f"{slug}-plain.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = 0
        with path.open("w", newline="", encoding="utf-8", buffering=1 << 16) as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(HEADER[:-1])
            for row in handover_rows(petition_id=petition.pk):
                writer.writerow(row)
                rows += 1
        result |= {"rows": rows, "csv_mb": path.stat().st_size / 2**20}
    result["seconds"] = time.monotonic() - started
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
