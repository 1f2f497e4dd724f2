"""Progress of long command-line steps (rebuild, simulate) on stderr, as the reader expects:
a bar redrawn in place on a terminal (`rich`), a few plain lines to a pipe or a file (a
redrawn bar there is thousands of `\\r` frames in a CI log).

    with Progress() as progress:
        step = progress.task("fhir-projector", total=1234)
        step(done, total)          # as often as you like
        progress.say("folded 1234")  # a line above the bar (or a plain line)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

Step = Callable[[int, int], None]


class Progress:
    """Bars on a terminal, lines elsewhere. `marks`: for a pipe, the fractions of a task
    at which a line is printed (default: only when it is done)."""

    def __init__(self, stream: TextIO | None = None, marks: tuple[float, ...] = (1.0,)) -> None:
        self.stream = stream or sys.stderr
        self.marks = marks
        self.tty = self.stream.isatty()
        self._bars: RichProgress | None = None

    def __enter__(self) -> Progress:
        if self.tty:
            self._bars = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
            )
            self._bars.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bars is not None:
            self._bars.stop()

    def say(self, line: str) -> None:
        """A line of text, above the bars on a terminal."""
        if self._bars is not None:
            self._bars.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=self.stream, flush=True)

    def task(self, name: str, total: int) -> Step:
        """A callback `(done, total)` that shows the task's progress."""
        if self._bars is not None:
            bars = self._bars
            # An empty task is done at once (not "0/1" for ever).
            task_id = bars.add_task(name, total=max(total, 1), completed=0 if total else 1)
            return lambda done, total_: bars.update(task_id, completed=done, total=max(total_, 1))
        pending = sorted(self.marks)

        def line(done: int, total_: int) -> None:
            passed = False
            while pending and done >= pending[0] * total_:
                pending.pop(0)
                passed = True
            if passed:  # one line however many marks one step passed
                self.say(f"  {name}: {done}/{total_} ({100 * done // max(total_, 1)}%)")

        return line
