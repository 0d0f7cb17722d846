"""Forms of the routing pages: one per rule kind, turning fields into the params that
orders.routing.core.rules validates (the service validates again before saving)."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.models import Product
from orders.models import Rule, RuleSet
from orders.routing.core.rules import STRATEGIES
from orders.routing.explain import SPLIT_POLICY_LABELS, STRATEGY_LABELS
from orders.routing.simulation import CHANGE_HELD, CHANGE_MOVED, CHANGE_RELEASED


def _split_words(text: str) -> list[str]:
    """Words or phrases, one per line or separated by commas (also the Chinese comma)."""
    parts = text.replace("，", ",").replace("\n", ",").split(",")
    return [p.strip() for p in parts if p.strip()]


# Kinds of which only the first enabled rule applies (orders.routing.core.rules.validate_ruleset).
ONE_APPLIES = ("sourcing", "split", "merge")


class RuleForm(forms.Form):
    kind = ""
    name = forms.CharField(label=_("Name"), max_length=120, required=False, help_text=_("Shown in explanations."))
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args, siblings: list[Rule] | None = None, rule: Rule | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The other rules of the draft and the rule being edited (None: a new rule), for checks across rules.
        self.siblings = [r for r in siblings or () if rule is None or r.pk != rule.pk]
        self.rule = rule
        # Name and switch last: the conditions are what the reader came for.
        self.order_fields([f for f in self.fields if f not in ("name", "enabled")] + ["name", "enabled"])

    def clean_enabled(self):
        enabled = self.cleaned_data.get("enabled")
        # Switching on a second rule of a kind where only one applies would leave one of them doing nothing;
        # the service refuses it too, this says so next to the switch, in the reader's language.
        if not enabled or self.kind not in ONE_APPLIES or (self.rule is not None and self.rule.enabled):
            return enabled
        other = next((r for r in self.siblings if r.kind == self.kind and r.enabled), None)
        if other is not None:
            raise forms.ValidationError(
                _(
                    "Only one enabled rule of this kind applies, and rule %(position)s (%(name)s) already does. "
                    "Disable that one first, or save this one disabled."
                ),
                params={"position": other.position, "name": other.name or other.get_kind_display()},
            )
        return enabled

    def params(self) -> dict:
        raise NotImplementedError

    @classmethod
    def initial_for(cls, params: dict) -> dict:
        return dict(params)


class HoldRuleForm(RuleForm):
    kind = "hold"
    total_above = forms.DecimalField(
        label=_("Order total above"), required=False, min_value=0, max_digits=14, decimal_places=3
    )
    currency = forms.CharField(
        label=_("in currency"), required=False, max_length=3, help_text=_("Empty: any currency, e.g. USD or CNY.")
    )
    address_incomplete = forms.BooleanField(label=_("Address is incomplete"), required=False)
    note_contains = forms.CharField(
        label=_("Buyer note contains"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Words or phrases, separated by commas or new lines."),
    )  # fmt: skip
    channels = forms.MultipleChoiceField(
        label=_("Came from channel"), required=False, widget=forms.CheckboxSelectMultiple
    )
    store_ids = forms.TypedMultipleChoiceField(
        label=_("Came from store"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    unmapped_sku = forms.BooleanField(label=_("A listing SKU is not mapped to a product"), required=False)
    tags = forms.CharField(label=_("Order is tagged"), required=False, help_text=_("Tags separated by commas."))

    def __init__(self, *args, stores=(), channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channels"].choices = list(channels)
        self.fields["store_ids"].choices = list(stores)

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean(self):
        data = super().clean()
        if data.get("currency") and data.get("total_above") is None:
            self.add_error("currency", _("A currency only makes sense together with a total limit."))
        if data.get("currency") and not (len(data["currency"]) == 3 and data["currency"].isalpha()):
            self.add_error("currency", _("Use a three-letter currency code, such as USD."))
        conditions = (
            data.get("total_above") is not None, data.get("address_incomplete"), _split_words(data.get("note_contains") or ""),
            data.get("channels"), data.get("store_ids"), data.get("unmapped_sku"), _split_words(data.get("tags") or ""),
        )  # fmt: skip
        if not any(conditions):
            raise forms.ValidationError(_("Choose at least one condition that holds an order."))
        return data

    def params(self) -> dict:
        data, params = self.cleaned_data, {}
        if data.get("total_above") is not None:
            params["total_above"] = str(data["total_above"])
            if data.get("currency"):
                params["currency"] = data["currency"]
        if data.get("address_incomplete"):
            params["address_incomplete"] = True
        if words := _split_words(data.get("note_contains") or ""):
            params["note_contains"] = words
        if data.get("channels"):
            params["channels"] = list(data["channels"])
        if data.get("store_ids"):
            params["store_ids"] = list(data["store_ids"])
        if data.get("unmapped_sku"):
            params["unmapped_sku"] = True
        if tags := _split_words(data.get("tags") or ""):
            params["tags"] = tags
        return params

    @classmethod
    def initial_for(cls, params: dict) -> dict:
        initial = dict(params)
        for name in ("note_contains", "tags"):
            if name in params:
                initial[name] = ", ".join(params[name])
        return initial


class GiftRuleForm(RuleForm):
    kind = "gift"
    product = forms.CharField(label=_("When the buyer buys product (SKU)"), max_length=120)
    min_quantity = forms.IntegerField(label=_("at least this many"), min_value=1, initial=1)
    gift_product = forms.CharField(label=_("add the gift product (SKU)"), max_length=120)
    gift_quantity = forms.IntegerField(label=_("this many per qualifying quantity"), min_value=1, initial=1)
    per_order_cap = forms.IntegerField(label=_("at most per order"), min_value=1, required=False)
    starts = forms.DateTimeField(
        label=_("From"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends = forms.DateTimeField(
        label=_("Until"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Judged by when the buyer ordered. Empty: no limit."),
    )  # fmt: skip

    def _product_id(self, field: str) -> int | None:
        sku = (self.cleaned_data.get(field) or "").strip()
        product_id = Product.objects.filter(sku=sku).values_list("pk", flat=True).first()
        if product_id is None:
            self.add_error(field, _("No product has the SKU “%(sku)s”.") % {"sku": sku})
        return product_id

    def clean(self):
        data = super().clean()
        if data.get("product"):
            data["product_id"] = self._product_id("product")
        if data.get("gift_product"):
            data["gift_product_id"] = self._product_id("gift_product")
        if data.get("starts") and data.get("ends") and data["starts"] >= data["ends"]:
            self.add_error("ends", _("The gift window must start before it ends."))
        return data

    def params(self) -> dict:
        data = self.cleaned_data
        params = {
            "product_id": data["product_id"],
            "min_quantity": data["min_quantity"],
            "gift_product_id": data["gift_product_id"],
            "gift_quantity": data["gift_quantity"],
        }
        if data.get("per_order_cap"):
            params["per_order_cap"] = data["per_order_cap"]
        for name in ("starts", "ends"):
            if data.get(name):
                params[name] = data[name].isoformat()
        return params

    @classmethod
    def initial_for(cls, params: dict) -> dict:

        skus = dict(
            Product.objects.filter(pk__in=[params.get("product_id"), params.get("gift_product_id")]).values_list(
                "pk", "sku"
            )
        )
        initial = dict(params)
        initial["product"] = skus.get(params.get("product_id"), "")
        initial["gift_product"] = skus.get(params.get("gift_product_id"), "")
        for name in ("starts", "ends"):
            if params.get(name):
                initial[name] = dt.datetime.fromisoformat(params[name])
        return initial


class SourcingRuleForm(RuleForm):
    kind = "sourcing"
    strategy = forms.ChoiceField(label=_("Choose sources by"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["strategy"].choices = [(name, STRATEGY_LABELS.get(name, name)) for name in STRATEGIES]

    def params(self) -> dict:
        return {"strategy": self.cleaned_data["strategy"]}


class SplitRuleForm(RuleForm):
    kind = "split"
    policy = forms.ChoiceField(label=_("When lines come from several suppliers"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].choices = list(SPLIT_POLICY_LABELS.items())

    def params(self) -> dict:
        return {"policy": self.cleaned_data["policy"]}


class MergeRuleForm(RuleForm):
    kind = "merge"
    window_hours = forms.IntegerField(
        label=_("Merge window (hours)"), min_value=1, max_value=24 * 30, initial=24,
        help_text=_("Orders of one buyer and address in one store within this many hours share a dispatch."),
    )  # fmt: skip

    def params(self) -> dict:
        return {"window_hours": self.cleaned_data["window_hours"]}


RULE_FORMS: dict[str, type[RuleForm]] = {
    form.kind: form for form in (HoldRuleForm, GiftRuleForm, SourcingRuleForm, SplitRuleForm, MergeRuleForm)
}


def rule_form(kind: str, data=None, *, rule=None, siblings=(), stores=(), channels=()) -> RuleForm:
    """The form of a rule kind, bound to ``data`` and/or filled from an existing rule; ``siblings`` are the
    draft's rules (for the checks across rules)."""
    form_class = RULE_FORMS[kind]
    initial = {"enabled": True}
    if rule is not None:
        initial = {**form_class.initial_for(rule.params), "name": rule.name, "enabled": rule.enabled}
    kwargs = {"stores": stores, "channels": channels} if form_class is HoldRuleForm else {}
    return form_class(data, initial=initial, rule=rule, siblings=list(siblings), **kwargs)


