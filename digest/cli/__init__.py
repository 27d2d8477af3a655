"""Command line: the only place that prints and maps errors to exit codes."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from digest.config import CONFIG_ENV, DEFAULT_CONFIG, Config, load_config
from digest.errors import ConfigError, DigestError
from digest.secrets import RedactingFilter, redact

if TYPE_CHECKING:
    from digest.day.report import RunReport

log = logging.getLogger("digest")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (use YYYY-MM-DD)") from None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("digest")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    # SUPPRESS: `digest --config X run` and `digest run --config X` both work; the subcommand's own
    # default would otherwise overwrite the value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="config file (default: $DIGEST_CONFIG, else ./config.yaml)",
    )
    common.add_argument(
        "--verbose", "-v", action="store_true", default=argparse.SUPPRESS, help="debug logs and tracebacks"
    )
    p = argparse.ArgumentParser(
        prog="digest", description="Daily Chinese digest of new computer-vision papers.", parents=[common]
    )
    p.add_argument("--version", action="version", version=f"digest {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run", parents=[common], help="fetch, score, analyse and render the digest of a date"
    )
    run.add_argument("--date", type=_date, help="digest date YYYY-MM-DD (default: today in `timezone`)")
    run.add_argument(
        "--refresh", action="store_true", help="fetch the papers again instead of reusing the store"
    )
    run.add_argument(
        "--refresh-analyses", action="store_true", help="ask the LLM again instead of using the cache"
    )
    retry = sub.add_parser(
        "retry", parents=[common], help="re-run failed/pending analyses of a date, then re-render"
    )
    retry.add_argument("--date", type=_date, required=True)
    retry.add_argument(
        "--paper",
        action="extend",
        nargs="+",
        metavar="ID",
        help="re-run exactly these papers (any paper listed that day; repeatable)",
    )
    analyze = sub.add_parser(
        "analyze",
        parents=[common],
        help="analyse papers of a date on demand (any paper listed that day), re-render",
    )
    analyze.add_argument("--date", type=_date, required=True)
    analyze.add_argument(
        "ids",
        nargs="+",
        metavar="ID",
        help="2506.30017, 2506.30017v1, arXiv:2506.30017 or an arxiv.org abs/pdf URL",
    )
    status = sub.add_parser("status", parents=[common], help="what the store holds for a date")
    status.add_argument("--date", type=_date, help="default: today in `timezone`")
    status.add_argument("--json", action="store_true", help="one JSON object")
    render = sub.add_parser(
        "render", parents=[common], help="re-render a date's digest from the store (no network)"
    )
    render.add_argument("--date", type=_date, required=True)
    sub.add_parser("schedule", parents=[common], help="run every day at schedule.time; catch up; retry later")
    survey = sub.add_parser("survey", parents=[common], help="write output/survey.md from stored analyses")
    survey.add_argument("--since", type=_date)
    survey.add_argument("--until", type=_date)
    survey.add_argument("--field", metavar="TEXT", help="only papers whose 领域 contains TEXT")
    survey.add_argument("--min-score", type=float, metavar="N")
    sub.add_parser("doctor", parents=[common], help="check config, paths, key, endpoints, store and disk")
    prune = sub.add_parser(
        "prune", parents=[common], help="drop the listings of old days, keep analysed papers"
    )
    prune.add_argument("--before", type=_date, required=True, metavar="D", help="dates before D (YYYY-MM-DD)")
    return p


def _setup_logging(verbose: bool, log_file: str | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)  # a new log directory is fine
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        h.setFormatter(fmt)
        h.addFilter(RedactingFilter())  # on the handler: records of every logger, the libraries' too
        root.addHandler(h)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in (
        "httpx",
        "httpx2",
        "httpcore",
        "httpcore2",
        "google_genai",
        "apscheduler.executors",
        "urllib3",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The arxiv package logs each page, and warns about skipped entries without naming them;
    # digest.fetch.arxiv names them instead.
    logging.getLogger("arxiv").setLevel(logging.DEBUG if verbose else logging.ERROR)


def _today(cfg: Config) -> dt.date:
    return dt.datetime.now(cfg.tz).date()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `digest` command."""
    started = time.monotonic()
    args = _parser().parse_args(argv)
    verbose = bool(getattr(args, "verbose", False))
    _setup_logging(verbose)
    try:
        cfg = load_config(getattr(args, "config", None))
        if cfg.source is None:
            print(
                f"digest: no config file (./{DEFAULT_CONFIG} not found, ${CONFIG_ENV} unset): using the built-in "
                f"defaults; output goes to {cfg.output.dir} (pass --config PATH)",
                file=sys.stderr,
            )
        cfg.api_key()  # from here on the redactor knows the key and each part of it
        if args.command in _USES_KEY:
            cfg.check_api_key()  # before any request, arXiv's included
        if getattr(args, "date", None) is not None:
            from digest.fetch.calendar import check_date

            check_date(args.date, today=_today(cfg))
        if args.command == "schedule" and cfg.schedule.log_file:
            _setup_logging(verbose, cfg.schedule.log_file)
        return _dispatch(args, cfg, started)
    except DigestError as exc:
        if verbose:
            log.exception("failed")
        if args.command == "doctor" and isinstance(exc, ConfigError):  # its first check, in its own format
            _say(f"FAIL config: {_one_line(str(exc))}")
            return 1
        _say(f"digest: error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("digest: interrupted", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the CLI is the one place that turns any failure into a message
        if verbose:
            log.exception("unexpected failure")
        _say(
            f"digest: error: {type(exc).__name__}: {_one_line(str(exc))} (run with --verbose for details)",
            file=sys.stderr,
        )
        return 1


_USES_KEY = ("run", "retry", "analyze", "schedule")


def _one_line(text: str, limit: int = 2000) -> str:
    return " ".join(text.split())[:limit]


def _say(text: str, *, file=None) -> None:
    """Print through the redactor: nothing printed holds the key."""
    print(redact(text), file=file or sys.stdout)


def _dispatch(args: argparse.Namespace, cfg: Config, started: float) -> int:
    # The pipeline (and the LLM stack behind it) is imported only by the commands that use it.
    if args.command == "status":
        from digest.commands.status import format_status, status_of

        data = status_of(cfg, args.date or _today(cfg))
        _say(json.dumps(data, ensure_ascii=False, indent=2) if args.json else format_status(data))
        return 0
    if args.command == "schedule":
        from digest.commands.pipeline import Pipeline
        from digest.commands.scheduler import Daily, serve

        daily = Daily(cfg, Pipeline)
        _install_signal_handlers(daily.stop)
        return serve(daily)
    if args.command == "doctor":
        from digest.commands.doctor import run_checks

        checks = run_checks(cfg)
        for check in checks:
            _say(f"{check.status:<4} {check.name}: {check.detail}")
        return 1 if any(c.status == "FAIL" for c in checks) else 0
    if args.command == "prune":
        from digest.commands.prune import prune

        dropped, size_before, size_after = prune(cfg, args.before)
        print(
            f"pruned {dropped} listing(s) before {args.before}; store {size_before / 1e6:.2f} MB -> "
            f"{size_after / 1e6:.2f} MB"
        )
        return 0
    if args.command == "survey":
        from digest.page.survey import write_survey

        path, rows = write_survey(
            cfg, since=args.since, until=args.until, field=args.field, min_score=args.min_score
        )
        _say(f"wrote {path} ({rows} papers) · 0 LLM requests · {time.monotonic() - started:.1f} s")
        return 0
    if args.command == "render":
        from digest.page.publish import render_date

        report = render_date(cfg, args.date)
    else:
        report = _run_pipeline(args, cfg)
    _say(
        _one_line(_closing_line(report, time.monotonic() - started)),
        file=sys.stderr if report.status == "partial" else sys.stdout,
    )
    return report.exit_code


def _run_pipeline(args: argparse.Namespace, cfg: Config) -> RunReport:
    """run / retry / analyze through the pipeline, with the progress display."""
    from digest.cli.display import Display
    from digest.commands.pipeline import Pipeline

    with Display() as display:
        pipe = Pipeline(cfg, on_progress=display.advance, on_stage=display.stage)
        _install_signal_handlers(pipe.request_stop, abort_now=lambda: pipe.session is None)
        try:
            if args.command == "run":
                return pipe.run(
                    args.date or _today(cfg), refresh=args.refresh, refresh_analyses=args.refresh_analyses
                )
            if args.command == "retry":
                return pipe.retry(args.date, args.paper, by_hand=True)
            if args.command == "analyze":
                return pipe.analyze(args.date, args.ids)
            raise ConfigError(f"unknown command {args.command}")  # pragma: no cover - argparse rejects it
        finally:
            pipe.close()


def _closing_line(report: RunReport, elapsed_s: float) -> str:
    """The command's last line: what it wrote, the day's counts, the LLM requests it sent, their cost, time."""
    if report.digest_path is None:
        return f"{report.message} · {elapsed_s:.1f} s"
    c = report.counts
    return (
        f"{report.message} · {report.papers} papers · analysed {c.get('ok', 0)}, failed {c.get('failed', 0)}, "
        f"pending {c.get('pending', 0)} · {report.requests} LLM requests · est. {report.cost_usd:.4f} USD · "
        f"{elapsed_s:.1f} s"
    )


def _install_signal_handlers(
    stop: Callable[[str], None], *, abort_now: Callable[[], bool] = lambda: False
) -> None:
    """SIGTERM/SIGINT: `stop` after the calls in flight; a second signal (or abort_now()) aborts at once."""
    seen = []

    def handler(signum, _frame):
        name = signal.Signals(signum).name
        if seen or abort_now():
            raise KeyboardInterrupt
        seen.append(name)
        log.warning(
            "received %s: finishing the calls in flight, the rest stays pending (again to abort)", name
        )
        stop(f"stopped by {name}")

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
