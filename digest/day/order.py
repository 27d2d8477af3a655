"""What the reader asked of a date: one value instead of flags passed down through the layers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Command(StrEnum):
    """The commands that ask the model about a date."""

    RUN = "run"
    RETRY = "retry"
    ANALYZE = "analyze"


@dataclass(frozen=True)
class Order:
    """One command on one date.

    - `refresh_answers` (`run --refresh-analyses`): every pick is asked again, its cached answer and its
      spent daily budget ignored;
    - `named` (`retry --paper`, `analyze`): exactly these papers; a named pick is asked again whatever its
      budget (the reader's explicit choice), `analyze` adds the others as asked for;
    - `by_hand`: a person ran it (the CLI), not the scheduler's hourly retry: a summary whose day's
      attempts are spent is asked again.
    """

    command: Command
    refresh_answers: bool = False
    named: tuple[str, ...] = ()
    by_hand: bool = True

    @classmethod
    def run(cls, *, refresh_answers: bool = False) -> Order:
        """`digest run` (by hand or scheduled: it never re-asks what a day's budget has spent)."""
        return cls(Command.RUN, refresh_answers=refresh_answers, by_hand=False)

    @classmethod
    def retry(cls, named: list[str] | tuple[str, ...] = (), *, by_hand: bool = True) -> Order:
        """`digest retry` (the scheduler's hourly one has by_hand off)."""
        return cls(Command.RETRY, named=tuple(named), by_hand=by_hand)

    @classmethod
    def analyze(cls, named: list[str] | tuple[str, ...]) -> Order:
        """`digest analyze ID...`."""
        return cls(Command.ANALYZE, named=tuple(named))

    @property
    def forces_named(self) -> bool:
        """Named picks are asked again even with an answer or a spent budget (`retry --paper`)."""
        return self.command == Command.RETRY and bool(self.named)

    def command_line(self, date: dt.date) -> str:
        """The command that repeats this order."""
        words = [f"digest {self.command} --date {date}"]
        if self.refresh_answers:
            words.append("--refresh-analyses")
        if self.named:
            words.append(("--paper " if self.command == Command.RETRY else "") + " ".join(self.named))
        return " ".join(words)
