"""Typed configuration, loaded once at the CLI edge and passed down explicitly."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from digest.errors import ConfigError
from digest.secrets import key_problem, remember

CONFIG_ENV = "DIGEST_CONFIG"
DEFAULT_CONFIG = "config.yaml"
# The providers digest.llm registers (a test keeps the two in step). Checked here, at load, so a wrong
# name fails before any network request.
PROVIDERS = ("gemini", "openai")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


# Score points and weights: the total is clipped to 0-100, so anything beyond +-1000 is a typo.
_Points = Annotated[float, Field(ge=-1000, le=1000)]


class _Strict(BaseModel):
    # inf and NaN pass every ge/le bound check, so they are refused for all float keys at once.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _check_hhmm(value: object) -> object:
    # Before pydantic's own time parsing, which would read YAML's sexagesimal 630 as 00:10:30.
    if isinstance(value, dt.time):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f'must be a quoted "HH:MM" string, got {value!r} '
            '(unquoted 10:30 is read by YAML as the number 630; write "10:30")'
        )
    if not _HHMM.match(value):
        raise ValueError(f'must look like "HH:MM" (24 h), got {value!r}')
    return value


def _minute(value: dt.time) -> dt.time:
    if value.tzinfo is not None or value.second or value.microsecond:
        raise ValueError("must be a whole minute without a time zone")
    return value


# A wall-clock time "HH:MM"; the zone comes from the key it belongs to (timezone, calendar.timezone).
ClockTime = Annotated[dt.time, BeforeValidator(_check_hhmm), AfterValidator(_minute)]


def _check_tz(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from exc
    return value


class CalendarConfig(_Strict):
    timezone: str = "America/New_York"
    announce_time: ClockTime = dt.time(20, 0)
    cutoff_time: ClockTime = dt.time(14, 0)
    holidays: list[dt.date] = Field(default_factory=list)

    _tz = field_validator("timezone")(_check_tz)


class ArxivConfig(_Strict):
    categories: list[str] = Field(default_factory=lambda: ["cs.CV"], min_length=1)
    api_url: str = "https://export.arxiv.org/api/query"
    rss_url: str = "https://rss.arxiv.org/rss"
    pdf_url: str = "https://arxiv.org/pdf"
    include_cross_lists: bool = True
    page_size: int = Field(default=2000, ge=1, le=2000)
    min_interval_s: float = Field(default=3.0, ge=0, le=60)
    max_retries: int = Field(default=4, ge=0, le=20)
    timeout_s: float = Field(default=60.0, gt=0, le=3600)


class HuggingFaceConfig(_Strict):
    enabled: bool = True
    api_url: str = "https://huggingface.co/api/daily_papers"
    lag_days: int = Field(default=1, ge=0, le=7)
    categories: list[str] | None = None
    timeout_s: float = Field(default=30.0, gt=0, le=3600)


class SourcesConfig(_Strict):
    arxiv: ArxivConfig = Field(default_factory=ArxivConfig)
    huggingface: HuggingFaceConfig = Field(default_factory=HuggingFaceConfig)


class ScoringWeights(_Strict):
    """Points each feature can add; the total is clipped to 0-100."""

    base: _Points = 10.0
    interest_title: _Points = 1.0
    interest_abstract: _Points = 0.5
    interest_cap: _Points = 45.0
    upvotes_per_log2: _Points = 4.0
    upvotes_cap: _Points = 20.0
    code: _Points = 8.0
    venue: _Points = 10.0
    venue_workshop: _Points = 4.0
    primary_category: _Points = 5.0
    author: _Points = 15.0
    rerank: _Points = 30.0


class ScoringConfig(_Strict):
    interests: dict[str, _Points] = Field(default_factory=dict)
    authors: list[str] = Field(default_factory=list)
    weights: ScoringWeights = Field(default_factory=ScoringWeights)
    llm_rerank: bool = False
    rerank_top: int = Field(default=80, ge=1, le=2000)

    @field_validator("interests")
    @classmethod
    def _keywords(cls, v: dict[str, float]) -> dict[str, float]:
        for key in v:
            if not re.search(r"\w", str(key)):
                raise ValueError(f"interest {key!r} has no letters or digits")
        return v


class SelectionConfig(_Strict):
    analyze: int = Field(default=10, ge=0, le=500)
    deep_dive: int = Field(default=2, ge=0, le=100)
    min_score: float = Field(default=0.0, ge=0, le=100)
    always_include_hf_top: int = Field(default=1, ge=0, le=100)
    prefer_interest_matches: bool = True


class PriceConfig(_Strict):
    input: float = Field(default=0.30, ge=0, le=10000)
    output: float = Field(default=2.50, ge=0, le=10000)


class LLMConfig(_Strict):
    provider: str = "gemini"
    model: str = "gemini-2.5-flash"
    api_key_env: str | None = "GEMINI_API_KEY"  # None: a keyless endpoint (Ollama, vLLM; provider openai)
    base_url: str | None = None
    rpm: float = Field(default=10, ge=0.1, le=100000)  # below 0.1: one call per 10 min
    max_concurrency: int = Field(default=8, ge=1, le=256)
    papers_per_call: int = Field(default=5, ge=1, le=50)
    rpd: int | None = Field(
        default=None, ge=1, le=10_000_000
    )  # requests per day the key allows; None: unknown
    quota_reset_tz: str = "America/Los_Angeles"  # where the daily quota resets at midnight (gemini: Pacific)
    max_attempts: int = Field(default=6, ge=1, le=50)
    # per paper and date, across runs (null = 2 x max_attempts): a paper that never gets a valid answer
    # stops being retried once it is spent; `digest retry --paper` still forces a new try
    max_attempts_per_day: int | None = Field(default=None, ge=1, le=1000)
    timeout_s: float = Field(default=120.0, gt=0, le=3600)
    temperature: float = Field(default=0.3, ge=0, le=2)
    max_output_tokens: int | None = Field(default=None, ge=256, le=1_000_000)  # None: per provider
    thinking_budget: int | None = Field(default=None, ge=0, le=1_000_000)
    # None: per provider, "schema" for gemini, "object" for openai (DeepSeek and many servers reject
    # json_schema; the prompt lists the keys and validation re-asks)
    json_mode: Literal["schema", "object"] | None = None
    pdf_max_mb: float = Field(default=20.0, gt=0, le=1000)
    pdf_text_chars: int = Field(default=60000, ge=1000, le=10_000_000)
    price_per_million: PriceConfig = Field(default_factory=PriceConfig)
    max_calls_per_run: int | None = Field(default=None, ge=1, le=1_000_000)
    max_cost_usd_per_day: float | None = Field(default=None, gt=0, le=1_000_000)
    prompts_dir: str | None = None

    _quota_tz = field_validator("quota_reset_tz")(_check_tz)

    @field_validator("provider")
    @classmethod
    def _provider(cls, v: str) -> str:
        if v not in PROVIDERS:
            raise ValueError(
                f"unknown provider {v!r} (choose one of: {', '.join(PROVIDERS)}; an OpenAI-compatible endpoint"
                " such as DeepSeek, Qwen, Ollama or vLLM uses provider: openai with base_url)"
            )
        return v

    @model_validator(mode="after")
    def _key_env(self) -> LLMConfig:
        if self.api_key_env is None and not (self.provider == "openai" and self.base_url):
            raise ValueError(
                "api_key_env is null (no key), which only suits provider: openai with a base_url;"
                " name the environment variable that holds the key"
            )
        return self


class OutputConfig(_Strict):
    dir: str = "output"
    site_url: str | None = None  # where output/ is published; feed links are absolute under it

    @field_validator("site_url")
    @classmethod
    def _site_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"https?://[^\s/]+", v):
            raise ValueError(f"must be an http(s) URL such as https://example.org/digest/, got {v!r}")
        return v


class StoreConfig(_Strict):
    path: str = "output/digest.db"
    lock_timeout_s: float = Field(default=600.0, ge=0, le=86400)


class ScheduleConfig(_Strict):
    time: ClockTime = dt.time(9, 30)
    retry_every_minutes: int = Field(default=60, ge=1, le=24 * 60)
    log_file: str | None = None


class Config(_Strict):
    timezone: str = "Asia/Shanghai"
    language: Literal["zh", "en"] = "zh"  # prompts (prompts/ or prompts/en/) and digest labels
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)

    _tz = field_validator("timezone")(_check_tz)
    _source: Path | None = PrivateAttr(default=None)  # the file it was loaded from (None: built-in defaults)

    @property
    def source(self) -> Path | None:
        """The config file this was loaded from, or None for the built-in defaults."""
        return self._source

    @property
    def tz(self) -> ZoneInfo:
        """The reader's time zone."""
        return ZoneInfo(self.timezone)

    def api_key(self) -> str:
        """The LLM key from the environment variable named by llm.api_key_env ("" when unset or keyless)."""
        raw = os.environ.get(self.llm.api_key_env, "") if self.llm.api_key_env else ""
        remember(raw)  # a key handed out is a key the redactor knows, parts included
        return raw.strip()

    def check_api_key(self) -> None:
        """ConfigError naming the variable (never the value) when the key cannot be sent as it is."""
        problem = key_problem(self.api_key())
        if problem is not None:
            raise ConfigError(
                f"the environment variable {self.llm.api_key_env} holds a key with {problem}; "
                "set it to the key alone (llm.api_key_env)"
            )

    def llm_configured(self) -> bool:
        """A key is set, or the endpoint is declared keyless (llm.api_key_env: null)."""
        return self.llm.api_key_env is None or bool(self.api_key())

    def key_not_set(self) -> str:
        """The one message for a key variable that is unset."""
        return (
            f"the environment variable {self.llm.api_key_env} is not set (llm.api_key_env); "
            "set it to the API key for LLM analyses"
        )

    def attempts_per_day(self) -> int:
        """The cumulative attempt budget of one paper on one date (llm.max_attempts_per_day)."""
        return self.llm.max_attempts_per_day or 2 * self.llm.max_attempts

    def hf_categories(self) -> list[str]:
        """Categories an HF-only paper must have one of; [] means any."""
        cats = self.sources.huggingface.categories
        return list(self.sources.arxiv.categories) if cats is None else list(cats)


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    """--config PATH, else $DIGEST_CONFIG, else ./config.yaml."""
    if path:
        return Path(path)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else Path(DEFAULT_CONFIG)


