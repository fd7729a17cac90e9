"""Explaining an infeasible model (docs/model.md strict mode, docs/outputs.md infeasibility, README exit codes).

An infeasible strict solve must name the conflicting constraints with their sheet, row and
entity, one sentence per conflict, give the cheapest repair from an elastic re-solve, and
reach the workbook (sheet ``infeasibility``) and the terminal with exit code 3. Data that is
infeasible even with shortfalls allowed is a conflict of the hard data.

The instances:

* the bundled workbook's ``conserve_ndpr`` scenario: the NdPr export cap is 0 t in every
  period while the treaty customer X_TREI must take 1,000 t MRECL a year (241 t NdPr);
* ``tiny`` (see tiny.py: 50 t REO a year, so at most 30 t of A) with K1 required to take
  100 t of A;
* ``tiny`` with 50 t of B in opening stock, 10 t of B storage and no outlet for B.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import tiny

import optimizer
from optimizer.changes import apply_scenario
from optimizer.cli import main
from optimizer.explain import domain_checks, elastic_repair

BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"
PERIODS = [f"FY{y}" for y in range(2026, 2033)]


def section(text: str, title: str) -> list[str]:
    """The items under ``title`` in an explanation: '  1. …' or '  - …' lines, unprefixed."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    items = []
    for line in lines[start:]:
        match = re.match(r"^  (?:\d+\.|-) (.*)$", line)
        if not match:
            break
        items.append(match.group(1))
    return items


def table_section(result, name: str) -> pd.DataFrame:
    table = result.tables["infeasibility"]
    return table[table["section"] == name].reset_index(drop=True)




# --- the bundled workbook: conserve_ndpr -----------------------------------------------------

@pytest.fixture(scope="module")
def base_inputs():
    return optimizer.read_inputs(BASE_CASE)


@pytest.fixture(scope="module")
def conserve(base_inputs):
    return optimizer.solve(base_inputs, strict=True, scenario="conserve_ndpr")


def test_conserve_ndpr_is_infeasible_in_strict_mode(conserve):
    assert conserve.status == "infeasible"
    assert conserve.objective is None
    assert not conserve.optimal
    assert conserve.strict is True
    assert conserve.explanation.splitlines()[0] == \
        "The model is infeasible with every minimum enforced (strict mode)."
    summary = dict(zip(conserve.tables["summary"]["key"], conserve.tables["summary"]["value"]))
    assert summary["status"] == "infeasible"
    assert summary["explanation"] == conserve.explanation


def test_conserve_ndpr_one_sentence_for_one_cause_with_its_periods(conserve):
    """The same conflict in all seven years is one sentence listing them, not seven."""
    sentences = section(conserve.explanation, "Conflicts:")
    assert len(sentences) == 1
    sentence = sentences[0]
    assert sentence.startswith(f"In each of {PERIODS[0]}–{PERIODS[-1]} "), sentence
    for words in ("X_TREI", "demand row", "MRECL", "NdPr export cap of 0 t", "export_caps"):
        assert words in sentence, f"{words!r} missing from: {sentence}"
    # The treaty minimum leads and states the NdPr it carries.
    assert "the treaty minimum for X_TREI (demand row 2: 1,000 t MRECL, which contains " \
           "241 t NdPr) cannot be met together with the NdPr export cap of 0 t" in sentence
    # The table still lists each period's rows: the minimum and the cap, under the one cause.
    conflicts = table_section(conserve, "conflict")
    assert set(conflicts["item"]) == {1}
    assert set(conflicts["period"]) == set(PERIODS)
    for period in PERIODS:
        rows = conflicts[conflicts["period"] == period]
        assert set(zip(rows["family"], rows["index"])) == {
            ("demand_min", f"X_TREI, MRECL, {period}"), ("export_cap", f"NdPr, {period}")}
    assert set(conflicts["text"]) == {sentence}


