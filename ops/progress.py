"""Live progress of running syncs: rich bars on a terminal, one line per change elsewhere.

One bar per client, advanced by the workflow's main path (extract,
transform, load, record); the description says what the sync does now and
how many task attempts failed. Safe to update from several threads.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Self

from rich.console import Console
from rich.progress import BarColumn, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from ops import Progress, SyncOutcome
from ops.render import styled_status
from ops.sync import MAIN_PATH


class LiveBars:
    """Rich progress bars on a terminal (started and stopped with the block); plain lines elsewhere."""

    def __init__(self, console: Console, *columns: Any) -> None:
        self.console = console
        self.live = console.is_terminal
        self._bars = RichProgress(
            SpinnerColumn(),
            *columns,
            TimeElapsedColumn(),
            console=console,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> Self:
        if self.live:
            self._bars.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live:
            self._bars.stop()


class SyncBars(LiveBars):
    """Progress of one or more syncs on `console` (stderr for the CLI)."""

    def __init__(self, console: Console) -> None:
        super().__init__(
            console,
            TextColumn("[bold]{task.fields[client]:<12}"),
            BarColumn(bar_width=24),
            TextColumn("{task.description}"),
        )
        self._tasks: dict[str, TaskID] = {}
        self._said: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, client_id: str) -> None:
        """A bar for a client's sync, before it has progress to show."""
        with self._lock:
            if client_id not in self._tasks:
                self._tasks[client_id] = self._bars.add_task(
                    "starting", total=len(MAIN_PATH), client=client_id
                )

    def update(self, progress: Progress) -> None:
        """Show a sync's new progress (an `ops.wait` hook)."""
        self.add(progress.client_id)
        text = progress.describe()
        if progress.failing:
            text = f"[red]{text}[/]"
        self._show(progress.client_id, text, progress.steps_done)

    def finish(self, outcome: SyncOutcome) -> None:
        """Show how a sync ended."""
        self.add(outcome.client_id)
        seconds = outcome.duration_seconds
        took = f" in {seconds:.1f} s" if seconds is not None else ""
        text = f"{styled_status(outcome.status)}{took}"
        if outcome.error:
            text += f" ({outcome.error})"
        self._show(outcome.client_id, text, len(MAIN_PATH))

    def _show(self, client_id: str, text: str, completed: int) -> None:
        with self._lock:
            if self.live:
                self._bars.update(self._tasks[client_id], description=text, completed=completed)
            elif self._said.get(client_id) != text:
                self._said[client_id] = text
                self.console.print(f"{client_id}: {text}", highlight=False)


class ReplayBar(LiveBars):
    """Progress of a replay (`ops.replay`'s `on_progress`): a rich bar, or a line per phase."""

    def __init__(self, console: Console) -> None:
        super().__init__(
            console,
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.completed:,}/{task.total:,}"),
        )
        self._task: TaskID | None = None
        self._phase: str | None = None

    def update(self, phase: str, done: int, total: int) -> None:
        """Show how far a phase got (`reading the ERP listing`: records found of wanted)."""
        if not self.live:
            if phase != self._phase:
                self._phase = phase
                self.console.print(f"replay: {phase} ({total:,} records)", highlight=False)
            return
        if self._task is None or phase != self._phase:
            self._phase = phase
            self._task = self._bars.add_task(phase, total=total)
        self._bars.update(self._task, completed=done, total=total)
