"""Tenant isolation of settlement data: tenant B sees nothing of tenant A's periods and statements."""

from __future__ import annotations

import datetime as dt

from settlement.closing import period_close
from settlement.models import Adjustment, Period, Statement, StatementLine
from tests.conftest import in_tenant
from tests.settlement.factories import UTC


def test_tenant_b_sees_nothing_of_tenant_as_statements(shop, acme, october, finance, tenant_b):
    shop.ship(acme, at=dt.datetime(2026, 10, 3, tzinfo=UTC))
    period_close(period=october, actor=finance)
    assert Statement.objects.count() == 1

    with in_tenant(tenant_b):
        assert not Period.objects.exists()
        assert not Statement.objects.exists()
        assert not StatementLine.objects.exists()
        assert not Adjustment.objects.exists()
