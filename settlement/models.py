"""Settlement: a month (period) closes into one statement per supplier and currency, line by line.

A closed period never changes, and the database says so: triggers (migration 0002_closed_period_triggers) refuse an
UPDATE or DELETE of a closed period, of its adjustments and lines, and of the billed figures of its
statements (their state, confirmation and payment still move). What comes late lands in the next open
period as an adjustment or a line that points back (``origin``) to the original line.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Amounts are kept to 4 places so that any currency's minor unit (0 for JPY, 3 for KWD) fits; every
# amount written is already rounded half-up to its currency's minor unit (core.money).
AMOUNT = {"max_digits": 18, "decimal_places": 4}


class Period(models.Model):
    """A calendar month in the tenant's time zone: open → closing → closed (settlement.closing)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSING = "closing", _("Closing")
        CLOSED = "closed", _("Closed")

    month = models.DateField(_("month"), unique=True)  # the first day of the month
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    closing_started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_by_label = models.CharField(max_length=120, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "closing", "closed"]), name="period_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(month__day=1), name="period_month_first_day"),
            models.CheckConstraint(
                condition=~models.Q(status="closed") | models.Q(closed_at__isnull=False),
                name="period_closed_has_closed_at",
            ),
        ]

    def __str__(self) -> str:
        return self.month.strftime("%Y-%m")