def test_conserve_ndpr_repairs_on_either_side_with_exact_tonnes(conserve):
    """Either give up the 1,000 t minimum, or raise the 0 t cap by the 241 t of NdPr the
    minimum carries (1,000 t REO x 0.241 NdPr share): both sides, each one line."""
    lower = section(conserve.explanation, "Either lower the minimums (the least tonnage that would do):")
    raise_ = section(conserve.explanation, "Or raise the limits instead (the least tonnage that would do):")
    assert lower == [f"In each of {PERIODS[0]}–{PERIODS[-1]} lower the treaty minimum for X_TREI "
                     "(demand row 2: 1,000 t MRECL, which contains 241 t NdPr) by 1,000 t"]
    assert len(raise_) == 1 and raise_[0].endswith("raise the NdPr export cap of 0 t (export_caps, "
                                                   "a row added by the scenario) by 241 t")


def test_conserve_ndpr_cheapest_repair_gives_up_the_treaty_minimum(conserve):
    repairs = section(conserve.explanation,
                      "Cheapest repair (elastic re-solve; treaty minimums relaxed last):")
    # the same repair in all seven years: one line listing them
    assert repairs == [f"In each of {PERIODS[0]}–{PERIODS[-1]} give up 1,000 t of the 1,000 t treaty "
                       "minimum of MRECL for X_TREI (demand row 2) at 1,000,000 per t = 1,000,000,000 each"]
    table = table_section(conserve, "repair")
    assert list(table["item"]) == list(range(1, 8))
    assert list(table["family"]) == ["demand_min"] * 7
    assert list(table["index"]) == [f"X_TREI, MRECL, {t}" for t in PERIODS]
    assert [float(d) for d in table["detail"]] == pytest.approx([1000.0] * 7)
    assert "Total penalty 7,000,000,000;" in conserve.explanation


def test_conserve_ndpr_infeasibility_table_and_workbook(conserve, tmp_path):
    table = conserve.tables["infeasibility"]
    assert list(table.columns) == ["section", "item", "period", "text", "family", "index",
                                   "detail"]
    assert list(dict.fromkeys(table["section"])) == ["conflict", "repair", "repair: lower",
                                                     "repair: raise", "check"]
    checks = table_section(conserve, "check")
    assert len(checks) == 7  # the table keeps one row per period; the text says it once
    assert section(conserve.explanation, "Pre-solve checks:") == [
        f"In each of {PERIODS[0]}–{PERIODS[-1]} " + checks["text"].iloc[0].split(" ", 2)[2]]

    out = optimizer.write_results(conserve, tmp_path / "conserve.xlsx")
    assert Path(out).exists()
    wb = openpyxl.load_workbook(out, read_only=True)
    try:
        assert "infeasibility" in wb.sheetnames
        assert "allocation" not in wb.sheetnames  # nothing optimal to report
        rows = list(wb["infeasibility"].iter_rows(values_only=True))
    finally:
        wb.close()
    assert list(rows[0]) == list(table.columns)
    assert len(rows) == len(table) + 1
    assert rows[1][3] == table["text"].iloc[0]


# --- tiny: a minimum above what can be made --------------------------------------------------

K1_MIN_100 = [
    {"customer": "K1", "product": "A", "period": None, "min_t": 100, "max_t": 1000,
     "price": 10, "shortfall_penalty": 50},
    {"customer": "X1", "product": "MRECL", "period": None, "min_t": 0, "max_t": None,
     "price": 4, "shortfall_penalty": None},
]


@pytest.fixture(scope="module")
def min_above_supply():
    return optimizer.ModelInputs.from_frames(tiny.frames(demand=K1_MIN_100))


