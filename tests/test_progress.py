"""Progress on long work: a bar for sweeps, stage lines for solves, silence when not a terminal."""

from __future__ import annotations

import sys

import pytest

from optimizer import progress
from optimizer.progress import progress_printer, stage


class FakeTTY:
    """A terminal that records what is written to it."""

    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def fake_tty(monkeypatch) -> FakeTTY:
    """Make stderr a terminal. Called in the test itself: pytest's capture resets sys.stderr
    between a fixture's setup and the test."""
    fake = FakeTTY()
    monkeypatch.setattr(sys, "stderr", fake)
    monkeypatch.delenv("CI", raising=False)
    return fake


def test_progress_printer_is_silent_when_not_a_tty(capsys):
    assert progress_printer("sweep") is None  # stderr is captured: not a TTY


def test_progress_printer_draws_a_bar_on_a_tty(monkeypatch):
    tty = fake_tty(monkeypatch)
    show = progress_printer("sweep")
    assert show is not None
    show(1, 4)
    show(4, 4)
    assert "sweep [" in tty.text and "4/4" in tty.text and tty.text.endswith("\n")
    monkeypatch.setenv("CI", "true")
    assert progress_printer("sweep") is None


def test_a_quick_stage_leaves_no_line(monkeypatch):
    tty = fake_tty(monkeypatch)
    with stage("reading x.xlsx"):
        pass
    assert tty.text.startswith("reading x.xlsx …") and tty.text.endswith("\r\033[K")
    assert "\n" not in tty.text


def test_a_slow_stage_keeps_its_line_with_its_time(monkeypatch):
    tty = fake_tty(monkeypatch)
    clock = iter([100.0, 102.5])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    with stage("solving"):
        pass
    assert tty.text == "solving … 2.5 s\n"


def test_a_stage_that_fails_ends_its_line(monkeypatch):
    tty = fake_tty(monkeypatch)
    with pytest.raises(ValueError), stage("writing out.xlsx"):
        raise ValueError("disk full")
    assert tty.text.endswith("\r\033[K")  # the error message then starts on a clean line


def test_stages_are_silent_when_quiet_piped_or_in_ci(monkeypatch):
    tty = fake_tty(monkeypatch)
    with stage("solving", quiet=True):
        pass
    monkeypatch.setenv("CI", "true")
    with stage("solving"):
        pass
    assert tty.text == ""