class Statement(models.Model):
    """One supplier's bill for one period in one currency; its lines add up to ``total``.

    States: draft → issued → confirmed | disputed → paid; change ``status`` only through
    settlement.statement_states.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        CONFIRMED = "confirmed", _("Confirmed")
        DISPUTED = "disputed", _("Disputed")
        PAID = "paid", _("Paid")

    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="statements")
    supplier = models.ForeignKey("suppliers.Supplier", on_delete=models.PROTECT, related_name="statements")
    currency = models.CharField(_("currency"), max_length=3)
    number = models.CharField(_("statement number"), max_length=64, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    total = models.DecimalField(_("total"), default=0, **AMOUNT)
    issued_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=120, blank=True)
    payment_date = models.DateField(_("payment date"), null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period__month", "supplier__name", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["period", "supplier", "currency"], name="statement_once_per_supplier"),
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "issued", "confirmed", "disputed", "paid"]),
                name="statement_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="paid")
                | (~models.Q(payment_reference="") & models.Q(payment_date__isnull=False)),
                name="statement_paid_has_payment",
            ),
        ]
        indexes = [models.Index(fields=["supplier", "status"])]

    def __str__(self) -> str:
        return self.number


class StatementLine(models.Model):
    """One amount of a statement: a dispatch line shipped at cost, a return charged back, an adjustment
    or a penalty. ``origin`` is the line of an earlier (closed) period this one corrects."""

    class Kind(models.TextChoices):
        SHIPPED = "shipped", _("Shipped")
        RETURN = "return", _("Return")
        ADJUSTMENT = "adjustment", _("Adjustment")
        PENALTY = "penalty", _("Penalty")

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    dispatch_line = models.ForeignKey(
        "suppliers.DispatchLine", null=True, blank=True, on_delete=models.PROTECT, related_name="statement_lines"
    )
    # The unique indexes below serve these lookups: no second index of their own (a close writes a million lines).
    return_record = models.ForeignKey(
        "orders.ReturnRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_lines",
        db_index=False,
    )
    adjustment = models.ForeignKey(
        "settlement.Adjustment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_lines",
        db_index=False,
    )
    # A late-shipment penalty's dispatch (supplier terms: late_ship_penalty), billed once.
    dispatch = models.ForeignKey(
        "suppliers.Dispatch",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_lines",
        db_index=False,
    )
    quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True)  # none for an adjustment
    unit_cost = models.DecimalField(_("unit cost"), max_digits=14, decimal_places=4, null=True, blank=True)
    amount = models.DecimalField(_("amount"), **AMOUNT)
    description = models.CharField(_("description"), max_length=300, blank=True)
    origin = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections", db_index=False
    )

    class Meta:
        ordering = ["statement", "id"]
        indexes = [
            models.Index(fields=["origin"], condition=models.Q(origin__isnull=False), name="statement_line_origin"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["shipped", "return", "adjustment", "penalty"]),
                name="statement_line_kind_valid",
            ),
            # A shipped dispatch line is billed in exactly one statement; a return and an adjustment once.
            models.UniqueConstraint(
                fields=["dispatch_line"], condition=models.Q(kind="shipped"), name="statement_line_shipped_once"
            ),
            models.UniqueConstraint(
                fields=["return_record"],
                condition=models.Q(return_record__isnull=False),
                name="statement_line_return_once",
            ),
            models.UniqueConstraint(
                fields=["adjustment"],
                condition=models.Q(adjustment__isnull=False),
                name="statement_line_adjustment_once",
            ),
            models.UniqueConstraint(
                fields=["dispatch"],
                condition=models.Q(kind="penalty", dispatch__isnull=False),
                name="statement_line_penalty_once",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="shipped")
                | models.Q(dispatch_line__isnull=False, quantity__gt=0, amount__gte=0),
                name="statement_line_shipped_shape",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="return") | models.Q(return_record__isnull=False, amount__lte=0),
                name="statement_line_return_shape",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id} {self.kind} {self.amount}"


class Adjustment(models.Model):
    """An amount added to (or taken off) one supplier's statement of a period, with the reason and who
    approved it. Only approved adjustments become lines when the period closes. ``origin`` is the line of a
    closed period it corrects; ``dispute`` the dispute it resolves."""

    class Kind(models.TextChoices):
        ADJUSTMENT = "adjustment", _("Adjustment")
        PENALTY = "penalty", _("Penalty")

    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="adjustments")
    supplier = models.ForeignKey("suppliers.Supplier", on_delete=models.PROTECT, related_name="adjustments")
    currency = models.CharField(_("currency"), max_length=3)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.ADJUSTMENT)
    amount = models.DecimalField(_("amount"), **AMOUNT)
    reason = models.CharField(_("reason"), max_length=300)
    origin = models.ForeignKey(
        StatementLine, null=True, blank=True, on_delete=models.PROTECT, related_name="late_adjustments"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["adjustment", "penalty"]), name="adjustment_kind_valid"
            ),
            models.CheckConstraint(condition=~models.Q(amount=0), name="adjustment_amount_not_zero"),
            models.CheckConstraint(condition=~models.Q(reason=""), name="adjustment_has_reason"),
            # A penalty is taken off what the merchant owes the supplier.
            models.CheckConstraint(
                condition=~models.Q(kind="penalty") | models.Q(amount__lt=0), name="penalty_negative"
            ),
        ]
        indexes = [models.Index(fields=["period", "supplier", "currency"])]

    def __str__(self) -> str:
        return f"{self.period} {self.supplier_id} {self.amount} {self.currency}"

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None


class StatementEvent(models.Model):
    """One change of a statement's state (or a note on it, from = to): who, when, from, to, why.

    Written only by settlement.statement_states.
    """

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=16)
    to_state = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=120)  # "finance", "supplier", a user's e-mail
    reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["statement", "at"])]

    def __str__(self) -> str:
        return f"{self.statement_id}: {self.from_state} → {self.to_state}"


class StatementDispute(models.Model):
    """A supplier's objection to one line, with a comment; finance resolves it by an adjustment (in the next
    open period) or rejects it. Kept after resolution: the history of the statement."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ADJUSTED = "adjusted", _("Resolved by an adjustment")
        REJECTED = "rejected", _("Rejected")

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="disputes")
    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="disputes")
    comment = models.CharField(_("comment"), max_length=1000)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    resolution = models.CharField(_("resolution"), max_length=1000, blank=True)
    adjustment = models.ForeignKey(Adjustment, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["raised_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "adjusted", "rejected"]), name="dispute_status_valid"
            ),
            models.UniqueConstraint(
                fields=["line"], condition=models.Q(status="open"), name="dispute_one_open_per_line"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="adjusted") | models.Q(adjustment__isnull=False),
                name="dispute_adjusted_has_adjustment",
            ),
        ]

    def __str__(self) -> str:
        return f"dispute {self.pk} on line {self.line_id}"


