"""Progress on long work, for a person at a terminal: nothing when piped, logged or in CI."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def interactive() -> bool:
    """True when stderr is a terminal and not a CI job."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def progress_printer(label: str) -> Callable[[int, int], None] | None:
    """A one-line progress bar on a TTY (stderr); None when piped or in CI."""
    if not interactive():
        return None
    start = time.perf_counter()

    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        rate = done / max(time.perf_counter() - start, 1e-9)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                         f"({rate:,.0f}/s)")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


@contextmanager
def stage(label: str, *, quiet: bool = False) -> Iterator[None]:
    """Show ``label …`` while a step runs; keep the line, with its time, if it took a second.

    A quick step leaves nothing behind, so a small workbook's run looks as it always did; a
    big one says where its time goes (reading, solving, writing) while it goes there.
    """
    if quiet or not interactive():
        yield
        return
    start = time.perf_counter()
    sys.stderr.write(f"{label} …")
    sys.stderr.flush()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        sys.stderr.write(f" {seconds:,.1f} s\n" if seconds >= 1 else "\r\033[K")
        sys.stderr.flush()
