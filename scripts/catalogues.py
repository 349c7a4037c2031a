"""The translation catalogues under locale/: compile them, or check them.

    python scripts/catalogues.py compile   # .po -> .mo, for make run and make test
    python scripts/catalogues.py check     # fail on an untranslated or fuzzy entry

Compiled with polib, so that running the service needs no GNU gettext; only
extracting new strings (`manage.py makemessages`, and the test that checks the
catalogues are up to date with the code) does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "locale"


def catalogues() -> list[Path]:
    return sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))


def compile_all() -> int:
    for po_path in catalogues():
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
    return 0


def problems(po_path: Path) -> list[str]:
    """What is missing from one catalogue: untranslated entries (or plural
    forms) and fuzzy ones, each named by its English text."""
    catalogue = polib.pofile(str(po_path))
    found = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        if "fuzzy" in entry.flags:
            found.append(f"fuzzy: {entry.msgid!r}")
        elif entry.msgid_plural:
            if not entry.msgstr_plural or not all(entry.msgstr_plural.values()):
                found.append(f"untranslated plural form: {entry.msgid!r}")
        elif not entry.msgstr:
            found.append(f"untranslated: {entry.msgid!r}")
    return found


def check() -> int:
    failed = False
    if not catalogues():
        print("No catalogues under locale/.", file=sys.stderr)
        return 1
    for po_path in catalogues():
        found = problems(po_path)
        for problem in found:
            print(f"{po_path.relative_to(LOCALE.parent)}: {problem}", file=sys.stderr)
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "compile":
        sys.exit(compile_all())
    if command == "check":
        sys.exit(check())
    print(__doc__, file=sys.stderr)
    sys.exit(2)
