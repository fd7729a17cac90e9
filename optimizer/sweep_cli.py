"""The `scenarios` and `sweep` commands (README: change paths, commands).

Everything that can be checked before solving is: the options, the change paths and
their filter values, the size of the request and the output path. Only then is the model
built.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from .errors import InputError

EXIT_OK = 0
WORKERS_PER_CPU = 4
"""More local workers than this many per CPU only thrash; such a request is refused."""


def _whole_number(low: int, high: int | None = None):
    """An argparse type: a whole number in [low, high], with one clear line otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text.strip().replace(",", "").replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"≥ {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value
    return parse


def _workers():
    cpus = os.cpu_count() or 1
    return _whole_number(1, WORKERS_PER_CPU * cpus)


def _split(option: str) -> tuple[str, str] | None:
    """PATH=VALUES -> (PATH, VALUES); the '=' inside the filter brackets is not the split."""
    close = option.rfind("]")
    eq = option.find("=", close + 1) if close >= 0 else option.find("=")
    return (option[:eq].strip(), option[eq + 1:]) if eq >= 0 else None


def _axes(args) -> list[tuple[str, str, list]]:
    """(path, mode, values) of every --set/--scale; every problem is listed, one per line."""
    from .changes import _target_key, parse_path
    from .sweeps import MAX_SCENARIOS, parse_values

    axes, problems = [], []
    seen: dict[tuple, str] = {}
    limit = getattr(args, "max_scenarios", MAX_SCENARIOS)  # scripts may pass a plain object
    for mode, options in (("set", args.set or []), ("scale", args.scale or [])):
        for option in options:
            flag = f"--{mode} {option}"
            parts = _split(option)
            if "[" in option and "]" not in option:
                problems.append(f"{flag}: the filter has '[' but no closing ']'")
                continue
            if parts is None or not parts[0]:
                problems.append(f"{flag}: expected PATH=VALUES, e.g. "
                                "'demand.min_t[customer=X_TREI]=0:2500:11'")
                continue
            path, values = parts
            try:
                key = _target_key(parse_path(path, flag))
                if key in seen:
                    raise InputError(f"{flag}: the path {path} is already swept by "
                                     f"{seen[key]}; give each path once, with all its values")
                seen[key] = f"--{mode} {option}"
                axes.append((path, mode, parse_values(values, flag, limit=limit)))
            except InputError as exc:
                problems.append(str(exc))
    if problems:
        raise InputError("\n".join(problems))
    if not axes:
        raise InputError("sweep needs at least one --set PATH=VALUES or --scale PATH=VALUES")
    return axes


def _finish(inputs, frame, out: Path, *, title: str, axes, strict: bool, started: float) -> int:
    from .writer import write_comparison

    write_comparison(frame, out, inputs=inputs, axes=axes, strict=strict,
                     seconds=time.perf_counter() - started)
    counts = frame["status"].value_counts().to_dict()
    print(f"{title}: {len(frame) - 1} scenario(s) + base; " +
          ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print(f"wrote {out}")
    return EXIT_OK


def _output(args, suffix: str) -> Path:
    """The output path, checked before anything is read or solved."""
    from .cli import _output_option, check_output

    out = Path(args.output) if args.output else \
        Path("outputs") / f"{Path(args.input).stem}-{suffix}.xlsx"
    return check_output(out, option=_output_option(args), protect=[Path(args.input)])


def cmd_sweep(args) -> int:
    from . import read_inputs
    from .progress import progress_printer
    from .sweeps import SweepEngine, grid, run_scenarios

    started = time.perf_counter()
    axes = _axes(args)  # options first: a typo costs nothing
    scenarios = grid(axes, zip_axes=args.zip, origin="option", max_scenarios=args.max_scenarios)
    out = _output(args, "sweep")
    inputs = read_inputs(args.input)
    engine = SweepEngine(inputs, strict=True if args.strict else None)
    frame = run_scenarios(inputs, scenarios, workers=args.workers, dask_address=args.dask,
                          engine=engine, progress=progress_printer("sweep"))
    return _finish(inputs, frame, out, title="sweep", axes=axes, strict=engine.strict,
                   started=started)


def cmd_scenarios(args) -> int:
    from . import read_inputs
    from .progress import progress_printer
    from .sweeps import SweepEngine, named_scenarios, run_scenarios

    started = time.perf_counter()
    out = _output(args, "scenarios")
    inputs = read_inputs(args.input)
    scenarios = named_scenarios(inputs, args.only)
    if not scenarios:
        raise InputError(f"{args.input} has no scenarios (the scenarios sheet is empty)")
    engine = SweepEngine(inputs, strict=True if args.strict else None)
    frame = run_scenarios(inputs, scenarios, workers=args.workers, engine=engine,
                          progress=progress_printer("scenarios"))
    return _finish(inputs, frame, out, title="scenarios", axes=[], strict=engine.strict,
                   started=started)


def add_commands(sub, common) -> None:
    from .sweeps import MAX_SCENARIOS

    workers_help = (f"local worker processes (default 1; at most {WORKERS_PER_CPU} per CPU)")
    p = sub.add_parser("sweep", help="sensitivity sweep: one comparison row per combination")
    p.add_argument("input", help="input workbook")
    p.add_argument("--set", action="append", metavar="PATH=VALUES",
                   help="values to set: a,b,c or start:stop:count (repeatable)")
    p.add_argument("--scale", action="append", metavar="PATH=VALUES",
                   help="factors to multiply by: a,b,c or start:stop:count (repeatable)")
    p.add_argument("--zip", action="store_true",
                   help="pair the options' values instead of the cartesian product")
    p.add_argument("--workers", type=_workers(), default=1, metavar="N", help=workers_help)
    p.add_argument("--max-scenarios", type=_whole_number(1), default=MAX_SCENARIOS, metavar="N",
                   help=f"refuse a sweep of more than N scenarios (default {MAX_SCENARIOS:,})")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--strict", action="store_true", help="minimums are hard")
    p.add_argument("-o", "--output", help="comparison workbook (default "
                   "outputs/<input-stem>-sweep.xlsx)")
    common(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("scenarios", help="run the named scenarios of the scenarios sheet")
    p.add_argument("input", help="input workbook")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these scenarios")
    p.add_argument("--workers", type=_workers(), default=1, metavar="N", help=workers_help)
    p.add_argument("--strict", action="store_true", help="minimums are hard")
    p.add_argument("-o", "--output", help="comparison workbook (default "
                   "outputs/<input-stem>-scenarios.xlsx)")
    common(p)
    p.set_defaults(func=cmd_scenarios)