def test_minimum_above_supply_strict_conflict_and_repair(min_above_supply):
    """At most 30 t of A can be made (50 t REO x 0.6), so 70 t of K1's 100 t are missing."""
    r = optimizer.solve(min_above_supply, strict=True)
    assert r.status == "infeasible" and r.objective is None
    conflicts = section(r.explanation, "Conflicts:")
    assert len(conflicts) == 1
    sentence = conflicts[0]
    assert sentence.startswith("In T1 the minimum for K1 (demand row 2: 100 t A) cannot be met "
                               "together with ")
    assert "mine M1's capacity of 100 t monazite (mines row 2)" in sentence
    repairs = section(r.explanation,
                      "Cheapest repair (elastic re-solve; treaty minimums relaxed last):")
    assert repairs == ["give up 70 t of the 100 t minimum of A for K1 in T1 (demand row 2) "
                       "at 50 per t = 3,500"]
    table = table_section(r, "repair")
    assert len(table) == 1
    assert table["index"].iloc[0] == "K1, A, T1"
    assert float(table["detail"].iloc[0]) == pytest.approx(70.0)
    assert "objective of the repaired plan -3,200." in r.explanation


def test_minimum_above_supply_elastic_agrees_with_the_repair(min_above_supply):
    elastic = optimizer.solve(min_above_supply, strict=False)
    assert elastic.status == "optimal" and elastic.explanation is None
    short = elastic.tables["shortfalls"]
    assert len(short) == 1
    assert short["shortfall_t"].iloc[0] == pytest.approx(70.0)
    assert short["delivered_t"].iloc[0] == pytest.approx(30.0)
    assert short["penalty"].iloc[0] == pytest.approx(3500.0)
    # 30 t of A at 10 less 70 t short at 50.
    assert elastic.objective == pytest.approx(300.0 - 3500.0)

    repair, objective = elastic_repair(min_above_supply)
    assert len(repair) == 1
    assert repair["give_up_t"].iloc[0] == pytest.approx(short["shortfall_t"].iloc[0])
    assert repair["penalty_per_t"].iloc[0] == short["penalty_per_t"].iloc[0] == 50.0
    assert repair["penalty_cost"].iloc[0] == pytest.approx(short["penalty"].iloc[0])
    assert objective == pytest.approx(elastic.objective)


def test_repair_relaxes_treaty_minimums_last_and_reports_true_penalties():
    """X1 (treaty) must take 40 t REO of MRECL at penalty 10/t; K1 30 t of A at 50/t.

    50 t REO cannot do both (40 t MRECL leaves 10 t REO -> 6 t A). The cheapest plan by
    true penalties would miss the treaty, but treaty minimums are relaxed last: the repair
    gives up 24 t of K1's minimum, and reports it at its true 50 per t.
    """
    demand = [
        {"customer": "K1", "product": "A", "period": None, "min_t": 30, "max_t": 1000,
         "price": 10, "shortfall_penalty": 50},
        {"customer": "X1", "product": "MRECL", "period": None, "min_t": 40, "max_t": None,
         "price": 4, "shortfall_penalty": 10},
    ]
    inputs = optimizer.ModelInputs.from_frames(tiny.frames(demand=demand))
    r = optimizer.solve(inputs, strict=True)
    assert r.status == "infeasible"
    repairs = section(r.explanation,
                      "Cheapest repair (elastic re-solve; treaty minimums relaxed last):")
    assert repairs == ["give up 24 t of the 30 t minimum of A for K1 in T1 (demand row 2) "
                       "at 50 per t = 1,200"]
    # The elastic solve itself (true penalties) prefers to miss the treaty instead.
    elastic = optimizer.solve(inputs, strict=False)
    short = elastic.tables["shortfalls"].set_index("customer")["shortfall_t"]
    assert short["X1"] > 0 and short["K1"] == pytest.approx(0.0)


# --- tiny: the hard data conflicts -------------------------------------------------------------

STUCK_B = [{"product": "A", "storage_capacity_t": None, "initial_stock_t": 0},
           {"product": "B", "storage_capacity_t": 10, "initial_stock_t": 50}]


@pytest.fixture(scope="module")
def stuck_b_frames():
    return tiny.frames(products=STUCK_B)


