"""The progress display of run / retry / analyze: rich's bar on a terminal, plain log lines under cron."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("digest")


class Display:
    """On a terminal, rich's progress: the stage, n/N LLM jobs, elapsed time and ETA, with log lines printed
    above it through the same console. Otherwise (cron, pipes) plain log lines."""

    def __enter__(self) -> Display:
        self._bar = None
        self._plain: logging.Handler | None = None
        if not sys.stderr.isatty():
            return self
        from rich.console import Console
        from rich.logging import RichHandler
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("[dim]{task.fields[last]}"),
            console=console,
            transient=True,
        )
        # A handler holding the real stderr would write into the bar's line; this one prints above it.
        root = logging.getLogger()
        self._plain = next((h for h in root.handlers if type(h) is logging.StreamHandler), None)
        rich_handler = RichHandler(console=console, show_path=False, log_time_format="%H:%M:%S")
        rich_handler.setFormatter(logging.Formatter("%(message)s"))
        if self._plain is not None:
            root.removeHandler(self._plain)
        root.addHandler(rich_handler)
        self._rich = rich_handler
        self._bar.start()
        self._task = self._bar.add_task("starting", total=None, count="", last="")
        return self

    def stage(self, name: str, jobs: int | None) -> None:
        """A stage starts (fetch, score, analyse, render); `jobs` LLM jobs to run in it, if any."""
        if self._bar is None:
            # cron logs: a stage is worth a line when it sends requests (errors stay the one line of stderr)
            log.log(
                logging.INFO if jobs else logging.DEBUG, "%s%s", name, f": {jobs} LLM jobs" if jobs else ""
            )
            return
        self._bar.reset(self._task, total=jobs, description=name, count=f"0/{jobs}" if jobs else "", last="")

    def advance(self, outcome) -> None:
        """One LLM job ended."""
        label = f"{outcome.job.template} {outcome.job.key}: {outcome.status}" + (
            " (cached)" if outcome.cached else ""
        )
        if self._bar is None:
            log.info(label)
            return
        self._bar.advance(self._task)
        task = self._bar.tasks[0]
        count = f"{int(task.completed)}/{int(task.total)}" if task.total else ""
        self._bar.update(self._task, count=count, last=label, refresh=True)

    def __exit__(self, *exc: object) -> None:
        if self._bar is None:
            return
        self._bar.stop()
        root = logging.getLogger()
        root.removeHandler(self._rich)
        if self._plain is not None:
            root.addHandler(self._plain)