# ---------------------------------------------------------------- receivables and payouts (对账, 核销)


class PayoutSource(models.TextChoices):
    SHOPIFY_API = "shopify_api", _("Shopify Payments (API)")
    SHOPIFY_CSV = "shopify_csv", _("Shopify Payments transactions (CSV export)")
    ALIPAY = "alipay", _("Alipay account statement (支付宝账务明细)")
    WECHAT = "wechat", _("WeChat Pay bill (微信支付账单)")
    GENERIC = "generic", _("Other CSV or XLSX (with a column mapping)")


class PayoutImport(models.Model):
    """One file, or one Shopify payout fetched through the API, imported for a store. ``digest`` (the file's
    SHA-256, or "shopify:<payout id>") makes a second import of the same thing change nothing."""

    Source = PayoutSource

    store = models.ForeignKey("channels.Store", on_delete=models.PROTECT, related_name="payout_imports")
    source = models.CharField(_("source"), max_length=16, choices=PayoutSource.choices)
    name = models.CharField(_("name"), max_length=200)
    digest = models.CharField(max_length=80)
    items_count = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # rows an earlier import already brought in
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_by_label = models.CharField(max_length=120, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "digest"], name="payout_import_once"),
            models.CheckConstraint(condition=models.Q(source__in=PayoutSource.values), name="payout_source_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class PayoutImportJobStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Importing")
    SUCCEEDED = "succeeded", _("Imported")
    REJECTED = "rejected", _("Rejected: nothing imported")
    FAILED = "failed", _("Failed: nothing imported")


