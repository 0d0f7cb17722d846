"""PackedJSONField: written with lz4, and rows written before (zlib, plain JSON text) still read."""

from __future__ import annotations

import zlib

import orjson

from orders.models import LZ4_MAGIC, PackedJSONField, pack_json

DOCUMENT = {"lines": [{"line_id": 1, "reasons": ["缺货: P-1", "cheapest source"]}], "held": False}


def test_a_document_is_written_with_lz4_and_read_back_whole():
    packed = pack_json(DOCUMENT)
    assert packed[:4] == LZ4_MAGIC
    assert PackedJSONField().from_db_value(memoryview(packed), None, None) == DOCUMENT


def test_rows_written_with_zlib_or_as_plain_json_before_still_read():
    field = PackedJSONField()
    assert field.from_db_value(zlib.compress(orjson.dumps(DOCUMENT), 1), None, None) == DOCUMENT
    assert field.from_db_value(orjson.dumps(DOCUMENT), None, None) == DOCUMENT
    assert field.from_db_value(None, None, None) is None
