"""The command line (README, Commands): commands, default paths, exit codes 0/2/3/4, no tracebacks.

Most tests call ``optimizer.cli.main([...])`` in-process; two run the real entry points in a
subprocess. Every file is written under tmp_path.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import tiny

from optimizer import schema
from optimizer.cli import main

REPO = Path(__file__).resolve().parents[1]
BASE_CASE = REPO / "inputs" / "base_case.xlsx"
SCENARIOS = ["approvals_delayed", "approvals_fast", "breach", "conserve_ndpr", "price_floor",
             "renegotiated", "status_quo", "suspension"]


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def base_copy(tmp_path_factory) -> Path:
    """A copy of the bundled workbook under another stem (never written to)."""
    path = tmp_path_factory.mktemp("in") / "plan.xlsx"
    shutil.copyfile(BASE_CASE, path)
    return path


@pytest.fixture(scope="module")
def tiny_xlsx(tmp_path_factory) -> Path:
    """The tiny instance of tests/tiny.py as a workbook: solves in milliseconds."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for name, frame in tiny.frames().items():
            frame.to_excel(xl, sheet_name=name, index=False)
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def user_error(code: int, err: str) -> None:
    assert code == 2
    assert err.startswith("error:"), err
    assert "Traceback" not in err


def result_sheets(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return wb.sheetnames
    finally:
        wb.close()


# ---------------------------------------------------------------- solve


def test_solve_without_input_solves_the_bundled_base_case(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "solve")
    assert code == 0, err
    assert "status: optimal" in out
    assert "wrote outputs/base_case-result.xlsx" in out.replace("\\", "/")
    written = tmp_path / "outputs" / "base_case-result.xlsx"
    assert written.exists()
    assert {"summary", "allocation", "run_info"} <= set(result_sheets(written))
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir()) == ["base_case-result.xlsx"]


