"""Files people download: CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX (streaming, constant memory),
with every cell neutralised against spreadsheet formula injection.

A report that can be exported describes itself as an ``ExportTable``: a title, its column headers, how many
rows it has (for progress) and the rows (an iterator, read once).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass
class ExportTable:
    title: str
    columns: Sequence[str]
    count: int
    rows: Iterable[Sequence[object]]
