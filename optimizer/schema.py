"""The input workbook, declared once (README: input workbook).

Every sheet and column of the input workbook is declared here, as data. The reader, the
validator, the template writer and the README's workbook reference all read these
declarations, so a column can never be known to one and unknown to another.

Column kinds:

- ``id``      text identifier; a number such as 2026 is read as the text "2026"
- ``text``    free text
- ``number``  a real number; "1,200" and " 3000 " are accepted
- ``bool``    true/false/yes/no/1/0 in any case
- ``choice``  one of ``choices`` (case-insensitive, stored lowercase)
- ``path``    a change path (README: change paths), kept as text and parsed by :mod:`optimizer.changes`
- ``value``   a scenario value: a number when it reads as one, else text
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MRECL = "MRECL"
"""Reserved product id: mixed rare-earth chloride, in t REO. Never listed in `products`."""


@dataclass(frozen=True)
class Column:
    """One column of an input sheet."""

    name: str
    kind: str
    required: bool = False
    default: Any = None
    lower: float | None = None
    lower_open: bool = False
    upper: float | None = None
    upper_open: bool = False
    choices: tuple[str, ...] = ()
    ref: str | None = None
    """Which ids the value must be one of: ``periods``, ``mines``, ``cracking``,
    ``separation``, ``products``, ``products+MRECL``, ``customers``, ``entities``,
    ``obligations``."""
    blank_means: str = ""
    unit: str = ""
    doc: str = ""

    def expectation(self) -> str:
        """Plain words for what a cell of this column must hold."""
        if self.kind == "choice":
            return "one of " + " | ".join(self.choices)
        if self.kind == "bool":
            return "true or false (also yes/no, 1/0)"
        if self.kind in ("id", "text", "path"):
            return "text" if not self.ref else f"an id from {REF_WORDS[self.ref]}"
        if self.kind == "value":
            return "a number or a word"
        low = "" if self.lower is None else f"{'>' if self.lower_open else '≥'} {self.lower:g}"
        up = "" if self.upper is None else f"{'<' if self.upper_open else '≤'} {self.upper:g}"
        bounds = " and ".join(b for b in (low, up) if b)
        return "a number" + (f" {bounds}" if bounds else "")


REF_WORDS = {
    "periods": "periods.period",
    "mines": "mines.mine",
    "cracking": "plants.plant with stage = cracking",
    "separation": "plants.plant with stage = separation",
    "products": "products.product",
    "products+MRECL": "products.product, or MRECL",
    "customers": "customers.customer",
    "entities": "mines.mine or plants.plant",
    "obligations": "obligations.obligation",
}


@dataclass(frozen=True)
class Sheet:
    """One sheet of the input workbook."""

    name: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()
    """Columns that identify a row (besides ``period`` on per-period sheets)."""
    optional: bool = False
    per_period: bool = False
    """The sheet follows the `period` column convention: blank means every period."""
    doc: str = ""

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class Setting:
    """One key of the `settings` sheet."""

    key: str
    kind: str
    default: Any
    lower: float | None = None
    lower_open: bool = False
    unit: str = ""
    doc: str = ""


def _c(name: str, kind: str, **kw: Any) -> Column:
    return Column(name, kind, **kw)


PERIOD = _c("period", "id", ref="periods", blank_means="every period",
            doc="Blank = every period; a row with a period overrides the blank row.")

SHEETS: tuple[Sheet, ...] = (
    Sheet("settings", (
        _c("key", "id", required=True, doc="One of the keys listed below."),
        _c("value", "value", doc="The setting's value; blank = its default."),
    ), keys=("key",), doc="Run-wide settings, one key per row."),
    Sheet("periods", (
        _c("period", "id", required=True, doc="Period id, in time order (text, e.g. FY2026)."),
        _c("years", "number", default=1.0, lower=0, lower_open=True, unit="yr",
           doc="Length of the period; every per-year figure is multiplied by it."),
        _c("discount_factor", "number", lower=0, lower_open=True, upper=1, unit="-",
           blank_means="1/(1+discount_rate)^(years before the period)",
           doc="Overrides the discount factor computed from settings.discount_rate."),
    ), keys=("period",), doc="The planning periods, in time order."),
    Sheet("mines", (
        _c("mine", "id", required=True, doc="Mine id."),
        _c("name", "text", doc="Display name."),
        _c("capacity_t", "number", required=True, lower=0, unit="t monazite/yr",
           doc="Monazite the mine can produce per year."),
        _c("reo_grade", "number", required=True, lower=0, lower_open=True, upper=1,
           unit="t REO/t", doc="Rare-earth oxide content of the monazite."),
        _c("tho2_grade", "number", default=0.0, lower=0, upper=1, upper_open=True,
           unit="t ThO2/t", doc="Thorium oxide content of the monazite."),
        _c("mining_cost", "number", default=0.0, lower=0, unit="currency/t monazite",
           doc="Cost per tonne of monazite mined."),
        _c("status", "choice", required=True, choices=("approved", "pending"),
           doc="approved: available (from approved_from if given); pending: only from "
               "approved_from, never if it is blank."),
        _c("approved_from", "id", ref="periods", blank_means="approved: from the start; "
           "pending: never", doc="First period in which the mine may operate."),
    ), keys=("mine",), doc="Monazite sources, approved or awaiting approval."),
    Sheet("composition", (
        _c("mine", "id", ref="mines", blank_means="default for mines without rows",
           doc="Mine the row applies to; blank = the default composition."),
        _c("product", "id", required=True, ref="products", doc="Separated product."),
        _c("share", "number", required=True, lower=0, unit="t/t REO",
           doc="Fraction of the mine's REO that ends up in the product. Each mine's "
               "shares sum to 1."),
    ), keys=("mine", "product"), doc="How each mine's REO splits into products."),
    Sheet("plants", (
        _c("plant", "id", required=True, doc="Plant id."),
        _c("name", "text", doc="Display name."),
        _c("stage", "choice", required=True, choices=("cracking", "separation"),
           doc="cracking: monazite -> MRECL; separation: MRECL (t REO) -> products."),
        _c("capacity_t", "number", required=True, lower=0, unit="t input/yr",
           doc="Cracking: t monazite per year; separation: t REO per year."),
        _c("recovery", "number", required=True, lower=0, lower_open=True, upper=1,
           unit="-", doc="Cracking: REO recovered to MRECL; separation: oxide recovered."),
        _c("unit_cost", "number", default=0.0, lower=0, unit="currency/t input",
           doc="Processing cost per tonne of input."),
    ), keys=("plant",), doc="Cracking and separation plants."),
    Sheet("capacity_profile", (
        _c("entity", "id", required=True, ref="entities", doc="A mine or plant id."),
        PERIOD,
        _c("capacity_t", "number", required=True, lower=0, unit="t/yr",
           doc="Replaces the entity's capacity_t in that period."),
    ), keys=("entity",), optional=True, per_period=True,
        doc="Per-period capacity overrides for mines and plants."),
    Sheet("routes", (
        _c("mine", "id", required=True, ref="mines", doc="Mine id."),
        _c("plant", "id", required=True, ref="cracking", doc="A cracking plant id."),
        _c("transport_cost", "number", default=0.0, lower=0, unit="currency/t monazite",
           doc="Cost of moving one tonne of monazite from the mine to the plant."),
    ), keys=("mine", "plant"), optional=True,
        doc="Allowed mine -> cracking plant routes; absent or empty = all pairs."),
    Sheet("product_caps", (
        _c("plant", "id", required=True, ref="separation", doc="A separation plant id."),
        _c("product", "id", required=True, ref="products", doc="Product id."),
        PERIOD,
        _c("max_t", "number", required=True, lower=0, unit="t/yr",
           doc="Most of the product the plant's line can make per year."),
    ), keys=("plant", "product"), optional=True, per_period=True,
        doc="Product line caps at separation plants (e.g. the NdPr line)."),
    Sheet("products", (
        _c("product", "id", required=True, doc="Separated product id (not MRECL)."),
        _c("name", "text", doc="Display name."),
        _c("storage_capacity_t", "number", lower=0, unit="t", blank_means="unlimited",
           doc="Most stock that can be held at the end of a period."),
        _c("holding_cost", "number", default=0.0, unit="currency/t/yr",
           doc="Cost of holding one tonne of stock for one year."),
        _c("initial_stock_t", "number", default=0.0, lower=0, unit="t",
           doc="Stock at the start of the first period."),
        _c("disposal_cost", "number", unit="currency/t", blank_means="disposal not allowed",
           doc="Cost per tonne disposed of."),
        _c("terminal_value", "number", default=0.0, unit="currency/t",
           doc="Value of a tonne of stock left at the end of the last period."),
    ), keys=("product",), doc="Separated products."),
    Sheet("customers", (
        _c("customer", "id", required=True, doc="Customer id."),
        _c("name", "text", doc="Display name."),
        _c("kind", "choice", required=True, choices=("domestic", "export"),
           doc="Export customers count against export_caps."),
        _c("treaty", "bool", default=False, doc="Bound by an intergovernmental agreement."),
        _c("country", "text", doc="Destination country."),
    ), keys=("customer",), doc="Buyers of MRECL and separated products."),
    Sheet("demand", (
        _c("customer", "id", required=True, ref="customers", doc="Customer id."),
        _c("product", "id", required=True, ref="products+MRECL",
           doc="Product id, or MRECL (t REO of mixed chloride)."),
        PERIOD,
        _c("min_t", "number", default=0.0, lower=0, unit="t/yr",
           doc="Committed minimum; missing it costs shortfall_penalty (elastic) or is "
               "infeasible (strict)."),
        _c("max_t", "number", lower=0, unit="t/yr", blank_means="unlimited",
           doc="Most the customer takes; must be ≥ min_t."),
        _c("price", "number", required=True, unit="currency/t", doc="Price paid."),
        _c("policy_value", "number", default=0.0, unit="currency/t",
           doc="Planner's extra value per tonne (not cash)."),
        _c("shortfall_penalty", "number", lower=0, unit="currency/t",
           blank_means="settings.default_shortfall_penalty",
           doc="Cost per tonne below min_t."),
    ), keys=("customer", "product"), per_period=True,
        doc="What each customer buys: minimum, maximum, price."),
    Sheet("export_caps", (
        _c("product", "id", required=True, ref="products", doc="Product id."),
        PERIOD,
        _c("max_t", "number", required=True, lower=0, unit="t/yr",
           doc="Most element content that may leave the country, including the content "
               "of exported MRECL."),
        _c("scope", "choice", default="all", choices=("all", "non_treaty"),
           doc="all: every export customer; non_treaty: only export customers that are "
               "not treaty-bound. Must be all when customer is given."),
        _c("customer", "id", ref="customers", blank_means="every export customer in scope",
           doc="Given: the cap is on the content delivered to this one customer, domestic "
               "or export."),
    ), keys=("product", "scope", "customer"), optional=True, per_period=True,
        doc="Caps on the content exported, per product (or delivered to one customer)."),
    Sheet("reserves", (
        _c("product", "id", required=True, ref="products", doc="Product id."),
        PERIOD,
        _c("min_stock_t", "number", lower=0, unit="t", blank_means="no tonnage target",
           doc="Stock to hold at the end of the period (a level, not per year)."),
        _c("months_of_cover", "number", lower=0, unit="months", blank_means="no cover target",
           doc="Stock of months/12 x the product's domestic min_t in the period; with "
               "min_stock_t the larger target counts."),
        _c("shortfall_penalty", "number", lower=0, unit="currency/t",
           blank_means="settings.default_shortfall_penalty",
           doc="Cost per tonne of stock below the target (elastic mode)."),
    ), keys=("product",), optional=True, per_period=True,
        doc="Strategic reserve targets: stock to keep at the end of each period."),
    Sheet("obligations", (
        _c("obligation", "id", required=True, doc="Obligation id."),
        _c("customer", "id", required=True, ref="customers",
           doc="Customer the obligation is owed to (the same on every row of the obligation)."),
        PERIOD,
        _c("min_reo_t", "number", required=True, lower=0, unit="t REO/yr",
           doc="t REO per year to deliver, as any mix of the obligation's basket products."),
        _c("shortfall_penalty", "number", lower=0, unit="currency/t REO",
           blank_means="settings.default_shortfall_penalty",
           doc="Cost per t REO below min_reo_t (elastic mode)."),
    ), keys=("obligation", "customer"), optional=True, per_period=True,
        doc="Delivery obligations in t REO (e.g. a treaty), met by a basket of products."),
    Sheet("obligation_products", (
        _c("obligation", "id", required=True, ref="obligations", doc="Obligation id."),
        _c("product", "id", required=True, ref="products+MRECL",
           doc="A product, or MRECL, that counts toward the obligation; the customer needs a "
               "demand row for it (its price)."),
        _c("reo_factor", "number", default=1.0, lower=0, unit="t REO/t",
           doc="t REO counted per t of the product delivered."),
    ), keys=("obligation", "product"), optional=True,
        doc="The basket of each obligation: which products count, at how many t REO per t."),
    Sheet("scenarios", (
        _c("scenario", "id", required=True, doc="Scenario name; rows with the same name "
           "form one scenario."),
        _c("target", "path", required=True, doc="A change path SHEET.COLUMN[FILTER, ...]."),
        _c("value", "value", required=True, doc="The new value, factor or increment."),
        _c("mode", "choice", default="set", choices=("set", "scale", "add"),
           doc="set replaces, scale multiplies, add adds."),
        _c("description", "text", doc="What the scenario asks, in a planner's words; shown "
           "in comparison workbooks (the first non-blank row of a scenario counts)."),
    ), optional=True, doc="Named scenarios, run by `solve --scenario` and `scenarios`."),
    Sheet("uncertainty", (
        _c("scenario", "id", required=True, doc="A scenario of the scenarios sheet, or base "
           "(the workbook as is)."),
        _c("probability", "number", required=True, lower=0, upper=1, unit="-",
           doc="Probability of the scenario; the probabilities sum to 1."),
    ), keys=("scenario",), optional=True,
        doc="Scenarios that `hedge` plans against, with their probabilities."),
)

SHEET_BY_NAME: dict[str, Sheet] = {s.name: s for s in SHEETS}

SETTINGS: tuple[Setting, ...] = (
    Setting("currency", "text", "USD", doc="Name of the currency of all money figures."),
    Setting("discount_rate", "number", 0.0, lower=0, unit="1/yr",
            doc="Yearly discount rate r; df[t] = 1/(1+r)^(years before t)."),
    Setting("default_shortfall_penalty", "number", 1e6, lower=0, unit="currency/t",
            doc="Shortfall penalty where demand.shortfall_penalty is blank."),
    Setting("thorium_storage_t", "number", None, lower=0, unit="t ThO2/yr",
            doc="ThO2 that may be sent to thorium storage per year; blank = unlimited."),
    Setting("strict", "bool", False,
            doc="true: demand minimums are hard (no shortfall allowed)."),
    Setting("decide_through", "text", None,
            doc="hedge: the last period whose decisions are the same in every scenario of the "
                "uncertainty sheet; blank = the first period."),
)

SETTING_BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}

IGNORED_SHEETS = frozenset({"README"})

ANNOTATION_SHEETS = frozenset({"readme", "sources", "notes", "lists"})
"""Sheets read by people only, ignored without a word (matched ignoring case); ``lists`` is
the template's hidden helper sheet. Any other undeclared sheet is a warning, or an error
when its name is close to a declared one."""

ANNOTATION_COLUMNS = frozenset({"name", "notes", "note", "source", "sources", "comment",
                                "comments", "description", "remarks", "unit"})
"""Column headers for people, ignored on every sheet that does not declare them."""

__all__ = ["Column", "Sheet", "Setting", "SHEETS", "SHEET_BY_NAME", "SETTINGS",
           "SETTING_BY_KEY", "MRECL", "IGNORED_SHEETS", "REF_WORDS", "ANNOTATION_SHEETS",
           "ANNOTATION_COLUMNS"]
