"""Score papers 0-100 with reader-facing reasons, and pick which ones the LLM analyses (pure, no I/O)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from digest.config import ScoringConfig, SelectionConfig
from digest.models import Entry, Paper, Pick, PickReason, Reason, Scored

# Hyphens, dashes, underscores, slashes and spaces are all the same to an interest; zero of them too
# ("super-resolution" = "super resolution" = "superresolution").
_SEP = r"[\s\-\u2010-\u2015_/]*"
_SPLIT = re.compile(r"[\s\-\u2010-\u2015_/]+")

# --- code and project pages -------------------------------------------------------------------------

_CODE_HOST = re.compile(
    r"(?i)(?<![\w.])(?:https?://)?(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|gitee\.com|codeberg\.org"
    r"|anonymous\.4open\.science|huggingface\.co/(?!papers\b)[\w\-]+)/[\w.\-]+"
)
_PAGE_HOST = re.compile(r"(?i)(?<![\w.])[\w\-]+\.github\.io\b")
_URL = re.compile(r"(?i)(?:https?://|www\.)[^\s{}()<>\[\],;\"']+")
# A URL counts as a project page only when introduced as one; data and video hosts never do.
_PAGE_CUE = re.compile(r"(?i)\b(?:project|page|web\s?site|homepage|home page|demo|code|repo(?:sitory)?)\b")
_NOT_PAGE = re.compile(r"(?i)arxiv\.org|doi\.org|youtube\.com|youtu\.be|vimeo\.com|drive\.google|zenodo\.org")

# --- venues ----------------------------------------------------------------------------------------

# (display name, pattern). Acronyms are case-sensitive (so "tip" or "mm" in prose never fire), full names not.
# A trailing W on the main CV acronyms marks the workshop proceedings (CVPRW).
_VENUES: tuple[tuple[str, str], ...] = (
    ("SIGGRAPH Asia", r"SIGGRAPH\s*Asia"),
    ("SIGGRAPH", r"SIGGRAPH"),
    ("CVPR", r"CVPR(?P<w1>W)?|(?i:Computer\s+Vision\s+and\s+Pattern\s+Recognition)"),
    (
        "ICCV",
        r"ICCV(?P<w2>W)?|(?i:International\s+Conference\s+on\s+Computer\s+Vision)(?!\s+(?i:Theory|and))",
    ),
    ("ECCV", r"ECCV(?P<w3>W)?|(?i:European\s+Conference\s+on\s+Computer\s+Vision)"),
    ("NeurIPS", r"NeurIPS|NIPS|(?i:Neural\s+Information\s+Processing\s+Systems)"),
    ("ICLR", r"ICLR|(?i:International\s+Conference\s+on\s+Learning\s+Representations)"),
    ("ICML", r"ICML|(?i:International\s+Conference\s+on\s+Machine\s+Learning)"),
    ("AAAI", r"AAAI"),
    ("IJCAI", r"IJCAI"),
    (
        "ACM MM",
        r"ACM\s*MM|(?i:ACM\s+Multimedia)|(?i:ACM\s+International\s+Conference\s+on\s+Multimedia)"
        r"|MM(?=\s?'?(?:20)?\d\d(?!\d))",
    ),
    ("WACV", r"WACV|(?i:Winter\s+Conference\s+on\s+Applications\s+of\s+Computer\s+Vision)"),
    ("BMVC", r"BMVC|(?i:British\s+Machine\s+Vision\s+Conference)"),
    ("3DV", r"3DV"),
    ("MICCAI", r"MICCAI"),
    ("TPAMI", r"T-?PAMI|(?i:Transactions\s+on\s+Pattern\s+Analysis\s+and\s+Machine\s+Intelligence)"),
    ("IJCV", r"IJCV|(?i:International\s+Journal\s+of\s+Computer\s+Vision)"),
    ("TIP", r"TIP|(?i:Transactions\s+on\s+Image\s+Processing)"),
    ("TOG", r"(?:ACM\s+)?TOG|(?i:ACM\s+Transactions\s+on\s+Graphics)"),
)
_VENUE_RE = re.compile(
    "|".join(f"(?P<v{i}>(?<![A-Za-z])(?:{pat})(?![A-Za-z]))" for i, (_, pat) in enumerate(_VENUES))
)
_YEAR_AFTER = re.compile(r"[\s'’(),:]{0,4}(?:Workshops?\s+)?(?:(20\d\d)|['’](\d\d))(?!\d)")
_YEAR_BEFORE = re.compile(r"(20\d\d)\b[^,.;]{0,40}$")
_ACCEPT = re.compile(
    r"(?i)accept|publish|to appear|appear(?:s|ed)?\s+(?:in|at)|present(?:ed)?\s+at|camera[\s-]?ready"
    r"|proceedings|\boral\b|spotlight|highlight"
)
_NOT_YET = re.compile(
    r"(?i)submit|submission|under\s*review|in\s+review|for\s+review|review(?:ing)?\s+at|requirement|format"
    r"|template|\bstyle\b|reject"
)
_WORKSHOP = re.compile(
    r"(?i)workshop|\bNTIRE\b|challenge|\bdemo(?:nstration)?s?\b|extended abstract|tiny paper"
)
_SENTENCE = re.compile(r"(?<=[.;!?])\s+|;")


@dataclass(frozen=True)
class _Interest:
    keyword: str
    weight: float
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Matcher:
    """Interest and author patterns compiled once per (interests, authors) of a config."""

    interests: tuple[_Interest, ...]
    authors: dict[str, str]  # normalised full name -> name as configured


@dataclass(frozen=True)
class Venue:
    """An accepted/published venue found in a comment or journal reference."""

    name: str
    year: int | None
    workshop: bool

    @property
    def label(self) -> str:
        """E.g. "CVPR 2025 Workshop"."""
        parts = (
            [self.name] + ([str(self.year)] if self.year else []) + (["Workshop"] if self.workshop else [])
        )
        return " ".join(parts)


def _token_pattern(token: str) -> str:
    """One keyword word, matching its singular and plural forms."""
    t = token.lower()
    if len(t) > 3 and t.endswith("ies"):
        return re.escape(t[:-3]) + "(?:y|ies)"
    if len(t) > 2 and t.endswith("y") and t[-2] not in "aeiou":
        return re.escape(t[:-1]) + "(?:y|ies)"
    if len(t) > 4 and t.endswith(("sses", "xes", "ches", "shes")):
        t = t[:-2]
    elif len(t) > 3 and t.endswith("s") and not t.endswith(("ss", "us", "is")):
        t = t[:-1]
    return re.escape(t) + "(?:e?s)?"


def interest_pattern(keyword: str) -> re.Pattern[str]:
    """Whole-word/phrase pattern for an interest: case-, hyphen/space- and plural-insensitive."""
    tokens = [t for t in _SPLIT.split(keyword.strip()) if t]
    if not tokens:
        raise ValueError(f"empty interest keyword {keyword!r}")
    body = _SEP.join(_token_pattern(t) for t in tokens)
    return re.compile(rf"(?<![0-9a-z]){body}(?![0-9a-z])", re.IGNORECASE)


def _norm_name(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join(re.sub(r"[.\-‐]", " ", plain).lower().split())


@lru_cache(maxsize=16)
def _build_matcher(interests: tuple[tuple[str, float], ...], authors: tuple[str, ...]) -> Matcher:
    compiled = tuple(_Interest(k, w, interest_pattern(k)) for k, w in interests if w != 0)
    return Matcher(interests=compiled, authors={_norm_name(a): a for a in authors if a.strip()})


def matcher_for(cfg: ScoringConfig) -> Matcher:
    """The compiled matcher of this config (cached: scoring a whole day compiles once)."""
    return _build_matcher(tuple(cfg.interests.items()), tuple(cfg.authors))


def _reason(points: float, kind: str, **fields: object) -> Reason:
    return Reason(points=round(points, 1), kind=kind, detail={k: str(v) for k, v in fields.items()})


def _interest_reasons(paper: Paper, matcher: Matcher, cfg: ScoringConfig) -> list[Reason]:
    w = cfg.weights
    body = " ".join([paper.abstract, " ; ".join(paper.ai_keywords)])
    pos: list[Reason] = []
    neg: list[Reason] = []
    for it in matcher.interests:
        if it.pattern.search(paper.title):
            where, mult = "title", w.interest_title
        elif it.pattern.search(body):
            where, mult = "abstract", w.interest_abstract
        else:
            continue
        points = it.weight * mult
        if points > 0:
            pos.append(_reason(points, "interest", kw=it.keyword, where=where))
        elif points < 0:
            neg.append(_reason(points, "interest_neg", kw=it.keyword, where=where))
    total = sum(r.points for r in pos)
    if total > w.interest_cap:
        # Keep each match visible and let the reasons still add up to the score.
        pos.append(_reason(w.interest_cap - total, "cap", cap=f"{w.interest_cap:g}"))
    return pos + neg


def upvote_points(upvotes: int | None, cfg: ScoringConfig) -> float:
    """Log-scaled HF upvote points: per_log2 x log2(1 + upvotes), capped."""
    if not upvotes or upvotes <= 0:
        return 0.0
    w = cfg.weights
    return min(w.upvotes_cap, w.upvotes_per_log2 * math.log2(1 + upvotes))


def code_kind(paper: Paper) -> str | None:
    """ "code" for a repository link, "page" for a project page, else None."""
    texts = [paper.comment or "", paper.abstract]
    if paper.github_repo or any(_CODE_HOST.search(t) for t in texts):
        return "code"
    if paper.project_page or any(_PAGE_HOST.search(t) for t in texts):
        return "page"
    for text in texts:
        for m in _URL.finditer(text):
            if _NOT_PAGE.search(m.group()):
                continue
            if _PAGE_CUE.search(text[max(0, m.start() - 40) : m.start()]):
                return "page"
    return None


def _year_near(sentence: str, start: int, end: int) -> int | None:
    after = _YEAR_AFTER.match(sentence, end)
    if after:
        return int(after.group(1) or f"20{after.group(2)}")
    before = _YEAR_BEFORE.search(sentence[:start])
    return int(before.group(1)) if before else None


def _venue_in(sentence: str) -> list[Venue]:
    found: list[Venue] = []
    for m in _VENUE_RE.finditer(sentence):
        before = sentence[: m.start()]
        after = sentence[m.end() : m.end() + 30].split(",")[0]
        if _NOT_YET.search(after):
            continue
        last_yes = max((x.end() for x in _ACCEPT.finditer(before)), default=-1)
        last_no = max((x.end() for x in _NOT_YET.finditer(before)), default=-1)
        if last_no > last_yes:
            continue
        idx = next(int(k[1:]) for k, v in m.groupdict().items() if v is not None and k.startswith("v"))
        name = _VENUES[idx][0]
        year = _year_near(sentence, m.start(), m.end())
        workshop = bool(re.search(r"[A-Z]W$", m.group()) or _WORKSHOP.search(sentence))
        found.append(Venue(name=name, year=year, workshop=workshop))
    return found


def find_venue(comment: str | None, journal_ref: str | None = None) -> Venue | None:
    """The venue a paper says it was accepted at / published in; None for "submitted to", "under review"."""
    found: list[Venue] = []
    for text in (comment or "", journal_ref or ""):
        for sentence in _SENTENCE.split(" ".join(text.split())):
            found.extend(_venue_in(sentence))
    if not found:
        return None
    # A main-track acceptance beats a workshop; a stated year beats none; then first mention.
    return min(found, key=lambda v: (v.workshop, v.year is None))


def is_primary(entry: Entry, categories: Sequence[str]) -> bool:
    """Whether the paper's primary category is one of the configured ones (else it is a cross-list)."""
    p = entry.paper
    primary = p.primary_category or (p.categories[0] if p.categories else None)
    if primary is None:
        return not entry.cross_list
    return primary in categories


