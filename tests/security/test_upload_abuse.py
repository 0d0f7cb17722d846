"""Uploads are bounded: a decompression bomb, a sheet thousands of columns wide, a huge shared-strings table, a
CSV of blank lines or with a quote never closed are refused before the work they would cause, in under a
second, holding less than 50 MB, through the parser every import shares and through the real endpoints,
writing nothing. The bombs are built here with zipfile at level 9; no big file is committed."""

from __future__ import annotations

import io
import resource
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from channels.models import OrderImport
from core import spreadsheets
from core.spreadsheets import MAX_COLUMNS, MAX_ROWS, TableError
from inventory.models import CatalogImport, Product
from orders.models import Order

MB = 1024 * 1024
SECONDS = 1.0
GROWTH = 50 * MB

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"'
    ' Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"'
    ' Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"'
    ' Target="sharedStrings.xml"/></Relationships>'
)
_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
_HEADER_ROW = (
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>sku</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row>'
)


def workbook(
    sheet: Iterable[bytes],
    *,
    shared: Iterable[bytes] = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',),
) -> bytes:
    """A minimal XLSX whose first worksheet's XML and sharedStrings.xml are the given pieces, deflated at level 9."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        for name, pieces in (("xl/sharedStrings.xml", shared), ("xl/worksheets/sheet1.xml", sheet)):
            with archive.open(name, "w", force_zip64=True) as member:
                for piece in pieces:
                    member.write(piece)
    return buffer.getvalue()


def repeated(piece: bytes, total: int) -> Iterable[bytes]:
    block = piece * max(1, MB // len(piece))
    for _ in range(max(1, total // len(block))):
        yield block


def blank_rows_bomb(size: int = 60 * MB) -> bytes:
    """``size`` of blank rows, compressed ~1,000 times (far past any real sheet)."""
    return workbook([_SHEET_HEAD, b"<sheetData>", _HEADER_ROW, *repeated(b"<row/>", size), b"</sheetData></worksheet>"])


def probe_bomb() -> bytes:
    """The probe's bomb: 210 MB of blank rows in a few hundred KB."""
    return blank_rows_bomb(210 * MB)


def blank_rows_within_ratio() -> bytes:
    """Numbered blank rows (as Excel writes them) compress only ~10 times: only the row count stops them."""
    rows = (
        b"".join(b'<row r="%d" spans="1:2"/>' % n for n in range(start, start + 10_000))
        for start in range(2, 200_002, 10_000)
    )
    return workbook([_SHEET_HEAD, b"<sheetData>", _HEADER_ROW, *rows, b"</sheetData></worksheet>"])


def wide_sheet() -> bytes:
    """A header row 16,384 columns wide (Excel's own maximum)."""
    cells = b"".join(b'<c t="inlineStr"><is><t>c</t></is></c>' for _ in range(16_384))
    return workbook([_SHEET_HEAD, b'<sheetData><row r="1">', cells, b"</row></sheetData></worksheet>"])


def lying_dimension() -> bytes:
    """One cell at column XFD under a <dimension> claiming the whole grid (openpyxl would pad every row to it)."""
    return workbook(
        [
            _SHEET_HEAD,
            b'<dimension ref="A1:XFD1048576"/><sheetData>',
            _HEADER_ROW,
            b'<row r="2"><c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row>',
            b"</sheetData></worksheet>",
        ]
    )


def huge_shared_strings() -> bytes:
    """A sharedStrings.xml of ~200 MB (openpyxl loads it whole before the first row)."""
    head = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    return workbook(
        [_SHEET_HEAD, b"<sheetData>", _HEADER_ROW, b"</sheetData></worksheet>"],
        shared=[head, *repeated(b"<si><t>" + b"A" * 100 + b"</t></si>", 60 * MB), b"</sst>"],
    )


