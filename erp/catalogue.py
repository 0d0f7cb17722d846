"""Compiles the translation catalogues (locale/<lang>/LC_MESSAGES/django.po → .mo) with Babel.

Django's own ``compilemessages`` needs GNU gettext's msgfmt, which a fresh machine does not have;
Babel is installed with the project, so ``make`` compiles with it (``python -m erp.catalogue``).
The .mo files are build output and are not committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def compile_catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Writes a .mo beside every django.po under ``locale_dir`` (fuzzy entries left out); returns the .mo paths."""
    written = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/django.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


def main() -> int:
    for path in compile_catalogues():
        print(f"compiled {path.relative_to(LOCALE_DIR.parent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
