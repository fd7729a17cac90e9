"""One exception hierarchy for everything a user can get wrong or run into.

The CLI maps each class to an exit code (README: commands): InputError 2, InfeasibleError 3,
SolverError 4. Library users catch :class:`IrelError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can."""

    sheet: str
    row: int | None
    column: str | None
    found: Any
    expected: str
    cell: str | None = None
    """Excel address such as ``F14`` when the column position is known."""

    def __str__(self) -> str:
        where = self.sheet
        if self.cell:
            where += f"!{self.cell}"
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        if parts:
            where += f" ({', '.join(parts)})"
        found = "blank" if self.found is None or self.found == "" else repr(self.found)
        return f"{where}: found {found}; expected {self.expected}"


class InputWarning(Problem):
    """Something in the input that is read past but that the planner should see (an unknown
    column or sheet, a discount rate that looks too high, ...). Never stops a run."""


class IrelError(Exception):
    """Base class of every error the tool raises on purpose."""

    exit_code = 1


class InputError(IrelError):
    """The input (workbook, frames, path or option) is invalid. Lists every problem."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | str, *, source: str = ""):
        if isinstance(problems, str):
            self.problems: list[Problem] = []
            message = problems
        else:
            self.problems = list(problems)
            head = f"{len(self.problems)} problem(s) in {source or 'the input'}:"
            message = "\n".join([head, *(f"  - {p}" for p in self.problems)])
        super().__init__(message)


class OutputError(IrelError):
    """The result cannot be written where asked (open in Excel, no permission, ...)."""

    exit_code = 2


class InfeasibleError(IrelError):
    """The model has no feasible solution (strict mode); carries the explanation."""

    exit_code = 3

    def __init__(self, message: str, result: Any = None):
        super().__init__(message)
        self.result = result


class SolverError(IrelError):
    """HiGHS failed or stopped without an optimal solution."""

    exit_code = 4