def csv_blank_lines() -> bytes:
    return b"sku,name\r\n" + b"\r\n" * (19 * MB // 2)


def csv_wide() -> bytes:
    return b",".join(b"c%d" % n for n in range(16_384)) + b"\r\nA,B\r\n"


def csv_unterminated() -> bytes:
    return b'sku,name,qty\r\nA-1,Tee,1\r\nA-2,"Tee, blue,2\r\nA-3,Cap,3\r\n' + b"A-4,Mug,4\r\n" * 1_000


BOMBS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "xlsx 210 MB of blank rows": (probe_bomb, "x.xlsx", "unpacks to more than 200 MB"),
    "xlsx blank rows (ratio)": (blank_rows_bomb, "x.xlsx", "compressed more than 100 times"),
    "xlsx numbered blank rows": (blank_rows_within_ratio, "x.xlsx", f"more than {MAX_ROWS:,} rows"),
    "xlsx 16,384 columns": (wide_sheet, "x.xlsx", f"more than {MAX_COLUMNS} columns"),
    "xlsx lying dimension": (lying_dimension, "x.xlsx", f"more than {MAX_COLUMNS} columns"),
    "xlsx huge sharedStrings": (huge_shared_strings, "x.xlsx", "compressed more than 100 times"),
    "csv blank lines": (csv_blank_lines, "x.csv", f"more than {MAX_ROWS:,} rows"),
    "csv 16,384 columns": (csv_wide, "x.csv", f"more than {MAX_COLUMNS} columns"),
    "csv unterminated quote": (csv_unterminated, "x.csv", "Unterminated quote on row 3"),
}


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {name: build() for name, (build, _filename, _said) in BOMBS.items()}


def refused(content: bytes, filename: str) -> tuple[str, float]:
    started = time.perf_counter()
    with pytest.raises(TableError) as caught:
        spreadsheets.read_table(content=content, filename=filename)
    return str(caught.value), time.perf_counter() - started


# What each bomb cost to refuse, printed at the end of the module (`-s` shows it): the closing figures.
FIGURES: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    for name, figure in FIGURES.items():
        print(f"\nupload abuse: {name}: {figure}", end="")
    print()


@pytest.mark.parametrize("name", list(BOMBS))
def test_the_shared_reader_refuses_a_bomb_quickly_naming_the_limit_and_holding_little(name, bombs):
    # given a hostile file, small on the wire
    content = bombs[name]
    _build, filename, said = BOMBS[name]
    assert len(content) < spreadsheets.MAX_BYTES

    # when it is read (timed on its own, then again under tracemalloc for the peak)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    message, seconds = refused(content, filename)
    rss_grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024
    tracemalloc.start()
    try:
        refused(content, filename)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # then it is refused in under a second, saying which limit, and the process barely grows
    FIGURES[name] = (
        f"{len(content) / 1024:,.0f} KB sent, refused in {seconds * 1000:.0f} ms, "
        f"peak {peak / MB:.1f} MB traced, RSS +{rss_grown / MB:.1f} MB"
    )
    assert said in message
    assert seconds < SECONDS, f"{name}: {seconds:.2f}s"
    assert peak < GROWTH, f"{name}: peak {peak / MB:.1f} MB"
    assert rss_grown < GROWTH, f"{name}: rss grew {rss_grown / MB:.1f} MB"


# A lone far-right cell under a lying <dimension> is only seen once the cells are read: read_table (in the
# request, or in the worker for a large file) refuses it, check_upload lets it be kept.
SEEN_WHEN_READ = "xlsx lying dimension"


@pytest.mark.parametrize("name", [name for name in BOMBS if name != SEEN_WHEN_READ])
def test_check_upload_refuses_what_read_table_refuses_before_a_file_is_kept(name, bombs):
    _build, filename, _said = BOMBS[name]
    started = time.perf_counter()
    with pytest.raises(TableError):
        spreadsheets.check_upload(content=bombs[name], filename=filename)
    assert time.perf_counter() - started < SECONDS


def test_a_lone_far_cell_passes_the_cheap_check_and_is_refused_when_read(bombs):
    _build, filename, said = BOMBS[SEEN_WHEN_READ]
    spreadsheets.check_upload(content=bombs[SEEN_WHEN_READ], filename=filename)  # kept for the worker
    message, seconds = refused(bombs[SEEN_WHEN_READ], filename)  # which refuses it as it reads
    assert said in message and seconds < SECONDS


def test_a_quote_closed_on_a_later_line_is_a_value_spanning_lines_not_an_error():
    content = b'sku,name\r\nA-1,"two\r\nlines"\r\nA-2,"last\r\none"'
    _header, rows = spreadsheets.read_table(content=content, filename="x.csv")
    assert rows == [(2, ["A-1", "two\r\nlines"]), (3, ["A-2", "last\r\none"])]


