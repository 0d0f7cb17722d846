"""Routing pages: the rule set versions list (filter, sort, page, download), the rule form of every kind
(errors next to the field, nothing typed lost), the activation confirmation, and rule summaries in Chinese."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.db import connection
from django.utils import translation

from orders.models import Rule, RuleSet
from tests.conftest import in_tenant
from tests.orders.factories import RuleFactory, RuleSetFactory
from tests.orders.routing_factories import activate_rules


@pytest.fixture(autouse=True)
def _english_after():
    yield
    translation.activate("en")


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def _xlsx_rows(response) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(book.active.iter_rows(values_only=True))


@pytest.fixture
def versions(in_a, operator):
    """Versions 1–4 retired (two rules each, 4 with a formula-looking note), 5 active, 6 the draft."""
    for version in range(1, 5):
        ruleset = RuleSetFactory(version=version, status="retired", note=f"note {version}", created_by=operator)
        RuleFactory(ruleset=ruleset, kind="merge", params={"window_hours": version})
        if version % 2:
            RuleFactory(ruleset=ruleset, kind="split", params={"policy": "whole"})
    RuleSet.objects.filter(version=4).update(note='=HYPERLINK("http://x")')
    active = activate_rules(("hold", {"total_above": "1234.5", "currency": "USD"}), version=5)
    draft = RuleSetFactory(version=6, note="")
    return {"active": active, "draft": draft}


def test_versions_filter_by_state_and_sort_by_rule_count(console, versions):
    # when the retired versions are listed by rule count, most first
    page = console.get("/routing/", {"status": "retired", "sort": "-rules"})

    # then only retired versions, two-rule ones first (ties by version, newest first), the filter kept
    assert [v.version for v in page.context["versions"]] == [3, 1, 4, 2]
    body = page.content.decode()
    assert '<option value="retired" selected>' in body
    assert 'aria-sort="descending"' in body
    assert "export=csv" in body and "status=retired" in body


def test_versions_search_and_empty_state(console, versions):
    assert [v.version for v in console.get("/routing/", {"q": "note 2"}).context["versions"]] == [2]

    page = console.get("/routing/", {"q": "nothing like this"})

    assert page.context["versions"] == []
    assert "No version matches these filters" in page.content.decode()


def test_versions_download_exactly_what_is_filtered(console, versions):
    # when the retired versions are downloaded as CSV and XLSX, oldest first
    query = {"status": "retired", "sort": "version"}
    rows = _csv_rows(console.get("/routing/", {**query, "export": "csv"}))
    sheet = _xlsx_rows(console.get("/routing/", {**query, "export": "xlsx"}))

    # then the same four rows, in that order, the formula-like note neutralised
    assert rows[0][:3] == ["Version", "State", "Rules"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert [r[1] for r in rows[1:]] == ["Retired"] * 4
    assert rows[4][6] == '\'=HYPERLINK("http://x")'
    assert [r[0] for r in sheet[1:]] == [1, 2, 3, 4]
    assert sheet[4][6] == '\'=HYPERLINK("http://x")'


def test_versions_are_paged(console, in_a):
    for version in range(1, 31):
        RuleSetFactory(version=version, status="retired")

    first = console.get("/routing/")
    second = console.get("/routing/", {"page": "2"})

    assert [v.version for v in first.context["versions"]] == list(range(30, 5, -1))
    assert [v.version for v in second.context["versions"]] == [5, 4, 3, 2, 1]
    assert "Page 1 of 2" in first.content.decode()


def test_another_tenants_versions_are_neither_listed_nor_downloaded(tenant_b, make_user, client_for, versions):
    client = client_for(tenant_b, make_user(tenant_b, "operator"))

    assert client.get("/routing/").context["versions"] == []
    assert _csv_rows(client.get("/routing/", {"export": "csv"}))[1:] == []
    connection.set_tenant(tenant_b)
    with in_tenant(tenant_b):
        assert not RuleSet.objects.exists()


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_versions_download_is_refused_to_other_roles(tenant_a, make_user, make_supplier, client_for, versions, role):
    supplier = make_supplier(tenant_a) if role == "supplier" else None
    client = client_for(tenant_a, make_user(tenant_a, role, supplier=supplier))

    assert client.get("/routing/", {"export": "csv"}).status_code == 403


def test_retired_version_page_says_why_it_is_read_only_and_shows_its_history(console, versions):
    retired = RuleSet.objects.get(version=1)

    body = console.get(f"/routing/versions/{retired.pk}/").content.decode()

    assert "This version is retired and read-only" in body
    assert "/routing/rules/" not in body  # no edit links


def test_editing_a_retired_rule_is_refused_with_the_reason(console, versions):
    rule = RuleSet.objects.get(version=1).rules.first()

    response = console.get(f"/routing/rules/{rule.pk}/", follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert any("Version 1 is retired: only a draft can be changed" in m for m in messages)


# ---------------------------------------------------------------------------
# The rule form: a failed submit of every kind keeps what was typed


FAILED_SUBMITS = {
    # kind: (posted values, the error shown, texts of the typed values that must still be in the page)
    "hold": (
        {"name": "Big spenders", "total_above": "-5", "currency": "usd", "tags": "vip, 大客户", "note_contains": "urgent"},
        "Ensure this value is greater than or equal to 0.",
        ['value="Big spenders"', 'value="-5"', 'value="usd"', 'value="vip, 大客户"', "urgent</textarea>"],
    ),
    "gift": (
        {"name": "买一送一", "product": "NOPE", "min_quantity": "3", "gift_product": "ALSO-NOPE", "gift_quantity": "2",
         "per_order_cap": "4", "enabled": "on"},
        "No product has the SKU “NOPE”.",
        ['value="买一送一"', 'value="NOPE"', 'value="3"', 'value="ALSO-NOPE"', 'value="2"', 'value="4"'],
    ),
    "sourcing": (
        {"name": "x" * 121, "strategy": "cheapest", "enabled": "on"},
        "Ensure this value has at most 120 characters (it has 121).",
        ['value="' + "x" * 121 + '"', '<option value="cheapest" selected>'],
    ),
    "split": (
        {"name": "Keep whole", "policy": "everything", "enabled": "on"},
        "Select a valid choice. everything is not one of the available choices.",
        ['value="Keep whole"', "checked"],
    ),
    "merge": (
        {"name": "Same buyer", "window_hours": "0", "enabled": "on"},
        "Ensure this value is greater than or equal to 1.",
        ['value="Same buyer"', 'value="0"'],
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(FAILED_SUBMITS))
def test_a_failed_submit_shows_the_error_next_to_the_field_and_keeps_the_typed_values(console, in_a, kind):
    draft = RuleSetFactory(version=1)
    posted, error, kept = FAILED_SUBMITS[kind]

    response = console.post(f"/routing/versions/{draft.pk}/rules/add/{kind}/", posted)

    body = response.content.decode()
    assert response.status_code == 400
    assert f'<small class="error">{error}</small>' in body.replace("&#x27;", "'") or error in body
    for text in kept:
        assert text in body, text
    assert not Rule.objects.exists()


def test_a_failed_edit_keeps_the_typed_values_not_the_saved_ones(console, in_a):
    draft = RuleSetFactory(version=1)
    rule = RuleFactory(ruleset=draft, kind="merge", name="Old", params={"window_hours": 24})

    response = console.post(f"/routing/rules/{rule.pk}/", {"name": "New name", "window_hours": "9999", "enabled": "on"})

    body = response.content.decode()
    assert response.status_code == 400
    assert 'value="New name"' in body and 'value="9999"' in body
    rule.refresh_from_db()
    assert (rule.name, rule.params) == ("Old", {"window_hours": 24})


def test_a_second_enabled_sourcing_rule_is_refused_next_to_the_switch(console, in_a):
    draft = RuleSetFactory(version=1)
    RuleFactory(ruleset=draft, kind="sourcing", name="Cheap", params={"strategy": "cheapest"})

    refused = console.post(
        f"/routing/versions/{draft.pk}/rules/add/sourcing/", {"strategy": "region_first", "enabled": "on"}
    )
    saved = console.post(f"/routing/versions/{draft.pk}/rules/add/sourcing/", {"strategy": "region_first"})

    assert refused.status_code == 400
    assert "rule 1 (Cheap) already does" in refused.content.decode()
    assert '<option value="region_first" selected>' in refused.content.decode()
    assert saved.status_code == 302
    assert list(draft.rules.order_by("position").values_list("enabled", flat=True)) == [True, False]


def test_enabling_a_rule_that_would_never_apply_is_refused_with_the_reason(console, in_a):
    draft = RuleSetFactory(version=1)
    RuleFactory(ruleset=draft, kind="split", name="Split", params={"policy": "split"})
    second = RuleFactory(ruleset=draft, kind="split", name="Whole", enabled=False, params={"policy": "whole"})

    response = console.post(f"/routing/rules/{second.pk}/enable/", follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert any("Rule “Whole” never applies: Rule “Split” comes first" in m for m in messages)
    second.refresh_from_db()
    assert second.enabled is False


# ---------------------------------------------------------------------------
# Activation and languages


def test_activation_page_says_what_changes(console, versions):
    draft = versions["draft"]
    RuleFactory(ruleset=draft, kind="hold", params={"total_above": "2000", "currency": "JPY"})
    RuleFactory(ruleset=draft, kind="merge", params={"window_hours": 6})

    body = console.get(f"/routing/versions/{draft.pk}/activate/").content.decode()

    assert "Compared with the active version 5." in body
    assert "2 rules added or changed" in body
    assert "Hold for review when the total is above 2,000 JPY." in body  # no decimals for yen
    assert "1 rule removed or replaced" in body
    assert "Hold for review when the total is above 1,234.50 USD." in body
    assert "This draft has not been simulated" in body


def test_activation_page_of_an_unchanged_draft(console, versions):
    RuleFactory(
        ruleset=versions["draft"], kind="hold", name="hold 1", params={"total_above": "1234.5", "currency": "USD"}
    )

    body = console.get(f"/routing/versions/{versions['draft'].pk}/activate/").content.decode()

    assert "The draft has the same rules, in the same order, as the active version." in body


def test_rule_summaries_and_the_versions_list_read_in_chinese(console, versions):
    page = console.get("/routing/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "当订单金额超过 1,234.50 USD时，挂起审单。" in page
    assert "Hold for review" not in page
