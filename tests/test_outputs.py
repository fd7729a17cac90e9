"""The result workbook, its atomic write, the run_info manifest and the README (docs/outputs.md, README).

The base case is solved once per module (about 1.5 s) and written once; every test reads
that shared result or workbook.
"""

from __future__ import annotations

import hashlib
import math
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

import optimizer
from optimizer import run, solve, template, writer
from optimizer.errors import OutputError

REPO = Path(__file__).resolve().parents[1]
BASE_CASE = REPO / "inputs" / "base_case.xlsx"
README = REPO / "README.md"

RESULT_SHEETS = ["summary", "charts", "allocation", "treaty", "shortfalls", "mining",
                 "processing", "production", "inventory", "disposal", "constraints", "balances",
                 "variables", "limits", "chart_data", "run_info"]
NDPR_IN_MRECL = 0.241  # base case: every mine's REO is 24.1 % NdPr (composition sheet)


# ---------------------------------------------------------------- shared fixtures


@pytest.fixture(scope="module")
def base_result():
    return solve(optimizer.read_inputs(BASE_CASE))


@pytest.fixture(scope="module")
def written(base_result, tmp_path_factory):
    """The path of the base-case result workbook."""
    return Path(optimizer.write_results(base_result, tmp_path_factory.mktemp("out") / "r.xlsx"))


@pytest.fixture(scope="module")
def loaded(written):
    return openpyxl.load_workbook(written)


@pytest.fixture(scope="module")
def presented(base_result):
    return writer.presented_tables(base_result)


def kv(frame: pd.DataFrame) -> dict:
    return dict(zip(frame["key"], frame["value"]))


def headers(name: str, frame: pd.DataFrame) -> list[str]:
    if name in writer.RAW_SHEETS:
        return [str(c) for c in frame.columns]
    return [writer.column_spec(name, str(c), "USD").header for c in frame.columns]


# ---------------------------------------------------------------- result workbook


def test_result_workbook_has_every_sheet(written, loaded):
    assert written.exists()
    assert loaded.sheetnames == RESULT_SHEETS  # charts right after summary
    assert "infeasibility" not in loaded.sheetnames  # only when infeasible
    assert all(len(name) <= 31 for name in loaded.sheetnames)


def test_header_rows_are_bold_and_match_the_tables(presented, loaded):
    for name, frame in presented.items():
        ws = loaded[name[:31]]
        header = [c.value for c in ws[1]][:frame.shape[1]]
        assert header == headers(name, frame), name
        assert all(c.font.bold for c in ws[1][:frame.shape[1]]), name
        assert ws.freeze_panes == "A2", name
        assert ws.auto_filter.ref, name


def test_numbers_are_written_as_numbers(presented, loaded):
    checked = 0
    for name, frame in presented.items():
        ws = loaded[name[:31]]
        cells = list(ws.iter_rows(min_row=2, max_row=len(frame) + 1,
                                  max_col=frame.shape[1], values_only=True))
        assert len(cells) == len(frame), name
        for i, row in enumerate(frame.itertuples(index=False, name=None)):
            for j, value in enumerate(row):
                got = cells[i][j]
                if isinstance(value, bool) or value is None:
                    continue
                if isinstance(value, (int, float)) or hasattr(value, "dtype"):
                    if isinstance(value, float) and math.isnan(value):
                        assert got is None, (name, i, j)
                        continue
                    assert isinstance(got, (int, float)) and not isinstance(got, bool), \
                        (name, frame.columns[j], got)
                    # Anything beyond ±1E+30 (inf: unlimited) is written as Excel's ±1E+30.
                    expected = min(max(float(value), -writer.EXCEL_INFINITY),
                                   writer.EXCEL_INFINITY)
                    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
                    checked += 1
                elif isinstance(value, str):
                    assert got == (value or None), (name, frame.columns[j])
    assert checked > 1000
    # The key numeric columns hold no text at all.
    alloc = loaded["allocation"]
    header = [c.value for c in alloc[1]]
    for col in ("tonnes (t; MRECL in t REO)", "price (USD/t)", "revenue (USD)"):
        j = header.index(col)
        values = [r[j] for r in alloc.iter_rows(min_row=2, values_only=True)]
        assert values and all(isinstance(v, (int, float)) for v in values), col


