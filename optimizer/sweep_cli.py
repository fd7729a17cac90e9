"""The `scenarios` and `sweep` commands (SPEC §5 and §7)."""

from __future__ import annotations

import time
from pathlib import Path

from .errors import InputError

EXIT_OK = 0


def _axes(args) -> list[tuple[str, str, list]]:
    from .changes import parse_path
    from .sweeps import parse_values

    axes = []
    for mode, options in (("set", args.set or []), ("scale", args.scale or [])):
        for option in options:
            flag = f"--{mode} {option}"
            close = option.rfind("]")
            eq = option.find("=", close + 1) if close >= 0 else option.find("=")
            if eq < 0:
                raise InputError(f"{flag}: expected PATH=VALUES, e.g. "
                                 "'demand.min_t[customer=X_TREI]=0:2500:11'")
            path, values = option[:eq], option[eq + 1:]
            parse_path(path, flag)
            axes.append((path.strip(), mode, parse_values(values, flag)))
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


def cmd_sweep(args) -> int:
    from . import read_inputs
    from .sweeps import SweepEngine, grid, progress_printer, run_scenarios

    started = time.perf_counter()
    inputs = read_inputs(args.input)
    axes = _axes(args)
    scenarios = grid(axes, zip_axes=args.zip, origin="option")
    engine = SweepEngine(inputs, strict=True if args.strict else None)
    frame = run_scenarios(inputs, scenarios, workers=args.workers, dask_address=args.dask,
                          engine=engine, progress=progress_printer("sweep"))
    out = Path(args.output) if args.output else Path("outputs") / f"{Path(args.input).stem}-sweep.xlsx"
    return _finish(inputs, frame, out, title="sweep", axes=axes, strict=engine.strict,
                   started=started)


def cmd_scenarios(args) -> int:
    from . import read_inputs
    from .sweeps import SweepEngine, named_scenarios, progress_printer, run_scenarios

    started = time.perf_counter()
    inputs = read_inputs(args.input)
    scenarios = named_scenarios(inputs, args.only)
    if not scenarios:
        raise InputError(f"{args.input} has no scenarios (the scenarios sheet is empty)")
    engine = SweepEngine(inputs, strict=True if args.strict else None)
    frame = run_scenarios(inputs, scenarios, workers=args.workers, engine=engine,
                          progress=progress_printer("scenarios"))
    out = Path(args.output) if args.output else \
        Path("outputs") / f"{Path(args.input).stem}-scenarios.xlsx"
    return _finish(inputs, frame, out, title="scenarios", axes=[], strict=engine.strict,
                   started=started)


def add_commands(sub, common) -> None:
    p = sub.add_parser("sweep", help="sensitivity sweep: one comparison row per combination")
    p.add_argument("input", help="input workbook")
    p.add_argument("--set", action="append", metavar="PATH=VALUES",
                   help="values to set: a,b,c or start:stop:count (repeatable)")
    p.add_argument("--scale", action="append", metavar="PATH=VALUES",
                   help="factors to multiply by: a,b,c or start:stop:count (repeatable)")
    p.add_argument("--zip", action="store_true",
                   help="pair the options' values instead of the cartesian product")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
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
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    p.add_argument("--strict", action="store_true", help="minimums are hard")
    p.add_argument("-o", "--output", help="comparison workbook (default "
                   "outputs/<input-stem>-scenarios.xlsx)")
    common(p)
    p.set_defaults(func=cmd_scenarios)
