"""CLI edges that never lose work (issue 7): bad options, bad output paths, failed writes.

Every case runs ``optimizer.cli.main`` in-process on the tiny workbook (tests/tiny.py over
T1..T3, with two named scenarios) and changes one thing. A user error is exit 2 with one
clear line per problem and never a traceback; an output path is checked before anything
is read or solved; an existing file is never destroyed by a failed or interrupted run.
"""

from __future__ import annotations

import errno
import os
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import tiny

import optimizer
from optimizer.cli import main

PERIODS3 = [{"period": t, "years": 1} for t in ("T1", "T2", "T3")]
SCENARIOS = [{"scenario": "lower", "target": "demand.max_t[customer=K1]", "value": 10},
             {"scenario": "higher", "target": "demand.price[customer=K1]", "value": 20}]
K1_MAX = "demand.max_t[customer=K1]"


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """The tiny instance as a workbook (never written to)."""
    path = tmp_path_factory.mktemp("in") / "tiny.xlsx"
    return tiny.write_xlsx(tiny.frames(periods=PERIODS3, scenarios=SCENARIOS), path)


def cli(capsys, *argv) -> tuple[int, str]:
    """(exit code, stderr); argparse's own exits count as exit codes too."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err


def problem_lines(err: str) -> list[str]:
    """The lines that state a problem (argparse also prints a usage line)."""
    return [line for line in err.splitlines() if line.strip() and not line.startswith(("usage:", " "))]


# ---------------------------------------------------------------- 6. fuzzing the options


@pytest.mark.parametrize("argv, words", [
    (["--set", f"{K1_MAX}=1,2", "--workers", "0"], "argument --workers: must be between 1 and"),
    (["--set", f"{K1_MAX}=1,2", "--workers", "abc"], "expected a whole number, got 'abc'"),
    (["--set", f"{K1_MAX}=1,2", "--workers", "1.5"], "expected a whole number, got '1.5'"),
    (["--set", f"{K1_MAX}=1,2", "--max-scenarios", "0"], "argument --max-scenarios: must be ≥ 1"),
    (["--set", ""], "--set : expected PATH=VALUES"),
    (["--set", K1_MAX], "expected PATH=VALUES"),
    (["--set", "=1,2"], "expected PATH=VALUES"),
    (["--set", f"{K1_MAX}="], "no values in ''"),
    (["--set", f"{K1_MAX}=1,,2"], "empty value in '1,,2'; write blank"),
    (["--set", f"{K1_MAX}=0:10:0"], "must be a whole number ≥ 1, got 0"),
    (["--set", f"{K1_MAX}=0:10:-2"], "must be a whole number ≥ 1, got -2"),
    (["--set", f"{K1_MAX}=0:10:2.5"], "must be a whole number ≥ 1, got 2.5"),
    (["--set", f"{K1_MAX}=0:10"], "expected a,b,c or start:stop:count"),
    (["--set", f"{K1_MAX}=0:1:1000000000"], "1,000,000,000 scenarios, more than the limit of 10,000"),
    (["--set", "nosheet.max_t=1"], "unknown sheet 'nosheet'"),
    (["--set", "demand.max_t[customer=K1=5"], "has '[' but no closing ']'"),
    (["--set", "demand.min_t[customer!=K11]=1,2"], "unknown customer 'K11'; did you mean 'K1'?"),
    (["--set", f"{K1_MAX}=1,2", "--set", f"{K1_MAX}=3"], "is already swept by --set"),
    (["--scale", f"{K1_MAX}=2", "--set", "demand.max_t[ customer = K1 ]=3"], "already swept by"),
    (["--set", f"{K1_MAX}=1,2", "--set", "demand.max_t[customer=K1, period=T2]=3"],
     "both change demand.max_t of demand row 2 (K1, A, T2)"),
    ([], "sweep needs at least one --set"),
])
def test_bad_sweep_options_exit_2_with_one_line(capsys, tmp_path, book, argv, words):
    out = tmp_path / "out.xlsx"
    code, err = cli(capsys, "sweep", book, *argv, "-o", out)
    assert code == 2, err
    lines = problem_lines(err)
    assert len(lines) == 1 or "nothing was solved" in err, err
    assert words in err, err
    assert not out.exists()


def test_every_bad_option_is_listed_one_line_each(capsys, tmp_path, book):
    code, err = cli(capsys, "sweep", book, "--set", f"{K1_MAX}=", "--set", "demand.min_t",
                    "--scale", "demand.price=0:1:0", "-o", tmp_path / "o.xlsx")
    assert code == 2
    lines = problem_lines(err)
    assert len(lines) == 3, err
    assert lines[0].startswith(f"error: --set {K1_MAX}=: no values")
    assert lines[1].startswith("--set demand.min_t: expected PATH=VALUES")
    assert lines[2].startswith("--scale demand.price=0:1:0: count")


@pytest.mark.parametrize("argv, words", [
    (["scenarios", "{book}", "--only", "nope"], "--only: unknown scenario 'nope'; expected one of"),
    (["scenarios", "{book}", "--only", "lowr"], "--only: unknown scenario 'lowr'; did you mean 'lower'?"),
    (["scenarios", "{book}", "--workers", "0"], "argument --workers: must be between 1 and"),
    (["scenarios", "{book}", "--workers", "abc"], "expected a whole number, got 'abc'"),
    (["solve", "{book}", "--scenario", "lowr"], "no scenario named 'lowr'"),
    (["explain", "{book}", "--scenario", "nope"], "no scenario named 'nope'"),
])
def test_bad_scenario_options_exit_2(capsys, tmp_path, book, argv, words):
    out = tmp_path / "out.xlsx"
    code, err = cli(capsys, *[a.format(book=book) for a in argv], "-o", out)
    assert code == 2, err
    assert words in err, err
    assert not out.exists()


def test_max_scenarios_is_the_limit(capsys, tmp_path, book):
    """Four values: refused under --max-scenarios 3, run under 4 (base + 4 rows)."""
    out = tmp_path / "four.xlsx"
    code, err = cli(capsys, "sweep", book, "--set", f"{K1_MAX}=0:30:4", "--max-scenarios", "3",
                    "-o", out)
    assert code == 2 and "4 scenarios, more than the limit of 3" in err, err
    assert not out.exists()
    code, err = cli(capsys, "sweep", book, "--set", f"{K1_MAX}=0:30:4", "--max-scenarios", "4",
                    "-o", out)
    assert code == 0, err
    assert len(pd.read_excel(out, sheet_name="results")) == 5


def test_a_product_of_axes_over_the_limit_is_refused(capsys, tmp_path, book):
    """3 axes of 100 values: 1,000,000 combinations, refused at once."""
    axes = [a for p in ("demand.max_t[customer=K1]", "demand.price[customer=K1]",
                        "mines.capacity_t[mine=M1]") for a in ("--set", f"{p}=1:100:100")]
    code, err = cli(capsys, "sweep", book, *axes, "-o", tmp_path / "o.xlsx")
    assert code == 2 and "1,000,000 scenarios" in err and "--max-scenarios" in err, err


# ---------------------------------------------------------------- 5. output paths


COMMANDS = {
    "solve": lambda book, out: ["solve", book, "-o", out],
    "explain": lambda book, out: ["explain", book, "-o", out],
    "sweep": lambda book, out: ["sweep", book, "--set", f"{K1_MAX}=1,2", "-o", out],
    "scenarios": lambda book, out: ["scenarios", book, "-o", out],
    "template": lambda book, out: ["template", out],
}


@pytest.fixture
def nothing_runs(monkeypatch):
    """Reading the input (and writing a template) fails the test: the check comes first."""
    def boom(*args, **kwargs):
        raise AssertionError("the command went past the output check")

    monkeypatch.setattr(optimizer, "read_inputs", boom)
    monkeypatch.setattr("optimizer.template.write_template", boom)


def bad_output(tmp_path: Path, book: Path, kind: str) -> tuple[Path, str]:
    """(an output path that cannot be written, words of its message)."""
    if kind == "not xlsx":
        return tmp_path / "result.csv", "must be an .xlsx workbook"
    if kind == "folder":
        (tmp_path / "d.xlsx").mkdir()
        return tmp_path / "d.xlsx", "is a folder"
    if kind == "name too long":  # tmpfs and ext4 allow 255 bytes
        return tmp_path / ("x" * 300 + ".xlsx"), "the file name is 305 bytes long"
    if kind == "temporary name too long":  # 250 bytes fit, the writer's temporary name does not
        return tmp_path / ("x" * 245 + ".xlsx"), "too long for this file system"
    if kind == "file in the way":
        (tmp_path / "notes.txt").write_text("x")
        return tmp_path / "notes.txt" / "out.xlsx", "is a file, not a folder"
    raise AssertionError(kind)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("kind", ["not xlsx", "folder", "name too long", "temporary name too long",
                                  "file in the way"])
def test_a_bad_output_path_exits_2_before_anything_runs(capsys, tmp_path, book, nothing_runs,
                                                        command, kind):
    out, words = bad_output(tmp_path, book, kind)
    code, err = cli(capsys, *COMMANDS[command](book, out))
    assert code == 2, err
    assert words in err and str(out)[:40] in err, err
    assert len(problem_lines(err)) == 1, err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_empty_output_path_is_an_error_not_the_default(capsys, book, nothing_runs, command):
    code, err = cli(capsys, *COMMANDS[command](book, ""))
    assert code == 2, err
    assert "-o: the path is empty" in err or "OUT .: give a file name" in err, err


@pytest.mark.parametrize("command", ["solve", "explain", "sweep", "scenarios"])
def test_the_input_is_never_the_output(capsys, book, nothing_runs, command):
    before = book.read_bytes()
    code, err = cli(capsys, *COMMANDS[command](book, book))
    assert code == 2 and "refusing to overwrite the input workbook" in err, err
    assert book.read_bytes() == before


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_folder_without_write_permission_exits_2(capsys, tmp_path, book, nothing_runs,
                                                   monkeypatch, command):
    """EACCES as the OS reports it (root passes every permission check, so it is injected)."""
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    code, err = cli(capsys, *COMMANDS[command](book, tmp_path / "out.xlsx"))
    assert code == 2 and f"no permission to write in the folder {tmp_path}" in err, err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a read-only folder")
def test_a_read_only_folder_exits_2(capsys, tmp_path, book, nothing_runs):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, err = cli(capsys, "solve", book, "-o", locked / "out.xlsx")
    finally:
        locked.chmod(0o755)
    assert code == 2 and "no permission to write" in err, err


def test_missing_folders_are_created_when_the_result_is_written(capsys, tmp_path, book):
    out = tmp_path / "new" / "sub" / "r.xlsx"
    code, err = cli(capsys, "solve", book, "-o", out)
    assert code == 0, err
    assert out.is_file()


def test_a_failed_run_leaves_no_folder_behind(capsys, tmp_path, book):
    code, err = cli(capsys, "solve", book, "--scenario", "nope", "-o", tmp_path / "new" / "r.xlsx")
    assert code == 2, err
    assert not (tmp_path / "new").exists()


# ---------------------------------------------------------------- 5. nothing is destroyed


@pytest.fixture
def existing(tmp_path) -> tuple[Path, bytes]:
    """An output file from an earlier run (any bytes will do)."""
    path = tmp_path / "earlier.xlsx"
    path.write_bytes(b"an earlier result, not to be lost")
    return path, path.read_bytes()


def test_a_bad_change_found_during_the_run_keeps_the_old_output(capsys, book, existing):
    """max_t = -5 passes the option checks and is refused when the inputs are read."""
    out, before = existing
    code, err = cli(capsys, "sweep", book, "--set", f"{K1_MAX}=5,-5", "-o", out)
    assert code == 2 and "nothing was solved" in err, err
    assert out.read_bytes() == before


def fail_in_the_middle_of_writing(monkeypatch, error: BaseException) -> None:
    """The zip layer under every .xlsx writer writes one member, then fails."""
    calls = {"n": 0}
    for name in ("writestr", "write"):
        original = getattr(zipfile.ZipFile, name)

        def broken(self, *args, _original=original, **kwargs):
            calls["n"] += 1
            if calls["n"] > 1:
                raise error
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(zipfile.ZipFile, name, broken)


@pytest.mark.parametrize("command", ["solve", "sweep", "scenarios"])
@pytest.mark.parametrize("error, exit_code", [
    (OSError(errno.ENOSPC, "No space left on device"), 2),
    (KeyboardInterrupt(), 130),
])
def test_a_write_that_fails_midway_keeps_the_old_output_and_the_input(
        capsys, monkeypatch, book, existing, command, error, exit_code):
    out, before = existing
    input_before = book.read_bytes()
    fail_in_the_middle_of_writing(monkeypatch, error)
    code, err = cli(capsys, *COMMANDS[command](book, out))
    assert code == exit_code, err
    assert out.read_bytes() == before
    assert book.read_bytes() == input_before
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temporary file left


def test_validate_lists_each_bad_scenario_once_naming_its_rows(capsys, tmp_path):
    """Rows 2 and 3 share the K1/T2 cell; row 4 names no customer."""
    rows = [{"scenario": "s", "target": "demand.min_t[customer=K1]", "value": 5},
            {"scenario": "s", "target": "demand.min_t[customer=K1, period=T2]", "value": 6},
            {"scenario": "typo", "target": "demand.price[customer!=K11]", "value": 6}]
    path = tiny.write_xlsx(tiny.frames(periods=PERIODS3, scenarios=rows), tmp_path / "c.xlsx")
    code, err = cli(capsys, "validate", path)
    assert code == 2
    lines = problem_lines(err)
    assert len(lines) == 2, err
    assert lines[0] == ("error: scenario s: scenarios row 2 (demand.min_t[customer=K1]) and "
                        "scenarios row 3 (demand.min_t[customer=K1, period=T2]) both change "
                        "demand.min_t of demand row 2 (K1, A, T2); a scenario changes each cell "
                        "once: merge them or make their filters disjoint")
    assert "scenarios row 4" in lines[1] and "did you mean 'K1'?" in lines[1]


# --- the command's process ------------------------------------------------------------------

def test_a_closed_output_pipe_ends_the_command_quietly(tmp_path):
    """`irel-alloc solve | head -1`: the reader goes away; no traceback, exit 141 like cat."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "optimizer", "solve", "-o", str(tmp_path / "r.xlsx")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    proc.stdout.close()  # before the command prints anything
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert (tmp_path / "r.xlsx").exists()  # the work itself was done


def test_a_sweep_imports_neither_pyomo_nor_scipy(tmp_path):
    """A sweep assembles its LP from the declarations (numpy only): the Pyomo and scipy
    imports would be a fifth of a 1,000-scenario CLI sweep."""
    import subprocess
    import sys

    code = ("import sys, optimizer\n"
            "from optimizer.sweeps import sweep\n"
            "sweep(optimizer.read_inputs(sys.argv[1]), {'demand.min_t[customer=X_TREI]': [0, 900]})\n"
            "print(sorted(m for m in ('pyomo', 'scipy') if m in sys.modules))\n")
    base = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"
    out = subprocess.run([sys.executable, "-c", code, str(base)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout
