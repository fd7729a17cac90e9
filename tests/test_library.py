"""The library: what the CLI does is importable, typed, and free of side effects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optimizer

PACKAGE = Path(optimizer.__file__).parent


def test_every_export_resolves_and_is_documented():
    for name in optimizer.__all__:
        value = getattr(optimizer, name)
        assert value.__doc__, f"optimizer.{name} has no docstring"


def test_the_package_is_typed():
    assert (PACKAGE / "py.typed").exists()


def test_cli_level_steps_are_exported():
    """Changes, scenarios, batches and comparison workbooks, as the CLI uses them."""
    for name in ("Change", "apply_changes", "apply_scenario", "Scenario", "run_scenarios",
                 "named_scenarios", "grid", "write_comparison", "write_template", "frontier", "hedge"):
        assert name in optimizer.__all__


def test_importing_the_package_loads_no_solver_and_no_pandas():
    code = ("import optimizer, sys; print(sorted(m for m in ('pyomo', 'highspy', 'pandas', 'openpyxl') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
