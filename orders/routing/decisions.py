"""Decisions as stored: a routing result's lines and reasons as the JSON RoutingDecision keeps.

Money goes as text, reasons as codes with their parameters; orders.routing.explain
turns them back into plain words.
"""

from __future__ import annotations

from collections.abc import Iterable

from orders.routing.core.types import LineDecision, Reason, RoutingResult, SourceVerdict


def reason_json(reason: Reason) -> dict:
    return {"code": reason.code, "params": dict(reason.params)}


def reasons_json(reasons: Iterable[Reason]) -> list[dict]:
    return [{"code": r.code, "params": dict(r.params)} for r in reasons]


class JsonMemo:
    """The JSON forms of reasons and verdicts already converted, by identity.

    The engine shares one immutable Reason or SourceVerdict between every line
    it applies to, so a batch converts each once. Holds the objects it saw, so
    their ids stay theirs while the memo lives; the dicts it returns are shared
    too and must not be changed.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[int, tuple[object, object]] = {}

    def reason(self, reason: Reason) -> dict:
        hit = self._seen.get(id(reason))
        if hit is None:
            hit = self._seen[id(reason)] = (reason, {"code": reason.code, "params": dict(reason.params)})
        return hit[1]

    def verdict(self, verdict: SourceVerdict) -> dict:
        hit = self._seen.get(id(verdict))
        if hit is None:
            as_json = {
                "source_id": verdict.source_id,
                "supplier_id": verdict.supplier_id,
                "chosen": verdict.chosen,
                "reasons": [self.reason(r) for r in verdict.reasons],
            }
            hit = self._seen[id(verdict)] = (verdict, as_json)
        return hit[1]


def line_decision_json(
    decision: LineDecision, *, line_id: int | None, is_gift: bool, listing_sku: str, memo: JsonMemo | None = None
) -> dict:
    """One LineDecision as RoutingDecision.lines stores it (money as text, reasons as codes with params).

    Pass a batch's ``memo`` to convert the reasons and verdicts lines share only once.
    """
    if memo is None:
        memo = JsonMemo()
    reason = memo.reason
    return {
        "line_id": line_id,
        "listing_sku": listing_sku,
        "product_id": decision.product_id,
        "quantity": decision.quantity,
        "is_gift": is_gift,
        "source_id": decision.source_id,
        "supplier_id": decision.supplier_id,
        "unit_cost": None if decision.unit_cost is None else str(decision.unit_cost),
        "cost_currency": decision.cost_currency,
        "reasons": [reason(r) for r in decision.reasons],
        "considered": [memo.verdict(v) for v in decision.considered],
    }


def decision_lines_json(result: RoutingResult, *, listing_skus: dict[int, str] | None = None) -> list[dict]:
    """The lines of an engine result as RoutingDecision.lines stores them."""
    skus = listing_skus or {}
    memo = JsonMemo()
    return [
        line_decision_json(d, line_id=d.line_id, is_gift=d.is_gift, listing_sku=skus.get(d.line_id, ""), memo=memo)
        for d in result.lines
    ]