def score_entry(entry: Entry, cfg: ScoringConfig, *, categories: list[str]) -> Scored:
    """Score one paper 0-100; the reasons' points add up to the unclipped score."""
    paper = entry.paper
    w = cfg.weights
    matcher = matcher_for(cfg)
    reasons: list[Reason] = []
    if w.base:
        reasons.append(_reason(w.base, "base"))
    reasons.extend(_interest_reasons(paper, matcher, cfg))
    up = upvote_points(paper.hf_upvotes, cfg)
    if up:
        reasons.append(_reason(up, "upvotes", n=paper.hf_upvotes))
    kind = code_kind(paper)
    if kind and w.code:
        reasons.append(_reason(w.code, "code" if kind == "code" else "page"))
    venue = find_venue(paper.comment, paper.journal_ref)
    if venue:
        pts = w.venue_workshop if venue.workshop else w.venue
        if pts:
            reasons.append(_reason(pts, "venue", venue=venue.label))
    if w.primary_category and is_primary(entry, categories):
        primary = paper.primary_category or (paper.categories[0] if paper.categories else categories[0])
        reasons.append(_reason(w.primary_category, "primary", cat=primary))
    if matcher.authors and w.author:
        hits = [
            matcher.authors[n]
            for n in dict.fromkeys(_norm_name(a) for a in paper.authors)
            if n in matcher.authors
        ]
        if hits:
            reasons.append(_reason(w.author, "author", names=", ".join(hits)))
    return Scored(id=paper.id, score=_clip(sum(r.points for r in reasons)), reasons=reasons)