def test_solve_input_to_output(capsys, tmp_path, base_copy, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out_path = tmp_path / "nested" / "mine.xlsx"
    before = base_copy.read_bytes()
    code, out, err = run(capsys, "solve", str(base_copy), "-o", str(out_path))
    assert code == 0, err
    assert "status: optimal" in out and f"wrote {out_path}" in out
    assert "objective:" in out
    assert out_path.exists() and "charts" in result_sheets(out_path)
    assert not (tmp_path / "outputs").exists()
    assert base_copy.read_bytes() == before


def test_solve_scenario_default_output_and_changes(capsys, tmp_path, base_copy, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "solve", str(base_copy), "--scenario", "suspension")
    assert code == 0, err
    assert "status: optimal" in out
    assert "scenario: suspension" in out
    # the scenario's changes are printed
    assert "demand.min_t[customer=X_TREI, period>=FY2027]" in out
    assert "demand.max_t[customer=X_TREI, period>=FY2027]" in out
    written = tmp_path / "outputs" / "plan-suspension-result.xlsx"
    assert written.exists()
    assert "wrote outputs/plan-suspension-result.xlsx" in out.replace("\\", "/")
    ws = openpyxl.load_workbook(written, read_only=True)["run_info"]
    info = {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert info["scenario"] == "suspension"


def test_solve_unknown_scenario_lists_the_known_ones(capsys, tmp_path, base_copy, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "solve", str(base_copy), "--scenario", "no_such_thing")
    user_error(code, err)
    assert "no_such_thing" in err
    for name in SCENARIOS:
        assert name in err
    assert not (tmp_path / "outputs").exists()


def test_solve_strict_infeasible_scenario_exits_3(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "solve", "--strict", "--scenario", "conserve_ndpr",
                         "-o", str(tmp_path / "strict.xlsx"))
    assert code == 3
    assert "status: infeasible (strict)" in out
    assert "X_TREI" in out and "export cap" in out
    assert "infeasibility" in result_sheets(tmp_path / "strict.xlsx")


def test_solve_refuses_to_overwrite_its_input(capsys, tmp_path):
    path = tmp_path / "in.xlsx"
    shutil.copyfile(BASE_CASE, path)
    before = path.read_bytes()
    code, out, err = run(capsys, "solve", str(path), "-o", str(path))
    user_error(code, err)
    assert "refusing to overwrite" in err
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.xlsx"]


def test_solve_refuses_to_overwrite_its_input_by_another_spelling(capsys, tmp_path,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(BASE_CASE, tmp_path / "in.xlsx")
    before = (tmp_path / "in.xlsx").read_bytes()
    code, out, err = run(capsys, "solve", "in.xlsx", "-o", str(tmp_path / "." / "in.xlsx"))
    user_error(code, err)
    assert "refusing to overwrite" in err
    assert (tmp_path / "in.xlsx").read_bytes() == before


@pytest.mark.parametrize("name", ["blocker/out.xlsx", "out.csv", "adir.xlsx"])
def test_solve_unwritable_output_is_a_user_error(capsys, tmp_path, tiny_xlsx, name):
    (tmp_path / "blocker").write_text("a file, not a folder")
    (tmp_path / "adir.xlsx").mkdir()
    code, out, err = run(capsys, "solve", str(tiny_xlsx), "-o", str(tmp_path / name))
    user_error(code, err)
    assert "out" in err or "adir" in err
    # nothing left behind (no temporary file)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.xlsx", "blocker"]
    assert list((tmp_path / "adir.xlsx").iterdir()) == []


def test_solve_tiny_workbook(capsys, tmp_path, tiny_xlsx):
    out_path = tmp_path / "tiny-result.xlsx"
    code, out, err = run(capsys, "solve", str(tiny_xlsx), "-o", str(out_path))
    assert code == 0, err
    assert "status: optimal" in out and "objective: 300.00 USD" in out
    assert "charts" in result_sheets(out_path)


def test_solver_failure_exits_4(capsys, tmp_path, tiny_xlsx, monkeypatch):
    from optimizer import run as run_module

    real = run_module.run_highs

    def stopped(h):
        return dataclasses.replace(real(h), status="time limit reached")

    monkeypatch.setattr(run_module, "run_highs", stopped)
    code, out, err = run(capsys, "solve", str(tiny_xlsx), "-o", str(tmp_path / "r.xlsx"))
    assert code == 4
    assert err.startswith("error:") and "time limit reached" in err
    assert list(tmp_path.iterdir()) == []


def test_solve_missing_input(capsys, tmp_path):
    code, out, err = run(capsys, "solve", str(tmp_path / "nope.xlsx"), "-o",
                         str(tmp_path / "r.xlsx"))
    user_error(code, err)
    assert "not found" in err


# ---------------------------------------------------------------- validate


def test_validate_bundled_workbook(capsys):
    code, out, err = run(capsys, "validate", str(BASE_CASE))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert "valid" in lines[0] and "7 periods" in lines[0] and "8 scenarios" in lines[0]
    assert err == ""


def test_validate_reports_every_problem_with_its_cell(capsys, tmp_path):
    wb = openpyxl.load_workbook(BASE_CASE)
    header = [c.value for c in wb["mines"][1]]
    assert header[2] == "capacity_t"
    wb["mines"]["C2"] = "abc"
    dem = [c.value for c in wb["demand"][1]]
    assert dem[3:5] == ["min_t", "max_t"] and wb["demand"]["D2"].value == 1000
    wb["demand"]["E2"] = 500  # max below min
    broken = tmp_path / "broken.xlsx"
    wb.save(broken)
    code, out, err = run(capsys, "validate", str(broken))
    user_error(code, err)
    assert "2 problem(s)" in err
    assert "mines!C2" in err and "'abc'" in err and "capacity_t" in err
    assert "demand!E2" in err and "max_t" in err and "min_t" in err


def test_validate_missing_file(capsys, tmp_path):
    code, out, err = run(capsys, "validate", str(tmp_path / "missing.xlsx"))
    user_error(code, err)
    assert "not found" in err


@pytest.mark.parametrize("name,content", [("notes.txt", b"hello"),
                                          ("fake.xlsx", b"PK this is not a zip"),
                                          ("empty.xlsx", b"")])
def test_validate_non_xlsx_file(capsys, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = run(capsys, "validate", str(path))
    user_error(code, err)
    assert "xlsx" in err


def test_validate_folder(capsys, tmp_path):
    code, out, err = run(capsys, "validate", str(tmp_path))
    user_error(code, err)


# ---------------------------------------------------------------- template


@pytest.fixture(scope="module")
def template_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "blank.xlsx"
    assert main(["template", str(path)]) == 0
    return path


def test_template_writes_a_file(capsys, tmp_path):
    out_path = tmp_path / "t" / "blank.xlsx"
    code, out, err = run(capsys, "template", str(out_path))
    assert code == 0, err
    assert out_path.exists() and f"wrote {out_path}" in out


def test_template_has_readme_and_every_sheet_with_header_and_comments(template_path):
    wb = openpyxl.load_workbook(template_path)
    assert wb.sheetnames[0] == "README"
    assert wb["README"]["A1"].value
    for sheet in schema.SHEETS:
        assert sheet.name in wb.sheetnames, sheet.name
        ws = wb[sheet.name]
        header = [c.value for c in ws[1]][:len(sheet.columns)]
        assert header == list(sheet.column_names), sheet.name
        for cell in ws[1][:len(sheet.columns)]:
            assert cell.font.bold, (sheet.name, cell.value)
            assert cell.comment is not None and cell.comment.text.strip(), \
                (sheet.name, cell.value)
    # units in the header comments
    assert "t monazite/yr" in wb["mines"]["C1"].comment.text


def _validations(ws) -> dict[str, object]:
    """Column letter -> the data validation covering row 2 of that column."""
    found = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            if rng.min_row <= 2 <= rng.max_row and rng.min_col == rng.max_col:
                found[openpyxl.utils.get_column_letter(rng.min_col)] = dv
    return found


def test_template_has_dropdowns_for_choices_and_ids(template_path):
    wb = openpyxl.load_workbook(template_path)
    plants = _validations(wb["plants"])
    stage = plants["C"]  # plants.stage
    assert stage.type == "list"
    assert stage.formula1 == '"cracking,separation"'
    demand = _validations(wb["demand"])
    customer = demand["A"]  # demand.customer
    assert customer.type == "list"
    assert "customers!" in customer.formula1 and "$A$2" in customer.formula1
    mines = _validations(wb["mines"])
    assert mines["G"].formula1 == '"approved,pending"'  # mines.status
    assert "periods!" in mines["H"].formula1  # mines.approved_from
    customers = _validations(wb["customers"])
    assert customers["C"].formula1 == '"domestic,export"'  # customers.kind


def test_validate_blank_template_is_a_user_error(capsys, template_path):
    code, out, err = run(capsys, "validate", str(template_path))
    user_error(code, err)
    assert "periods" in err and "at least one row" in err


def test_template_to_csv_is_a_user_error(capsys, tmp_path):
    code, out, err = run(capsys, "template", str(tmp_path / "blank.csv"))
    user_error(code, err)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- usage errors


def test_no_command_prints_help_and_exits_2(capsys):
    code = main([])
    out, err = capsys.readouterr()
    assert code == 2
    assert "usage:" in out + err and "solve" in out + err


@pytest.mark.parametrize("argv", [["frobnicate"], ["solve", "--no-such-option"],
                                  ["validate"], ["template"], ["--bogus"],
                                  ["solve", "a.xlsx", "b.xlsx"]])
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert "usage:" in err and "Traceback" not in err


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["solve", "--help"])
    assert exc.value.code == 0
    assert "--scenario" in capsys.readouterr().out


# ---------------------------------------------------------------- real entry points


def test_python_dash_m_version():
    proc = subprocess.run([sys.executable, "-m", "optimizer", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("irel-alloc ")


def test_python_dash_m_usage_error_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "optimizer", "validate",
                           str(tmp_path / "missing.xlsx")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr


def test_installed_command_solves(tmp_path):
    exe = shutil.which("irel-alloc") or str(Path(sys.executable).with_name("irel-alloc"))
    assert Path(exe).exists(), exe
    out_path = tmp_path / "r.xlsx"
    proc = subprocess.run([exe, "solve", "-o", str(out_path)], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "status: optimal" in proc.stdout
    assert out_path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


def test_cli_solve_works_after_the_library_was_imported(tmp_path, tiny_xlsx):
    code = ("import sys, optimizer.run; from optimizer.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    out_path = tmp_path / "r.xlsx"
    proc = subprocess.run([sys.executable, "-c", code, "solve", str(tiny_xlsx), "-o",
                           str(out_path)], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr[-300:]
    assert proc.returncode == 0
    assert out_path.exists()