class PayoutImportJob(models.Model):
    """A payout file too large to import while the person waits, imported by a worker: all or nothing.

    Written only by settlement.payouts. The file waits under the tenant's media folder (``file_path``, relative
    to MEDIA_ROOT) and is removed once the import has finished. ``mapping`` is the generic file's column mapping
    as it was when the file was sent; ``report`` what the import did, or every error by row, once finished;
    ``payout_import`` the import it made (or the earlier import of the same file).
    """

    Status = PayoutImportJobStatus

    store = models.ForeignKey("channels.Store", on_delete=models.CASCADE, related_name="payout_import_jobs")
    source = models.CharField(_("source"), max_length=16, choices=PayoutSource.choices)
    filename = models.CharField(_("file"), max_length=255)
    file_path = models.CharField(max_length=500, blank=True)
    mapping = models.JSONField(null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=PayoutImportJobStatus.choices, default=PayoutImportJobStatus.PENDING
    )
    rows_total = models.PositiveIntegerField(default=0)  # a rough count until the file is read
    language = models.CharField(max_length=16, blank=True)  # the report is written in the uploader's language
    report = models.JSONField(default=dict, blank=True)
    payout_import = models.ForeignKey(
        PayoutImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=PayoutImportJobStatus.values), name="payoutimportjob_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class PayoutItem(models.Model):
    """One money movement a channel or payment provider reports: a charge (+), a refund or chargeback (−), a
    fee, an adjustment, or the transfer to the bank. ``amount`` is gross and signed; ``fee`` is what the
    provider kept (positive); ``net`` = amount − fee. ``order`` is the order it was matched to, if any."""

    class Kind(models.TextChoices):
        CHARGE = "charge", _("Charge")
        REFUND = "refund", _("Refund")
        CHARGEBACK = "chargeback", _("Chargeback")
        FEE = "fee", _("Fee")
        ADJUSTMENT = "adjustment", _("Adjustment")
        TRANSFER = "transfer", _("Payout to bank")
        OTHER = "other", _("Other")

    payout_import = models.ForeignKey(PayoutImport, on_delete=models.CASCADE, related_name="items")
    store = models.ForeignKey("channels.Store", on_delete=models.PROTECT, related_name="payout_items")
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    reference = models.CharField(_("transaction reference"), max_length=120, blank=True)
    order_number = models.CharField(_("order number"), max_length=64, blank=True)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="payout_items"
    )
    occurred_at = models.DateTimeField(_("date"))
    currency = models.CharField(_("currency"), max_length=3)
    amount = models.DecimalField(_("amount"), **AMOUNT)
    fee = models.DecimalField(_("fee"), default=0, **AMOUNT)
    net = models.DecimalField(_("net"), **AMOUNT)
    payout_reference = models.CharField(_("payout"), max_length=120, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    row = models.PositiveIntegerField(null=True, blank=True)  # the row in the imported file

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    kind__in=["charge", "refund", "chargeback", "fee", "adjustment", "transfer", "other"]
                ),
                name="payout_item_kind_valid",
            ),
            # The same transaction reported by two files (overlapping date ranges) is kept once.
            models.UniqueConstraint(
                fields=["store", "reference"], condition=~models.Q(reference=""), name="payout_item_reference_once"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "order_number"]),
            models.Index(fields=["order"]),
            models.Index(fields=["store", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class PayoutSettings(models.Model):
    """Per store: the write-off tolerance and the saved column mapping of its generic payout files."""

    store = models.OneToOneField("channels.Store", on_delete=models.CASCADE, related_name="payout_settings")
    tolerance = models.DecimalField(_("write-off tolerance"), max_digits=14, decimal_places=4, default=0)
    # {"occurred_at": "<header>", "order_number": ..., "reference": ..., "kind": ..., "amount": ..., "fee": ...,
    #  "currency": ...}; blank entries are not in the file.
    column_mapping = models.JSONField(default=dict, blank=True)
    default_currency = models.CharField(max_length=3, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(tolerance__gte=0), name="payout_tolerance_not_negative")
        ]

    def __str__(self) -> str:
        return f"payout settings of store {self.store_id}"


class WriteOff(models.Model):
    """核销: an order's receivable closed against what was paid for it; ``difference`` = received − expected,
    within the store's tolerance when it was written off."""

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="write_off")
    store = models.ForeignKey("channels.Store", on_delete=models.PROTECT, related_name="write_offs")
    currency = models.CharField(max_length=3)
    expected = models.DecimalField(**AMOUNT)
    received = models.DecimalField(**AMOUNT)
    fees = models.DecimalField(default=0, **AMOUNT)
    difference = models.DecimalField(**AMOUNT)
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by_label = models.CharField(max_length=120)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["store", "at"])]

    def __str__(self) -> str:
        return f"write-off of order {self.order_id}"


# ---------------------------------------------------------------- exports


class ExportFile(models.Model):
    """A file made for download (statement, reconciliation, margins) by a task with progress. Kept under
    MEDIA_ROOT/exports/<schema>/; ``supplier`` set means only that supplier's users (and finance) may fetch it."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=32)  # statement, reconciliation, margins
    file_format = models.CharField(max_length=8)  # csv, xlsx, pdf
    params = models.JSONField(default=dict, blank=True)
    statement = models.ForeignKey(Statement, null=True, blank=True, on_delete=models.CASCADE, related_name="exports")
    supplier = models.ForeignKey(
        "suppliers.Supplier", null=True, blank=True, on_delete=models.CASCADE, related_name="exports"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    done_rows = models.PositiveIntegerField(default=0)
    total_rows = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)  # what the browser saves it as
    path = models.CharField(max_length=300, blank=True)  # relative to MEDIA_ROOT
    size = models.PositiveBigIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["requested_by", "created"]), models.Index(fields=["supplier", "created"])]

    def __str__(self) -> str:
        return self.file_name or f"export {self.pk}"