@pytest.fixture(scope="module")
def stuck_b(stuck_b_frames):
    return optimizer.solve(optimizer.ModelInputs.from_frames(stuck_b_frames))


def test_hard_data_conflict_is_explained(stuck_b):
    """50 t of B in stock, room for 10 t, no buyer, no disposal: infeasible even elastic."""
    assert stuck_b.strict is False
    assert stuck_b.status == "infeasible" and stuck_b.objective is None
    text = stuck_b.explanation
    assert text.splitlines()[0] == ("The model is infeasible even with shortfalls allowed: "
                                    "the hard data conflicts.")
    conflicts = section(text, "Conflicts:")
    assert len(conflicts) == 1
    assert "the B storage capacity of 10 t (products row 3)" in conflicts[0]
    assert "the B stock balance with an opening stock of 50 t, which cannot be disposed of " \
           "(products row 3)" in conflicts[0]
    fixes = section(text, "Smallest change of limits that would make the data feasible:")
    assert fixes == ["raise the B storage capacity of 10 t (products row 3) by 40"]
    assert "Cheapest repair" not in text
    table = stuck_b.tables["infeasibility"]
    assert set(table["section"]) == {"conflict", "repair"}
    assert set(table_section(stuck_b, "conflict")["family"]) == {"storage_capacity",
                                                                 "product_balance"}
    repair = table_section(stuck_b, "repair")
    assert list(repair["family"]) == ["storage_capacity"]
    assert float(repair["detail"].iloc[0]) == pytest.approx(40.0)


def test_hard_data_repair_items_are_numbered_from_one(stuck_b):
    assert list(table_section(stuck_b, "repair")["item"]) == [1]


def test_cli_solve_exits_3_on_hard_data_conflict(stuck_b_frames, tmp_path, capsys):
    xlsx = tiny.write_xlsx(stuck_b_frames, tmp_path / "stuck_b.xlsx")
    out = tmp_path / "stuck_b-result.xlsx"
    code = main(["solve", str(xlsx), "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == 3
    assert "status: infeasible" in printed
    assert "the hard data conflicts" in printed
    assert "raise the B storage capacity of 10 t (products row 3) by 40" in printed
    wb = openpyxl.load_workbook(out, read_only=True)
    try:
        assert "infeasibility" in wb.sheetnames
    finally:
        wb.close()


def test_cli_explain_conserve_ndpr_exits_3_and_prints_sentences(conserve, tmp_path, capsys):
    out = tmp_path / "conserve-explain.xlsx"
    code = main(["explain", "--scenario", "conserve_ndpr", "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == 3
    assert "status: infeasible (strict)" in printed
    for sentence in section(conserve.explanation, "Conflicts:"):
        assert sentence in printed
    assert out.exists()


# --- domain checks and the feasible case --------------------------------------------------------

def test_domain_checks_flag_the_export_cap_under_conserve_ndpr(base_inputs):
    inputs = apply_scenario(base_inputs, "conserve_ndpr")[0]
    notes = domain_checks(inputs)
    assert len(notes) == 7
    for period, note in zip(PERIODS, notes):
        assert note.startswith(f"In {period} the NdPr export cap of 0 t (export_caps"), note
        assert "below the 241 t of NdPr contained in the MRECL minimums of export customers" \
               in note


def test_domain_checks_are_quiet_on_the_base_case(base_inputs):
    assert domain_checks(base_inputs) == []


def test_base_case_strict_is_optimal_with_nothing_to_explain(base_inputs):
    strict = optimizer.solve(base_inputs, strict=True)
    assert strict.status == "optimal" and strict.strict is True
    assert strict.explanation is None
    assert "infeasibility" not in strict.tables
    # The base plan meets every minimum, so strict and elastic agree.
    elastic = optimizer.solve(base_inputs)
    assert float(elastic.tables["shortfalls"]["shortfall_t"].sum()) == pytest.approx(0.0)
    assert strict.objective == pytest.approx(elastic.objective, rel=1e-9)
