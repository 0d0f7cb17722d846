"""A statement export made by a real Celery worker (queue "long"), in the tenant's schema and folder, its progress
reaching the total. The rows are committed (the worker is another process) and removed afterwards."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from settlement.exports import export_start
from settlement.models import ExportFile, Period, Statement, StatementLine
from tenants.models import Tenant
from tests.conftest import in_tenant, require_test_database
from tests.suppliers.factories import SupplierFactory

pytestmark = pytest.mark.worker

LINES = 30


def test_a_statement_export_runs_on_a_real_worker_and_its_progress_reaches_the_total(celery_worker, django_db_blocker):
    with django_db_blocker.unblock():
        require_test_database()
    media = Path(settings.MEDIA_ROOT)  # the worker's too: the same settings, unchanged here
    log_start = len(celery_worker.log_text())
    with django_db_blocker.unblock(), in_tenant(Tenant.objects.get(slug="alpha")):
        # given: an open month's statement of a Chinese-named supplier, committed, with LINES lines
        supplier = SupplierFactory(name="义乌小商品 Worker")
        period = Period.objects.create(month=dt.date(2031, 1, 1))
        statement = Statement.objects.create(
            period=period, supplier=supplier, currency="CNY", number="ST-WORKER-CNY", total=Decimal(LINES) * 2
        )
        StatementLine.objects.bulk_create(
            StatementLine(statement=statement, kind="adjustment", amount=Decimal("2.00"), description=f"行 {n}")
            for n in range(LINES)
        )
        export = None
        try:
            # when: finance asks for the CSV (the task is sent at once: no transaction is open)
            export = export_start(kind="statement", file_format="csv", params={}, user=None, statement=statement)

            # then: the worker writes it in the tenant's folder and marks it done, every row counted
            done = celery_worker.wait_for(
                lambda: ExportFile.objects.filter(pk=export.pk).exclude(status="running").first(), timeout=60
            )
            assert done.status == "done", done.error
            assert done.done_rows == done.total_rows == LINES
            assert done.path.startswith("exports/t_alpha/")
            content = (media / done.path).read_bytes()
            assert content.startswith(b"\xef\xbb\xbf") and done.size == len(content)
            rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1:]
            assert len(rows) == LINES and sum(Decimal(row[8]) for row in rows) == statement.total
            log = celery_worker.log_text()[log_start:]
            assert "settlement.export_run" in log and "Traceback" not in log
        finally:
            if export is not None:
                (media / export.path).unlink(missing_ok=True)
                ExportFile.objects.filter(pk=export.pk).delete()
            StatementLine.objects.filter(statement=statement).delete()
            statement.delete()
            period.delete()
            supplier.delete()
