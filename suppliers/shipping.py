"""Shipping a dispatch: its parcels, each with a carrier and tracking number and the lines it holds.

``parcels_problems`` checks a shipment without writing anything (the tracking
upload checks a whole file with it before applying any row); ``dispatch_ship``
checks again under the dispatch's lock and writes. After the commit the order
lifecycle consumes the stock and moves the orders to shipped or partly
shipped, and then the channels push each parcel's tracking back (the task
DISPATCH_CHANGED, safe to run twice).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.tasks import enqueue_named
from suppliers.carriers import carrier_lookup, normalise_number, tracking_problem, tracking_url
from suppliers.dispatch_states import dispatch_transition
from suppliers.dispatches import DISPATCH_CHANGED
from suppliers.models import Dispatch, DispatchLine, Parcel, ParcelLine, Supplier

D = Dispatch.Status


class ParcelSpec(NamedTuple):
    """One parcel to ship: carrier (code, name or alias), tracking number, and units per dispatch line id.

    ``lines`` None: every unit no other parcel of the shipment names.
    """

    carrier: str
    tracking_number: str
    lines: Mapping[int, int] | None = None


class LineUnits(Protocol):
    """A dispatch line as far as shipping reads it (a DispatchLine, or a lighter row)."""

    pk: int
    quantity: int


class Problem(NamedTuple):
    """Why a shipment cannot be written: which parcel (0-based, None for the whole), which field, and why."""

    parcel: int | None
    field: str
    message: str


def parcels_problems(
    *, dispatch: Dispatch, parcels: Sequence[ParcelSpec], lines: Sequence[DispatchLine] | None = None,
    used_numbers: set[str] | None = None,
) -> list[Problem]:  # fmt: skip
    """Everything wrong with shipping ``dispatch`` in ``parcels``; [] when it can ship. Writes nothing.

    Checks: the dispatch is pending or accepted; at least one parcel; each
    carrier is known and each number valid for it; no number twice in the
    shipment nor already used on any dispatch (``used_numbers`` may pass the
    numbers already known to be taken, to check many dispatches in one query);
    the lines named are the dispatch's; together the parcels hold every unit
    of every line, no more; at most one parcel leaves its lines unnamed.
    """
    problems: list[Problem] = []
    if dispatch.status not in (D.PENDING, D.ACCEPTED):
        problems.append(
            Problem(None, "dispatch", _("Dispatch %(number)s is %(status)s and cannot ship.")
                    % {"number": dispatch.number, "status": dispatch.get_status_display()})
        )  # fmt: skip
        return problems
    if not parcels:
        return [Problem(None, "tracking_number", _("Give at least one carrier and tracking number."))]
    if lines is None:
        lines = list(DispatchLine.objects.filter(dispatch_id=dispatch.pk).order_by("pk"))
    numbers = [normalise_number(p.tracking_number) for p in parcels]
    if used_numbers is None:
        used_numbers = set(Parcel.objects.filter(tracking_number__in=numbers).values_list("tracking_number", flat=True))
    seen: set[str] = set()
    for index, (parcel, number) in enumerate(zip(parcels, numbers, strict=True)):
        carrier = carrier_lookup(parcel.carrier)
        if carrier is None:
            problems.append(
                Problem(index, "carrier", _("Unknown carrier “%(carrier)s”.") % {"carrier": parcel.carrier})
            )
        elif not number:
            problems.append(Problem(index, "tracking_number", _("The tracking number is missing.")))
        elif problem := tracking_problem(carrier.code, number):
            problems.append(Problem(index, "tracking_number", problem))
        if number and number in seen:
            problems.append(
                Problem(index, "tracking_number", _("Tracking number %(number)s is given twice.") % {"number": number})
            )
        elif number and number in used_numbers:
            problems.append(
                Problem(index, "tracking_number", _("Tracking number %(number)s is already used on another parcel.")
                        % {"number": number})
            )  # fmt: skip
        seen.add(number)
    problems.extend(_line_problems(lines, parcels))
    return problems


def _line_problems(lines: Sequence[DispatchLine], parcels: Sequence[ParcelSpec]) -> list[Problem]:
    quantity = {line.pk: line.quantity for line in lines}
    named: dict[int, int] = defaultdict(int)
    open_parcels = [index for index, parcel in enumerate(parcels) if parcel.lines is None]
    problems: list[Problem] = []
    if len(open_parcels) > 1:
        problems.append(
            Problem(open_parcels[1], "lines", _("Name the lines of each parcel when a dispatch ships in several."))
        )
    for index, parcel in enumerate(parcels):
        if parcel.lines is not None and not parcel.lines:
            problems.append(Problem(index, "lines", _("This parcel names no line: say which units it holds.")))
        for line_id, units in (parcel.lines or {}).items():
            if line_id not in quantity:
                problems.append(
                    Problem(index, "lines", _("Line %(line)s is not on this dispatch.") % {"line": line_id})
                )
            elif not isinstance(units, int) or units < 1:
                problems.append(Problem(index, "lines", _("A parcel holds at least one unit of a line it names.")))
            else:
                named[line_id] += units
    for line_id, units in named.items():
        if units > quantity[line_id]:
            problems.append(
                Problem(None, "lines", _("The parcels hold %(units)s of line %(line)s, which has %(quantity)s.")
                        % {"units": units, "line": line_id, "quantity": quantity[line_id]})
            )  # fmt: skip
    left = {line_id: quantity[line_id] - named.get(line_id, 0) for line_id in quantity}
    if open_parcels:
        if not any(units > 0 for units in left.values()):
            problems.append(
                Problem(open_parcels[0], "lines", _("This parcel would hold nothing: the others hold every unit."))
            )
    elif any(units > 0 for units in left.values()):
        missing = ", ".join(f"{line_id} ({units})" for line_id, units in left.items() if units > 0)
        problems.append(
            Problem(None, "lines", _("No parcel holds these lines (units left): %(lines)s.") % {"lines": missing})
        )
    return problems


def parcel_row(*, dispatch_id: int, spec: ParcelSpec, now, created_by) -> Parcel:
    """The parcel to write for a checked spec: the carrier's code, the number normalised, its tracking link."""
    carrier = carrier_lookup(spec.carrier)
    if carrier is None:  # parcels_problems refuses it before anything is written
        raise ValidationError(_("Unknown carrier “%(carrier)s”.") % {"carrier": spec.carrier})
    number = normalise_number(spec.tracking_number)
    return Parcel(
        dispatch_id=dispatch_id,
        carrier=carrier.code,
        tracking_number=number,
        tracking_url=tracking_url(carrier.code, number),
        shipped_at=now,
        created_by=created_by,
    )