def test_unlimited_ranging_is_written_as_excel_infinity(loaded):
    ws = loaded["constraints"]
    numbers = [v for row in ws.iter_rows(min_row=2, values_only=True) for v in row
               if isinstance(v, float)]
    assert all(math.isfinite(v) for v in numbers)
    assert writer.EXCEL_INFINITY in numbers


def test_charts_sheet_has_stacked_ndpr_columns_and_a_utilisation_line(written):
    with zipfile.ZipFile(written) as z:
        xml = [z.read(n).decode() for n in sorted(z.namelist())
               if n.startswith("xl/charts/chart")]
    assert len(xml) >= 6  # NdPr, utilisation, treaty, stock, waterfall, shadow prices
    assert any("barChart" in x and 'grouping val="stacked"' in x and "NdPr by destination" in x
               for x in xml)
    assert any("lineChart" in x and "Plant utilisation" in x for x in xml)


def test_ndpr_chart_counts_ndpr_inside_treaty_mrecl(base_result, loaded):
    ws = loaded["chart_data"]
    header = [c.value for c in ws[2]]
    assert header[0] == "period" and "X_TREI" in header
    j = header.index("X_TREI")
    chart = {}
    for row in ws.iter_rows(min_row=3, values_only=True):
        if row[0] is None:
            break
        chart[row[0]] = row[j]
    alloc = base_result.tables["allocation"]
    trei = alloc[(alloc["customer"] == "X_TREI") & (alloc["product"] == "MRECL")]
    mrecl = trei.groupby("period")["tonnes"].sum()
    assert set(chart) == set(base_result.inputs.params.PERIODS)
    assert mrecl.sum() > 0
    for period, ndpr in chart.items():
        assert ndpr == pytest.approx(NDPR_IN_MRECL * mrecl.get(period, 0.0), abs=1e-6), period


# ---------------------------------------------------------------- atomic write


