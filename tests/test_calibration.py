"""Calibration: the model on IREL's 2024, one period (tests/data/calibration_2024.xlsx).

What 2024 looked like (docs/data_sources.md#calibration-2024): about 5,000 t of monazite,
i.e. about 2,900 t REO, from the three operating mines; more than 1,000 t of rare-earth
material to Japan through TREI, about a third. The workbook holds only 2024's inputs (three
mines, 2024 prices, no magnet buyer yet, no opening stock); the tests check what the solve
makes of them, and separate what the inputs force from what the optimisation chooses:

- forced: TREI's 1,000 t is the treaty minimum, and the minimum binds (the model would send
  less); 2,900 t REO is the mines' capacity times the grade, once the mines run full;
- chosen: running every mine at capacity (each mine's capacity row has a positive dual),
  separating the rest of the MRECL (1,494 t REO, RED at 60 %), the NdPr line not binding
  (342 t of 400 t), and the NdPr going to stock;
- and the "a third to Japan" depends on one assumption: NdPr in stock valued at the base
  case's 60,000 USD/t. At the 2024 market price (about 52,000 USD/t) the model sends TREI its
  2,300 t maximum instead.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import optimizer
from optimizer.changes import Change, apply_changes

DATA = Path(__file__).resolve().parent / "data"
WORKBOOK = DATA / "calibration_2024.xlsx"
Y = "Y2024"


@pytest.fixture(scope="module")
def inputs():
    return optimizer.read_inputs(WORKBOOK)


@pytest.fixture(scope="module")
def result(inputs):
    return optimizer.solve(inputs)


def row(table, **keys):
    hit = table
    for column, value in keys.items():
        hit = hit[hit[column] == value]
    assert len(hit) == 1, keys
    return hit.iloc[0]


def test_the_workbook_is_what_its_script_writes(tmp_path):
    """tests/data/make_calibration_2024.py regenerates the committed workbook byte for byte."""
    spec = importlib.util.spec_from_file_location("make_calibration_2024", DATA / "make_calibration_2024.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.OUT = tmp_path / "calibration_2024.xlsx"
    module.main()
    assert module.OUT.read_bytes() == WORKBOOK.read_bytes(), \
        "regenerate: .venv/bin/python tests/data/make_calibration_2024.py"


def test_it_validates_and_solves(result):
    assert result.status == "optimal"
    assert result.objective == pytest.approx(19_027_445.35, abs=1)


def test_mines_run_at_capacity_giving_2900_t_reo(result):
    mining = result.tables["mining"]
    assert mining["mined_t"].sum() == pytest.approx(5000)
    assert mining["reo_t"].sum() == pytest.approx(2900)  # USGS: India 2,900 t REO in 2024
    assert list(mining["utilisation"]) == pytest.approx([1.0, 1.0, 1.0])
    cons = result.tables["constraints"]
    duals = cons[cons["family"] == "mine_capacity"]["dual"]
    assert len(duals) == 3 and (duals > 3000).all()  # chosen: another tonne would pay


def test_trei_gets_its_minimum_about_a_third(result):
    treaty = row(result.tables["treaty"], period=Y, customer="X_TREI")
    assert treaty["delivered_t"] == pytest.approx(1000)
    assert treaty["shortfall_t"] == pytest.approx(0)
    assert treaty["min_binding"] == "yes" and treaty["min_dual"] == pytest.approx(-827.94, abs=0.01)
    reo = result.tables["mining"]["reo_t"].sum()
    assert treaty["delivered_t"] / reo == pytest.approx(0.345, abs=0.001)  # "about a third"
    assert treaty["ndpr_content_t"] == pytest.approx(241)


def test_the_rest_is_separated_and_the_ndpr_stocked(result):
    processing = result.tables["processing"]
    mopp = row(processing, plant="P_MOPP")
    red = row(processing, plant="P_RED")
    assert mopp["output_t"] == pytest.approx(2494)  # 2,900 t REO x 0.86 cracking recovery
    assert red["input_t"] == pytest.approx(2494 - 1000)
    assert red["utilisation"] == pytest.approx(0.5976, abs=1e-4)
    ndpr = row(result.tables["inventory"], product="NdPr")
    assert ndpr["produced_t"] == pytest.approx(342.05, abs=0.01)  # below the 400 t line
    assert ndpr["sold_t"] == pytest.approx(0) and ndpr["closing_t"] == pytest.approx(342.05, abs=0.01)
    spot = result.tables["allocation"]
    assert row(spot, customer="X_SPOT", product="Dy")["tonnes"] == pytest.approx(1494 * 0.0015 * 0.95)


def test_a_third_to_japan_rests_on_the_value_of_ndpr_in_stock(inputs):
    """At the 2024 NdPr price (about 52 USD/kg) instead of the 60,000 USD/t planner's value,
    separating no longer beats TREI's 9,000 USD/t REO: TREI gets its 2,300 t maximum."""
    cheap = apply_changes(inputs, [Change("products.terminal_value[product=NdPr]", 52000)])
    treaty = row(optimizer.solve(cheap, sensitivity=False).tables["treaty"], period=Y)
    assert treaty["delivered_t"] == pytest.approx(2300)
    # Break-even: the min dual, per t NdPr made from 1 t REO (0.241 x 0.95), below 60,000.
    break_even = 60000 - 827.942 / (0.241 * 0.95)
    assert break_even == pytest.approx(56384, abs=1)
    for value, delivered in ((break_even - 10, 2300), (break_even + 10, 1000)):
        changed = apply_changes(inputs, [Change("products.terminal_value[product=NdPr]", value)])
        treaty = row(optimizer.solve(changed, sensitivity=False).tables["treaty"], period=Y)
        assert treaty["delivered_t"] == pytest.approx(delivered), value