def parcel_units(specs: Sequence[ParcelSpec], lines: Sequence[LineUnits]) -> list[tuple[int, int, int]]:
    """(parcel index, dispatch line id, units) of a checked shipment: the units each parcel names, and for
    the one parcel that names none, every unit the others leave."""
    named: dict[int, int] = defaultdict(int)
    units: list[tuple[int, int, int]] = []
    open_index = None
    for index, spec in enumerate(specs):
        if spec.lines is None:
            open_index = index
            continue
        for line_id, count in spec.lines.items():
            named[line_id] += count
            units.append((index, line_id, count))
    if open_index is not None:
        units.extend(
            (open_index, line.pk, line.quantity - named[line.pk]) for line in lines if line.quantity > named[line.pk]
        )
    return units


def _as_error(problems: Sequence[Problem]) -> ValidationError:
    by_field: dict[str, list[str]] = defaultdict(list)
    for problem in problems:
        prefix = _("Parcel %(n)s: ") % {"n": problem.parcel + 1} if problem.parcel is not None else ""
        by_field[problem.field].append(prefix + problem.message)
    return ValidationError(dict(by_field))


@transaction.atomic
def dispatch_ship(
    *, dispatch: Dispatch, parcels: Sequence[ParcelSpec], actor=None, supplier: Supplier | None = None
) -> Dispatch:
    """The supplier shipped the dispatch in these parcels; it becomes shipped.

    Locks the dispatch, checks everything ``parcels_problems`` checks, and
    raises ValidationError (by field, nothing written) on any problem, or
    IllegalTransition when the dispatch is no longer open. After the commit
    the order lifecycle consumes the stock, marks the orders shipped or partly
    shipped and has each parcel's tracking pushed to the channel.
    """
    locked = Dispatch.objects.select_for_update().get(pk=dispatch.pk)
    if supplier is not None and locked.supplier_id != supplier.pk:
        raise ValidationError(_("Dispatch %(number)s is not yours.") % {"number": locked.number})
    lines = list(DispatchLine.objects.filter(dispatch_id=locked.pk).order_by("pk"))
    problems = [p for p in parcels_problems(dispatch=locked, parcels=parcels, lines=lines) if p.field != "dispatch"]
    if problems:
        raise _as_error(problems)
    now = timezone.now()
    created_by = actor if getattr(actor, "pk", None) else None
    parcel_rows = [parcel_row(dispatch_id=locked.pk, spec=spec, now=now, created_by=created_by) for spec in parcels]
    summary = ", ".join(f"{p.carrier} {p.tracking_number}" for p in parcel_rows)
    shipped = dispatch_transition(
        dispatch=locked,
        to=D.SHIPPED,
        actor=actor,
        actor_label="supplier",
        reason=ngettext(
            "Shipped in %(count)s parcel: %(parcels)s.", "Shipped in %(count)s parcels: %(parcels)s.", len(parcel_rows)
        )
        % {"count": len(parcel_rows), "parcels": summary},
    )
    Parcel.objects.bulk_create(parcel_rows)
    ParcelLine.objects.bulk_create(
        ParcelLine(parcel=parcel_rows[index], dispatch_line_id=line_id, quantity=units)
        for index, line_id, units in parcel_units(parcels, lines)
    )
    dispatch.status, dispatch.shipped_at = shipped.status, shipped.shipped_at
    enqueue_named(DISPATCH_CHANGED, shipped.pk, actor_id=getattr(actor, "pk", None))
    return shipped