def test_a_quote_left_open_is_named_at_the_row_where_it_opens_not_as_missing_values():
    message, _seconds = refused(b'sku,name,qty\nA-1,"Tee,1\nA-2,Cap,2\n', "x.csv")
    assert message.startswith("Unterminated quote on row 2")


def dense_sheet(data_rows: int) -> bytes:
    rows = b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>SKU-1</t></is></c><c r="B%d"><v>5</v></c></row>' % (n, n, n)
        for n in range(2, data_rows + 2)
    )
    return workbook([_SHEET_HEAD, b"<sheetData>", _HEADER_ROW, rows, b"</sheetData></worksheet>"])


def test_a_workbook_at_the_row_limit_passes_the_check_and_one_row_more_does_not():
    # given workbooks as dense as a real one, with exactly MAX_ROWS data rows and with one more
    at_limit, past_limit = dense_sheet(MAX_ROWS), dense_sheet(MAX_ROWS + 1)

    # when they are checked, then only the larger one is refused
    spreadsheets.check_workbook(at_limit)
    with pytest.raises(TableError, match=f"more than {MAX_ROWS:,} rows"):
        spreadsheets.check_workbook(past_limit)


def test_an_ordinary_workbook_still_reads_row_by_row():
    _header, read = spreadsheets.read_table(content=dense_sheet(500), filename="x.xlsx")
    assert len(read) == 500 and read[-1] == (501, ["SKU-1", "5"])


def test_a_csv_at_the_row_limit_still_reads():
    content = b"sku,name\r\n" + b"SKU-1,5\r\n" * MAX_ROWS
    _header, read = spreadsheets.read_table(content=content, filename="x.csv")
    assert len(read) == MAX_ROWS
    with pytest.raises(TableError, match=f"more than {MAX_ROWS:,} rows"):
        spreadsheets.read_table(content=content + b"\r\n", filename="x.csv")  # a blank row counts too


# ---------------------------------------------------------------- through the real endpoints


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(name: str, content: bytes) -> dict:
    return {"file": SimpleUploadedFile(name, content)}


@pytest.mark.parametrize("name", ["xlsx blank rows (ratio)", "xlsx 16,384 columns", "csv unterminated quote"])
def test_the_product_import_api_answers_400_with_the_limit_and_writes_nothing(api, bombs, name):
    _build, filename, said = BOMBS[name]
    api.post("/api/v1/products/import/", upload("warm.csv", b"sku,name\r\n"))  # the first request loads the URLs
    started = time.perf_counter()
    response = api.post("/api/v1/products/import/", upload(filename, bombs[name]))
    assert response.status_code == 400
    assert said in response.content.decode()
    assert time.perf_counter() - started < SECONDS
    assert not Product.objects.exists() and not CatalogImport.objects.exists()


@pytest.mark.parametrize("name", ["xlsx blank rows (ratio)", "xlsx numbered blank rows", "csv blank lines"])
def test_the_product_import_page_refuses_a_bomb_at_once_instead_of_queueing_it(console, bombs, name, media):
    _build, filename, said = BOMBS[name]
    response = console.post("/products/import/", upload(filename, bombs[name]))
    assert response.status_code == 200
    assert said in response.content.decode()
    assert not CatalogImport.objects.exists() and not Product.objects.exists()
    assert not list(media.rglob("*.*"))  # nothing kept for a worker


@pytest.mark.parametrize("name", ["xlsx blank rows (ratio)", "xlsx numbered blank rows", "csv unterminated quote"])
def test_the_order_import_api_answers_400_and_records_nothing(api, store, bombs, name, media):
    _build, filename, said = BOMBS[name]
    api.post(f"/api/v1/stores/{store.pk}/imports/", upload("warm.pdf", b"x"))  # the first request loads the URLs
    started = time.perf_counter()
    response = api.post(f"/api/v1/stores/{store.pk}/imports/", upload(filename, bombs[name]))
    assert response.status_code == 400
    assert said in response.content.decode()
    assert time.perf_counter() - started < SECONDS
    assert not OrderImport.objects.exists() and not Order.objects.exists()
    assert not list(media.rglob("*.*"))


def test_the_order_import_page_says_why_and_records_nothing(console, store, bombs):
    response = console.post(
        f"/stores/{store.pk}/imports/", upload("x.xlsx", bombs["xlsx blank rows (ratio)"]), follow=True
    )
    assert "compressed more than 100 times" in response.content.decode()
    assert not OrderImport.objects.exists()