def _clip(total: float) -> float:
    return round(min(100.0, max(0.0, total)), 1)


def score_all(entries: Iterable[Entry], cfg: ScoringConfig, *, categories: list[str]) -> list[Scored]:
    """Score every entry; best first, ties by id."""
    scored = [score_entry(e, cfg, categories=categories) for e in entries]
    return sorted(scored, key=lambda s: (-s.score, s.id))


def apply_rerank(scored: Scored, relevance: float, reason: str, cfg: ScoringConfig) -> Scored:
    """Add the LLM rerank's weights.rerank x relevance/10 points (replacing an earlier rerank)."""
    rel = min(10.0, max(0.0, float(relevance)))
    kept = [r for r in scored.reasons if r.kind != "rerank"]
    reasons = kept + [
        _reason(cfg.weights.rerank * rel / 10, "rerank", rel=f"{rel:g}", why=" ".join(reason.split()))
    ]
    return Scored(id=scored.id, score=_clip(sum(r.points for r in reasons)), reasons=reasons)


def rerank_batches(ranked_ids: Sequence[str], top: int, size: int = 40) -> list[list[str]]:
    """The first `top` ids in ceil(M/size) batches of near-equal size, order kept."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    ids = list(ranked_ids)[: max(0, top)]
    if not ids:
        return []
    n = math.ceil(len(ids) / size)
    base, extra = divmod(len(ids), n)
    out: list[list[str]] = []
    start = 0
    for i in range(n):
        end = start + base + (1 if i < extra else 0)
        out.append(ids[start:end])
        start = end
    return out


def select(
    entries: Iterable[Entry], scored: Sequence[Scored], sel: SelectionConfig, *, done: Collection[str] = ()
) -> list[Pick]:
    """Papers to analyse with why each was picked, best score first.

    HF's top `always_include_hf_top` papers by upvotes take their slots first, whatever their score;
    the rest of the `analyze` budget goes to the best papers scoring at least `min_score` (interest
    matches first when `prefer_interest_matches`). The budget is a hard limit, HF picks included.
    Papers in `done` (analysed in an earlier digest) are not picked again: the page links to that one.
    """
    by_id = {s.id: s for s in scored if s.id not in done}
    scored = list(by_id.values())
    budget = sel.analyze
    chosen: dict[str, PickReason] = {}
    if sel.always_include_hf_top and budget:
        hf = [e.paper for e in entries if e.paper.hf_upvotes is not None and e.paper.id in by_id]
        hf.sort(key=lambda p: (-(p.hf_upvotes or 0), -by_id[p.id].score, p.id))
        for pid in list(dict.fromkeys(p.id for p in hf))[: min(sel.always_include_hf_top, budget)]:
            chosen[pid] = "hf_top"
    ranked = sorted(scored, key=lambda s: (-s.score, s.id))
    if sel.prefer_interest_matches:
        # The reader named what they read: papers matching an interest go first, the rest fill the gaps.
        ranked.sort(key=lambda s: not matches_interest(s))
    for s in ranked:
        if len(chosen) >= budget:
            break
        if s.id not in chosen and s.score >= sel.min_score:
            chosen[s.id] = "interest" if sel.prefer_interest_matches and matches_interest(s) else "score"
    return [Pick(pid, chosen[pid]) for pid in sorted(chosen, key=lambda i: (-by_id[i].score, i))]


def matches_interest(scored: Scored) -> bool:
    """Whether a positive interest keyword matched the paper."""
    return any(r.points > 0 and r.kind == "interest" for r in scored.reasons)


def deep_dive_ids(selected: Sequence[str], n: int) -> list[str]:
    """The first n selected papers get the full-text deep dive."""
    return list(selected[: max(0, n)])


def stable_picks(
    fresh: Sequence[Pick],
    held: Sequence[tuple[str, str, str | None]],
    scored: Sequence[Scored],
    sel: SelectionConfig,
) -> tuple[list[tuple[str, str]], dict[str, str | None]]:
    """The day's (id, template) picks and why: `held` ones (already answered, or asked for) keep their slot,
    template and reason; `fresh` picks (HF's top first) fill only the slots still free, the best of them
    the free deep dives. Best score first, papers asked for last."""
    score = {s.id: s.score for s in scored}
    kept = {pid: (tpl, why) for pid, tpl, why in held}
    counted = [tpl for tpl, why in kept.values() if why != "asked"]  # on-demand papers are outside the budget
    room = max(0, sel.analyze - len(counted))
    new = sorted((p for p in fresh if p.id not in kept), key=lambda p: p.reason != "hf_top")[:room]
    new.sort(key=lambda p: (-score.get(p.id, 0.0), p.id))
    deep = set(deep_dive_ids([p.id for p in new], sel.deep_dive - counted.count("deep_dive")))
    template = {
        **{pid: tpl for pid, (tpl, _) in kept.items()},
        **{p.id: "deep_dive" if p.id in deep else "analysis" for p in new},
    }
    reasons = {**{pid: why for pid, (_, why) in kept.items()}, **{p.id: p.reason for p in new}}
    order = sorted(template, key=lambda pid: (reasons[pid] == "asked", -score.get(pid, 0.0), pid))
    return [(pid, template[pid]) for pid in order], {pid: reasons[pid] for pid in order}