def _anchored(value: str | None, base: Path) -> str | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    # resolve(): "../site" is written as the directory it names, in messages and the doctor's lines alike.
    return str(path if path.is_absolute() else (base / path).resolve())


def _anchor_paths(cfg: Config, base: Path) -> Config:
    """store.path, output.dir, llm.prompts_dir and schedule.log_file made absolute against base."""
    cfg.store.path = _anchored(cfg.store.path, base) or cfg.store.path
    cfg.output.dir = _anchored(cfg.output.dir, base) or cfg.output.dir
    cfg.llm.prompts_dir = _anchored(cfg.llm.prompts_dir, base)
    cfg.schedule.log_file = _anchored(cfg.schedule.log_file, base)
    return cfg


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate the config file, its relative paths anchored at its directory; ConfigError if bad."""
    file = resolve_path(path)
    if not file.exists() and not path and not os.environ.get(CONFIG_ENV):
        # No ./config.yaml and none named: the documented defaults, paths under the working directory.
        return _anchor_paths(Config(), Path.cwd())
    if not file.exists():
        raise ConfigError(f"{file}: config file not found (pass --config PATH or set ${CONFIG_ENV})")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read the config file ({type(exc).__name__}: {exc})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{file}:{where} not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: top level must be a mapping of keys, got {type(data).__name__}")
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check spelling; see the shipped config.yaml for every key)"
        msg = msg.removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{file}: {key}: {msg}{more}") from exc
    cfg._source = file.resolve()
    return _anchor_paths(cfg, cfg._source.parent)


def estimate_cost(stats: dict[str, Any], cfg: Config) -> float:
    """USD estimate from token counts and llm.price_per_million."""
    price = cfg.llm.price_per_million
    out = stats["tokens_out"] + stats.get("tokens_thinking", 0)  # thinking tokens bill as output
    return stats["tokens_in"] / 1e6 * price.input + out / 1e6 * price.output