def test_write_is_atomic_when_save_fails(base_result, tmp_path, monkeypatch):
    dest = tmp_path / "result.xlsx"
    dest.write_bytes(b"previous result")

    def broken_close(self):
        Path(self.filename).write_bytes(b"PK\x03\x04 half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xlsxwriter.Workbook, "close", broken_close)
    with pytest.raises(OutputError, match="cannot write"):
        optimizer.write_results(base_result, dest)
    assert dest.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.xlsx"]


def test_write_is_atomic_for_a_new_file(base_result, tmp_path, monkeypatch):
    def broken_close(self):
        Path(self.filename).write_bytes(b"PK partial")
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(xlsxwriter.Workbook, "close", broken_close)
    with pytest.raises(OutputError, match="permission denied"):
        optimizer.write_results(base_result, tmp_path / "new.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_an_existing_result(base_result, tmp_path):
    dest = tmp_path / "result.xlsx"
    dest.write_bytes(b"old")
    optimizer.write_results(base_result, dest)
    assert openpyxl.load_workbook(dest, read_only=True).sheetnames[0] == "summary"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.xlsx"]


def test_write_refuses_to_overwrite_the_input(tmp_path):
    copy = tmp_path / "in.xlsx"
    copy.write_bytes(BASE_CASE.read_bytes())
    inputs = optimizer.read_inputs(copy)
    result = solve(inputs, sensitivity=False)
    before = copy.read_bytes()
    with pytest.raises(OutputError, match="refusing to overwrite"):
        optimizer.write_results(result, tmp_path / "." / "in.xlsx")
    assert copy.read_bytes() == before


# ---------------------------------------------------------------- run_info


def test_run_info_manifest(base_result):
    info = kv(base_result.tables["run_info"])
    assert info["input"] == "base_case.xlsx"
    assert info["input_sha256"] == hashlib.sha256(BASE_CASE.read_bytes()).hexdigest()
    for dist in ("pyomo", "highspy", "pandas", "openpyxl"):
        assert info[dist] == metadata.version(dist), dist
    assert info["tool_version"] == metadata.version("irel-alloc")
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert info["status"] == "optimal"
    assert info["objective"] == pytest.approx(base_result.objective)
    assert info["scenario"] == "" and info["changes"] == ""
    assert info["allocation_sha256"] == run.table_hash(base_result.tables["allocation"])
    assert re.fullmatch(r"[0-9a-f]{64}", info["allocation_sha256"])
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", info["timestamp_utc"])


def test_run_info_records_the_scenario_and_its_changes():
    result = solve(optimizer.read_inputs(BASE_CASE), scenario="breach",
                             sensitivity=False)
    info = kv(result.tables["run_info"])
    assert info["scenario"] == "breach"
    assert result.changes and info["changes"] == "; ".join(result.changes)
    assert "demand.shortfall_penalty[customer=X_TREI]" in info["changes"]
    assert "5000" in info["changes"]
    assert info["input_sha256"] == hashlib.sha256(BASE_CASE.read_bytes()).hexdigest()
    assert info["allocation_sha256"] == run.table_hash(result.tables["allocation"])


def test_allocation_hash_is_reproducible(base_result):
    again = solve(optimizer.read_inputs(BASE_CASE))
    first = kv(base_result.tables["run_info"])["allocation_sha256"]
    second = kv(again.tables["run_info"])["allocation_sha256"]
    assert first == second
    assert again.objective == pytest.approx(base_result.objective, rel=1e-9)


def test_table_hash_ignores_noise_below_six_digits():
    a = pd.DataFrame({"x": ["a", "b"], "t": [1000.0, 2.5]})
    b = pd.DataFrame({"x": ["a", "b"], "t": [1000.0000001, 2.5]})
    c = pd.DataFrame({"x": ["a", "b"], "t": [1001.0, 2.5]})
    assert run.table_hash(a) == run.table_hash(b) != run.table_hash(c)


def test_run_info_sheet_in_the_workbook(base_result, loaded):
    ws = loaded["run_info"]
    rows = {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True)}
    info = kv(base_result.tables["run_info"])
    assert rows["input_sha256"] == info["input_sha256"]
    assert rows["allocation_sha256"] == info["allocation_sha256"]


# ---------------------------------------------------------------- README


def test_readme_workbook_reference_matches_the_schema():
    text = README.read_text(encoding="utf-8")
    assert text.count(template.README_START) == 1 and text.count(template.README_END) == 1
    between = text.split(template.README_START, 1)[1].split(template.README_END, 1)[0]
    assert between == "\n" + template.schema_markdown() + "\n", \
        "README is out of date: run `python -m optimizer.template`"


def test_sync_readme_is_a_no_op_on_a_current_readme(tmp_path):
    copy = tmp_path / "README.md"
    copy.write_text(README.read_text(encoding="utf-8"), encoding="utf-8")
    assert template.sync_readme(copy) is False
    stale = README.read_text(encoding="utf-8").replace("#### `mines`", "#### `mines_old`")
    copy.write_text(stale, encoding="utf-8")
    assert template.sync_readme(copy) is True
    assert copy.read_text(encoding="utf-8") == README.read_text(encoding="utf-8")


def test_readme_quick_start_has_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "## Quick start" in text
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```[^\n]*\n(.*?)```", section, re.S)
    assert block, "no code block in Quick start"
    commands = [line for line in block.group(1).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2, commands
    assert "irel-alloc solve" in commands[0]
    assert "pytest" in commands[1]


# ---------------------------------------------------------------- import hygiene


def test_import_has_no_side_effects(tmp_path):
    code = ("import optimizer, sys; "
            "print('pyomo' in sys.modules, 'highspy' in sys.modules, 'pandas' in sys.modules, "
            "'openpyxl' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60, check=True)
    assert out.stdout.split() == ["False", "False", "False", "False"]
    assert out.stderr == ""
    assert list(tmp_path.iterdir()) == []  # nothing written either


def test_optimizer_solve_is_the_function_whatever_was_imported_first():
    # `solve` above is the function only because this module asks for it first.
    assert solve is run.solve
    code = ("import optimizer.run, optimizer; "
            "print(optimizer.solve is optimizer.run.solve)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "True"