class SimulateForm(forms.Form):
    days = forms.IntegerField(label=_("Last days"), min_value=1, max_value=366, initial=30)


class ActivateForm(forms.Form):
    note = forms.CharField(
        label=_("What changed"), max_length=300, required=False, help_text=_("Kept with the version's history.")
    )


class VersionFilterForm(forms.Form):
    """The rule set versions list: by state and by a word of the note or the author's e-mail."""

    status = forms.ChoiceField(label=_("State"), required=False)
    q = forms.CharField(
        label=_("Search"), required=False, max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Note or author")}),
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All states")), *RuleSet.Status.choices]
        self.fields["status"].widget.attrs["id"] = "versions-status"
        self.fields["q"].widget.attrs["id"] = "versions-q"


class DiffFilterForm(forms.Form):
    """The differences a simulation found: by what changes, supplier, store and order number."""

    change = forms.ChoiceField(label=_("What changes"), required=False)
    supplier = forms.ChoiceField(label=_("Supplier (from or to)"), required=False)
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    q = forms.CharField(
        label=_("Order number"), required=False, max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Part of the order number")}),
    )  # fmt: skip

    def __init__(self, *args, suppliers=(), stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["change"].choices = [
            ("", _("Any change")),
            (CHANGE_HELD, _("Newly held")),
            (CHANGE_RELEASED, _("No longer held")),
            (CHANGE_MOVED, _("Lines move to another source")),
        ]
        self.fields["supplier"].choices = [("", _("All suppliers")), *suppliers]
        self.fields["store"].choices = [("", _("All stores")), *stores]
