"""`irel-alloc`: thin command line over the library (README: commands).

Parses arguments, calls the library, prints a short report and maps errors to exit codes:
0 ok, 2 invalid input or usage, 3 infeasible, 4 solver failure. A user error is printed as
``error: message`` without a traceback.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

from .errors import InputError, IrelError

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER = 0, 2, 3, 4
EXIT_BROKEN_PIPE = 141
"""What a shell reports for a command whose output pipe closed (``irel-alloc … | head``)."""
GC_THRESHOLD = (100_000, 20, 20)
"""The cyclic collector's thresholds for a command: importing pandas and writing a workbook
make millions of objects and almost no cycles, so frequent young collections only cost time
(about 0.15 s of a 1.5 s sweep). Cycles are still collected, 140 times less often."""
REPO = Path(__file__).resolve().parents[1]
BASE_CASE = REPO / "inputs" / "base_case.xlsx"


def default_output(input_path: Path, scenario: str | None = None, suffix: str = "result") -> Path:
    """outputs/<input-stem>[-<scenario>]-result.xlsx, relative to the working folder."""
    stem = input_path.stem + (f"-{scenario}" if scenario else "")
    return Path("outputs") / f"{stem}-{suffix}.xlsx"


def _output_option(args) -> str:
    """How messages name the output: the -o option, or the default path."""
    from .errors import OutputError

    if getattr(args, "output", None) == "":  # `-o ""` must not quietly mean the default
        raise OutputError("-o: the path is empty; give a file name, or leave -o out for the "
                          "default")
    return "-o" if getattr(args, "output", None) else "output (the default; choose one with -o)"


def _input_path(value: str | None) -> Path:
    if value:
        return Path(value)
    if not BASE_CASE.exists():
        raise InputError(f"the bundled base case is not at {BASE_CASE}; pass an INPUT workbook")
    return BASE_CASE


def check_output(path: Path, *, option: str = "-o", protect: Iterable[Path] = ()) -> Path:
    """Check, before anything is solved, that a workbook can be written at ``path``.

    Refuses (OutputError, exit 2) a name that is not .xlsx, a folder, the input workbook, a
    name too long for the file system and a folder without write permission. Missing
    parent folders are fine: the writer creates them (``outputs/`` for the default paths),
    so their nearest existing ancestor is what must be writable. Nothing existing is
    touched: the probe is a temporary file, removed at once.
    """
    import errno
    import os
    import tempfile

    from .errors import OutputError

    def fail(why: str) -> OutputError:
        return OutputError(f"{option} {path}: {why}")

    if not path.name or path.name in (".", ".."):
        raise fail("give a file name, e.g. outputs/result.xlsx")
    if path.suffix.lower() != ".xlsx":
        raise fail(f"the output must be an .xlsx workbook, e.g. {path.with_suffix('.xlsx').name}")
    ancestor = path.parent
    try:
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise fail(f"{ancestor} is a file, not a folder")
        size, name_max = len(os.fsencode(path.name)), os.pathconf(ancestor, "PC_NAME_MAX")
        if size > name_max:
            raise fail(f"the file name is {size} bytes long; this file system allows at most "
                       f"{name_max}. Choose a shorter name")
        if path.is_dir():
            raise fail(f"is a folder; give a file name, e.g. {path / 'result.xlsx'}")
        for keep in protect:
            if keep and (path.resolve() == Path(keep).resolve()
                         or (path.exists() and Path(keep).exists() and path.samefile(keep))):
                raise fail("refusing to overwrite the input workbook; choose another "
                           "output path")
        # The writer writes a temporary file next to the output, then renames it; missing
        # folders are created then (so a run that fails never leaves an empty folder).
        fd, probe = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx.tmp", dir=ancestor)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise fail(f"no permission to write in the folder {ancestor}; choose a folder "
                       "you can write to, or change its permissions") from None
        if exc.errno == errno.ENAMETOOLONG:
            raise fail("the path is too long for this file system (the workbook is first "
                       "written under a temporary name a few characters longer); choose a "
                       "shorter name or folder") from None
        if exc.errno == errno.EROFS:
            raise fail(f"the folder {ancestor} is on a read-only file system; choose "
                       "another folder") from None
        raise fail(f"cannot write there: {exc.strerror or exc}") from None
    return path


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.4f}"
    return str(value)


def _print_result(result, out_path: Path | None) -> None:
    summary = dict(zip(result.tables["summary"]["key"], result.tables["summary"]["value"]))
    if result.optimal:  # an infeasible result lists the checks inside its explanation
        for text in result.warnings:
            print(f"warning: {text}", file=sys.stderr)
    cur = result.inputs.settings["currency"] if result.inputs is not None else ""
    print(f"status: {result.status}" + (" (strict)" if result.strict else ""))
    if result.scenario:
        print(f"scenario: {result.scenario} ({'; '.join(result.changes)})")
    elif result.changes:
        print(f"changes: {'; '.join(result.changes)}")
    if result.optimal:
        print(f"objective: {_fmt(result.objective)} {cur} (present value)")
        for key, label in (("revenue_pv", "revenue (PV)"), ("penalties_pv", "penalties (PV)"),
                           ("domestic_ndpr_share", "domestic NdPr share"),
                           ("treaty_fulfilment_pct", "treaty fulfilment %"),
                           ("treaty_shortfall_t", "treaty shortfall t")):
            if summary.get(key) is not None:
                print(f"{label}: {_fmt(summary[key])}")
        short = result.tables["shortfalls"]
        short = short[short["shortfall_t"] > 1e-6]
        for r in short.itertuples():
            print(f"  shortfall {r.period} {r.customer} {r.product}: {_fmt(r.shortfall_t)} t "
                  f"of {_fmt(r.required_t)} t (penalty {_fmt(r.penalty)})")
    if result.explanation:
        print(result.explanation)
    if out_path is not None:
        print(f"wrote {out_path}")


def cmd_solve(args) -> int:
    from . import read_inputs, solve, write_results
    from .progress import stage

    path = _input_path(args.input)
    changes = set_changes(args.set_values or [])
    out = Path(args.output) if args.output else \
        default_output(path, "-".join(n for n in (args.scenario, "changed" if changes else "") if n)
                       or None)
    check_output(out, option=_output_option(args), protect=[path])
    quiet = bool(args.verbose)  # HiGHS's log goes to the terminal then
    with stage(f"reading {path.name}", quiet=quiet):
        inputs = read_inputs(path)
    # A scenario or --set run also solves the base case, for the vs_base sheet.
    with stage("solving", quiet=quiet):
        result = solve(inputs, strict=True if args.strict else None, scenario=args.scenario,
                       verbose=args.verbose, changes=changes, with_base=True)
    with stage(f"writing {out.name}", quiet=quiet):
        write_results(result, out)
    _print_result(result, out)
    return EXIT_OK if result.optimal else EXIT_INFEASIBLE


def set_changes(options: list[str]) -> list:
    """``--set PATH=VALUE`` options -> changes (the change-path syntax of sweeps)."""
    from .changes import Change, parse_path
    from .sweeps import parse_values

    changes = []
    for option in options:
        flag = f"--set {option}"
        close = option.rfind("]")
        eq = option.find("=", close + 1) if close >= 0 else option.find("=")
        if eq < 0:
            raise InputError(f"{flag}: expected PATH=VALUE, e.g. "
                             "'demand.min_t[customer=X_TREI]=500'")
        path = option[:eq].strip()
        parse_path(path, flag)
        values = parse_values(option[eq + 1:], flag)
        if len(values) != 1:
            raise InputError(f"{flag}: solve takes one value per --set; use `irel-alloc sweep` "
                             "to try several")
        changes.append(Change(path, values[0], "set", flag))
    return changes


def cmd_explain(args) -> int:
    from . import read_inputs, solve, write_results

    path = _input_path(args.input)
    out = Path(args.output) if args.output else default_output(path, args.scenario, "explain")
    check_output(out, option=_output_option(args), protect=[path])
    result = solve(read_inputs(path), strict=True, scenario=args.scenario, verbose=args.verbose)
    write_results(result, out)
    _print_result(result, out)
    if result.optimal:
        print("The model is feasible with every minimum enforced: nothing to explain.")
    return EXIT_OK if result.optimal else EXIT_INFEASIBLE


def cmd_validate(args) -> int:
    from . import read_inputs
    from .changes import apply_scenario, scenario_names

    inputs = read_inputs(args.input)
    for warning in inputs.warnings:  # read past, but the planner should see them
        print(f"warning: {warning}", file=sys.stderr)
    P = inputs.params
    # Scenario rows are data too: check that every named scenario applies cleanly.
    problems = []
    for name in scenario_names(inputs):
        try:
            apply_scenario(inputs, name)
        except InputError as exc:
            text = str(exc)  # most messages already name the scenario and its row
            problems.append(text if f"scenario {name}" in text else f"scenario {name}: {text}")
    from .hedging import uncertainty_problems

    problems += [str(p) for p in uncertainty_problems(inputs)]  # the uncertainty sheet (hedge)
    if problems:
        raise InputError("\n".join(problems))
    print(f"{args.input}: valid. {len(P.PERIODS)} periods, {len(P.MINES)} mines, "
          f"{len(P.CRACKING) + len(P.SEPARATION)} plants, {len(P.PRODUCTS)} products, "
          f"{len(P.CUSTOMERS)} customers, {len(P.DEMAND)} demand rows, "
          f"{len(scenario_names(inputs))} scenarios.")
    return EXIT_OK


def cmd_template(args) -> int:
    from .template import write_template

    check_output(Path(args.output), option="OUT")
    out = write_template(args.output, force=args.force)
    print(f"wrote {out}")
    return EXIT_OK


def cmd_frontier(args) -> int:
    from . import read_inputs
    from .frontiers import format_table, frontier, write_frontier

    path = _input_path(args.input)
    out = Path(args.output) if args.output else default_output(path, args.scenario, "frontier")
    check_output(out, option=_output_option(args), protect=[path])
    result = frontier(read_inputs(path), scenario=args.scenario,
                      strict=True if args.strict else None, verbose=args.verbose)
    write_frontier(result, out)
    print(format_table(result))
    print(f"{result.breakpoints} breakpoint(s) between the current optimum and the most NdPr "
          f"kept at home; {result.solves} HiGHS solves in {result.walk_seconds:.3f} s "
          f"({result.seconds:.2f} s with reading and building the model)")
    print(f"wrote {out}")
    return EXIT_OK


def cmd_hedge(args) -> int:
    from . import read_inputs
    from .hedging import hedge, mpi_rank, write_hedge

    path = _input_path(args.input)
    out = Path(args.output) if args.output else default_output(path, suffix="hedge")
    check_output(out, option=_output_option(args), protect=[path])
    result = hedge(read_inputs(path), strict=True if args.strict else None, method=args.method,
                   verbose=args.verbose)
    if mpi_rank() != 0:  # under mpiexec, rank 0 reports and writes
        return EXIT_OK
    write_hedge(result, out)
    cur = result.inputs.settings["currency"]
    unc = result.uncertainty
    print(f"hedged plan: decisions up to {unc.decide_through} shared by "
          f"{', '.join(f'{s} ({p:g})' for s, p in zip(unc.scenarios, unc.probabilities))}")
    for key in ("expected_objective", "wait_and_see", "evpi", "ev_objective", "vss"):
        print(f"{key}: {_fmt(float(getattr(result, key)))} {cur} (present value)")
    for name, regret in result.regret_base_plan.items():
        print(f"regret of the base plan if {name}: {_fmt(float(regret))} {cur}")
    print(f"wrote {out}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="irel-alloc",
        description="Allocate IREL's rare-earth output between domestic buyers and treaty "
                    "exports (Pyomo LP, HiGHS). Excel in, Excel out.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(p):
        p.add_argument("-v", "--verbose", action="store_true",
                       help="show the solver log")

    p = sub.add_parser("solve", help="solve a workbook and write the result workbook")
    p.add_argument("input", nargs="?", help="input workbook (default: the bundled base case)")
    p.add_argument("-o", "--output", help="result workbook (default: "
                   "outputs/<input-stem>[-<scenario>]-result.xlsx)")
    p.add_argument("--scenario", help="apply a named scenario of the scenarios sheet")
    p.add_argument("--set", action="append", dest="set_values", metavar="PATH=VALUE",
                   help="change one input, e.g. 'demand.min_t[customer=X_TREI]=500' "
                   "(repeatable; applied after --scenario)")
    p.add_argument("--strict", action="store_true", help="minimums are hard (no shortfall)")
    common(p)
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("validate", help="check a workbook and report every problem at once")
    p.add_argument("input", help="input workbook")
    common(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("template", help="write a blank, annotated input workbook")
    p.add_argument("output", help="where to write the template (.xlsx)")
    p.add_argument("--force", action="store_true", help="replace OUT if it already exists")
    common(p)
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("explain", help="strict solve; explain an infeasibility and the "
                       "cheapest repair")
    p.add_argument("input", nargs="?", help="input workbook (default: the bundled base case)")
    p.add_argument("--scenario", help="apply a named scenario first")
    p.add_argument("-o", "--output", help="result workbook (default: "
                   "outputs/<input-stem>[-<scenario>]-explain.xlsx)")
    common(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("frontier", help="the price of keeping NdPr at home: objective against "
                       "domestic NdPr, exact breakpoints")
    p.add_argument("input", nargs="?", help="input workbook (default: the bundled base case)")
    p.add_argument("--scenario", help="apply a named scenario first")
    p.add_argument("--strict", action="store_true", help="minimums are hard (no shortfall)")
    p.add_argument("-o", "--output", help="frontier workbook (default: "
                   "outputs/<input-stem>[-<scenario>]-frontier.xlsx)")
    common(p)
    p.set_defaults(func=cmd_frontier)

    p = sub.add_parser("hedge", help="one plan for the periods up to settings.decide_through "
                       "that holds in every scenario of the uncertainty sheet (stochastic LP)")
    p.add_argument("input", nargs="?", help="input workbook (default: the bundled base case)")
    p.add_argument("-o", "--output", help="hedge workbook (default: outputs/<input-stem>-hedge.xlsx)")
    p.add_argument("--method", choices=("ef", "ph"), default="ef",
                   help="ef: extensive form on this machine (default); ph: progressive hedging, "
                   "over MPI when run under mpiexec")
    p.add_argument("--strict", action="store_true", help="minimums are hard (no shortfall)")
    common(p)
    p.set_defaults(func=cmd_hedge)

    _add_sweep_commands(sub, common)
    return parser


def _add_sweep_commands(sub, common) -> None:
    try:
        from .sweep_cli import add_commands
    except ImportError:  # pragma: no cover - sweeps not installed in this build
        return
    add_commands(sub, common)


def _version() -> str:
    from . import __version__

    return f"irel-alloc {__version__}"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (README: commands)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        return args.func(args)
    except IrelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def entry() -> NoReturn:
    """The ``irel-alloc`` command (and ``python -m optimizer``): :func:`main`, then exit.

    When main returns, the command's files are written and closed. Exit handlers run, then
    the process ends without Python's teardown, which would free every object of pandas,
    openpyxl and the model one by one (about 0.1 s per command). Under mpi4py
    (``python -m mpi4py -m optimizer hedge``) the normal exit finalizes MPI.
    """
    gc.set_threshold(*GC_THRESHOLD)
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # the reader of our output went away: stop quietly, like cat
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_BROKEN_PIPE
    if "mpi4py" in sys.modules:  # pragma: no cover - exercised by tests/test_hedge.py's MPI run
        sys.exit(code)
    atexit._run_exitfuncs()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
