"""Scoring and selection: pure functions, offline."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from digest.config import ScoringConfig, ScoringWeights, SelectionConfig
from digest.language import reason_text
from digest.models import Entry, Paper, Reason, Scored
from digest.score.rank import (
    apply_rerank,
    code_kind,
    deep_dive_ids,
    find_venue,
    matcher_for,
    rerank_batches,
    score_all,
    score_entry,
    select,
)

DAYS_DIR = Path(__file__).parent / "fixtures" / "days"
CATS = ["cs.CV"]


def entry(title: str = "A paper", abstract: str = "", *, id: str = "2506.00001", **kw: object) -> Entry:
    cross = kw.pop("cross_list", False)
    kw.setdefault("categories", ["cs.CV"])
    return Entry(paper=Paper(id=id, title=title, abstract=abstract, **kw), cross_list=cross)


def cfg(**kw: object) -> ScoringConfig:
    weights = kw.pop("weights", {})
    return ScoringConfig(weights=ScoringWeights(**weights), **kw)


def points(s: Scored, prefix: str) -> float:
    return sum(r.points for r in s.reasons if reason_text(r, "zh").startswith(prefix))


def texts(s: Scored) -> list[str]:
    return [reason_text(r, "zh") for r in s.reasons]


# --- interests ---------------------------------------------------------------------------------------

SR = cfg(interests={"super-resolution": 10})


@pytest.mark.parametrize(
    "title",
    [
        "Image Super-Resolution with Transformers",
        "Image super resolution with transformers",
        "IMAGE SUPERRESOLUTION WITH TRANSFORMERS",
        "Blind super-resolutions of faces",
        "Super\u2010Resolution via diffusion",
    ],
)
def test_interest_is_case_hyphen_and_plural_insensitive(title: str) -> None:
    s = score_entry(entry(title), SR, categories=CATS)
    assert points(s, "兴趣: super-resolution (标题)") == 10


@pytest.mark.parametrize(
    ("keyword", "text", "hit"),
    [
        ("diffusion models", "We train a diffusion model.", True),
        ("diffusion model", "Diffusion Models beat GANs.", True),
        ("VLM", "Modern VLMs fail here.", True),
        ("policy", "learned policies", True),
        ("segmentation", "we study undersegmentation", False),
        ("3D", "we render 3DGS scenes", False),
        ("gan", "an organic texture", False),
    ],
)
def test_interest_matches_whole_words_only(keyword: str, text: str, hit: bool) -> None:
    s = score_entry(entry("Untitled", text), cfg(interests={keyword: 10}), categories=CATS)
    assert (points(s, "兴趣") > 0) is hit


def test_title_match_counts_more_than_abstract() -> None:
    c = cfg(interests={"image restoration": 10})
    title = score_entry(entry("All-in-one image restoration"), c, categories=CATS)
    abstract = score_entry(entry("All-in-one model", "We address image restoration."), c, categories=CATS)
    assert points(title, "兴趣") == 10  # interest_title 1.0 x 10
    assert points(abstract, "兴趣") == 5  # interest_abstract 0.5 x 10
    assert title.score > abstract.score
    assert "兴趣: image restoration (摘要) +5" in texts(abstract)


def test_hf_ai_keywords_count_as_abstract() -> None:
    c = cfg(interests={"gaussian splatting": 8})
    s = score_entry(entry("Scenes", ai_keywords=["3D Gaussian Splatting", "novel views"]), c, categories=CATS)
    assert points(s, "兴趣: gaussian splatting (摘要)") == 4


def test_negative_interest_pushes_down() -> None:
    e = entry("Super-resolution of medical images")
    plain = score_entry(e, SR, categories=CATS)
    down = score_entry(e, cfg(interests={"super-resolution": 10, "medical image": -6}), categories=CATS)
    assert down.score == plain.score - 6
    assert "兴趣(降权): medical image (标题) -6" in texts(down)


def test_positive_interests_are_capped_but_negatives_are_not() -> None:
    many = {f"topic{i}": 10 for i in range(8)}
    title = " ".join(f"topic{i}" for i in range(8))
    c = cfg(interests=many, weights={"interest_cap": 45})
    s = score_entry(entry(title), c, categories=CATS)
    assert points(s, "兴趣") == 45
    assert any(t.startswith("兴趣分封顶 45") for t in texts(s))
    c_neg = cfg(interests={**many, "bad": -20}, weights={"interest_cap": 45})
    s_neg = score_entry(entry(title + " bad"), c_neg, categories=CATS)
    assert points(s_neg, "兴趣") == 25


def test_matcher_is_compiled_once_per_config_content() -> None:
    a = cfg(interests={"diffusion": 5}, authors=["Kaiming He"])
    b = cfg(interests={"diffusion": 5}, authors=["Kaiming He"])
    assert matcher_for(a) is matcher_for(b)
    assert matcher_for(a) is not matcher_for(cfg(interests={"diffusion": 6}))


# --- HF upvotes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("upvotes", "expected"), [(1, 4.0), (3, 8.0), (7, 12.0), (15, 16.0), (1000, 20.0)])
def test_upvotes_are_log_scaled_and_capped(upvotes: int, expected: float) -> None:
    s = score_entry(entry(hf_upvotes=upvotes), cfg(), categories=CATS)
    assert points(s, "HF 🔥") == expected


def test_upvote_reason_and_zero_upvotes() -> None:
    s = score_entry(entry(hf_upvotes=45), cfg(), categories=CATS)
    assert f"HF 🔥 45 赞 +{min(20, round(4 * math.log2(46), 1)):g}" in texts(s)
    assert points(score_entry(entry(hf_upvotes=0), cfg(), categories=CATS), "HF") == 0
    no_weight = cfg(weights={"upvotes_per_log2": 0})
    assert points(score_entry(entry(hf_upvotes=500), no_weight, categories=CATS), "HF") == 0


# --- code ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "kind"),
    [
        ({"abstract": "Code is available at https://github.com/foo/bar."}, "code"),
        ({"comment": "CVPR 2025. Code: gitlab.com/foo/bar"}, "code"),
        ({"github_repo": "https://github.com/foo/bar"}, "code"),
        ({"comment": "Project page: https://foo.github.io/bar/"}, "page"),
        ({"comment": r"Project page: \url{http://refedit.vercel.app}"}, "page"),
        ({"project_page": "https://example.org/p"}, "page"),
        ({"comment": "For video results, see https://youtu.be/XMNCy7J2tuc"}, None),
        ({"comment": "12 pages. Our code will be released soon."}, None),
        ({"abstract": "Data: https://doi.org/10.5281/zenodo.1 and a project we love."}, None),
    ],
)
def test_code_detection(kw: dict[str, str], kind: str | None) -> None:
    assert code_kind(Paper(id="1", title="t", **kw)) == kind


def test_code_adds_points() -> None:
    s = score_entry(entry(comment="Code: https://github.com/a/b"), cfg(), categories=CATS)
    assert "开源代码 +8" in texts(s)
    page = score_entry(entry(project_page="https://x.org"), cfg(), categories=CATS)
    assert "项目主页 +8" in texts(page)
    assert points(score_entry(entry(), cfg(), categories=CATS), "开源") == 0


# --- venues --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "label"),
    [
        ("Accepted to CVPR 2025", "CVPR 2025"),
        ("11 pages, accepted by CVPR2025", "CVPR 2025"),
        ("CVPR 2025", "CVPR 2025"),
        ("ICML 2025 camera ready. Project Page: https://x.github.io", "ICML 2025"),
        ("To appear in ICCV'25", "ICCV 2025"),
        ("Published in SIGGRAPH Asia 2024", "SIGGRAPH Asia 2024"),
        (
            "presented at the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR) 2025",
            "CVPR 2025",
        ),
        ("Accepted by IEEE TPAMI", "TPAMI"),
        ("Accepted by CVPR", "CVPR"),
        ("MM2024 poster, with appendix", "ACM MM 2024"),
        ("CVPRW 2025, 8 pages", "CVPR 2025 Workshop"),
        ("Accepted at eLVM workshop at CVPR 2025", "CVPR 2025 Workshop"),
    ],
)
def test_venue_accepted(comment: str, label: str) -> None:
    v = find_venue(comment)
    assert v is not None and v.label == label


@pytest.mark.parametrize(
    "comment",
    [
        "Submitted to CVPR 2025",
        "Preprint. Submitted to NeurIPS 2025",
        "Under review at ICCV 2025",
        "17 pages, 19 figures, TPAMI under review",
        "Submit to ACM MM2025",
        "underreview of NIPS2025 D&B track",
        "Written as per the requirements of CVPR 2025",
        "This manuscript is the original version submitted to NeurIPS 2024, which was later revised",
        "Accepted to IEEE ICIP 2025",
        "12 pages; the tip of the iceberg",
    ],
)
def test_venue_not_accepted(comment: str) -> None:
    assert find_venue(comment) is None


def test_venue_points_and_journal_ref() -> None:
    s = score_entry(entry(comment="Accepted to CVPR 2025"), cfg(), categories=CATS)
    assert "CVPR 2025 录用 +10" in texts(s)
    w = score_entry(entry(comment="CVPR 2025 Workshop on Neural Fields"), cfg(), categories=CATS)
    assert "CVPR 2025 Workshop 录用 +4" in texts(w)
    j = score_entry(entry(journal_ref="IEEE Transactions on Image Processing, 2024"), cfg(), categories=CATS)
    assert "TIP 2024 录用 +10" in texts(j)
    sub = score_entry(entry(comment="Submitted to CVPR 2025"), cfg(), categories=CATS)
    assert not any("录用" in t for t in texts(sub))


# --- category and authors ------------------------------------------------------------------------------


def test_primary_category_vs_cross_list() -> None:
    primary = score_entry(entry(categories=["cs.CV", "cs.LG"]), cfg(), categories=CATS)
    cross = score_entry(entry(categories=["cs.LG", "cs.CV"], cross_list=True), cfg(), categories=CATS)
    assert "主类别 cs.CV +5" in texts(primary)
    assert primary.score - cross.score == 5
    explicit = score_entry(
        entry(categories=["cs.CV", "eess.IV"], primary_category="eess.IV"), cfg(), categories=CATS
    )
    assert points(explicit, "主类别") == 0
    assert (
        points(score_entry(entry(categories=["eess.IV"]), cfg(), categories=["cs.CV", "eess.IV"]), "主类别")
        == 5
    )


def test_watched_author_full_name_case_insensitive() -> None:
    c = cfg(authors=["kaiming he", "Saining Xie"])
    hit = score_entry(entry(authors=["Xinlei Chen", "Kaiming He"]), c, categories=CATS)
    assert "关注作者: kaiming he +15" in texts(hit)
    both = score_entry(entry(authors=["KAIMING HE", "Saining  Xie"]), c, categories=CATS)
    assert points(both, "关注作者") == 15  # one bonus, both names listed
    assert "Saining Xie" in next(t for t in texts(both) if t.startswith("关注作者"))
    for authors in (["Kaiming Hee"], ["K. He"], ["He Kaiming Jr"]):
        assert points(score_entry(entry(authors=authors), c, categories=CATS), "关注作者") == 0
    accent = score_entry(entry(authors=["Zoé Müller"]), cfg(authors=["Zoe Muller"]), categories=CATS)
    assert points(accent, "关注作者") == 15


# --- whole days ----------------------------------------------------------------------------------------


def load_days() -> list[Entry]:
    out: list[Entry] = []
    for jsonl in sorted(DAYS_DIR.glob("arxiv_cs.CV_*.jsonl")):
        day = jsonl.stem.removeprefix("arxiv_cs.CV_")
        hf = {
            i["paper"]["id"]: i["paper"]
            for i in json.loads((DAYS_DIR / f"hf_daily_papers_{day}.json").read_text())
        }
        for line in jsonl.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            h = hf.get(row["id"], {})
            out.append(
                entry(
                    row["title"],
                    row["abstract"],
                    id=row["id"],
                    authors=row["authors"],
                    categories=row["categories"],
                    comment=row.get("comment"),
                    hf_upvotes=h.get("upvotes"),
                    github_repo=h.get("githubRepo"),
                    project_page=h.get("projectPage"),
                    ai_keywords=h.get("ai_keywords") or [],
                )
            )
    return out


@pytest.fixture(scope="module")
def days() -> list[Entry]:
    entries = load_days()
    assert len(entries) > 700
    return entries


BIG = cfg(
    interests={"diffusion": 30, "video": 30, "3D": 25, "multimodal": 20, "medical": -40, "MRI": -40},
    authors=["Steven M. Seitz"],
)


def test_scores_stay_in_0_100_on_real_days(days: list[Entry]) -> None:
    scored = score_all(days, BIG, categories=CATS)
    assert len(scored) == len(days)
    assert all(0 <= s.score <= 100 for s in scored)
    assert max(s.score for s in scored) > 50 and min(s.score for s in scored) == 0  # the range is used
    for s in scored:
        total = sum(r.points for r in s.reasons)
        assert s.score == pytest.approx(min(100, max(0, total)), abs=0.05)
        assert all(r.points != 0 for r in s.reasons)


def test_clip_at_100_and_0() -> None:
    hot = cfg(interests={"x": 100}, weights={"interest_cap": 100})
    assert score_entry(entry("x", hf_upvotes=10_000), hot, categories=CATS).score == 100
    cold = cfg(interests={"x": -100})
    assert score_entry(entry("x"), cold, categories=CATS).score == 0


def test_score_all_is_deterministic_and_sorted(days: list[Entry]) -> None:
    first = score_all(days, BIG, categories=CATS)
    shuffled = days[:]
    random.Random(7).shuffle(shuffled)
    again = score_all(shuffled, BIG, categories=CATS)
    assert [s.model_dump() for s in first] == [s.model_dump() for s in again]
    keys = [(-s.score, s.id) for s in first]
    assert keys == sorted(keys)


# --- rerank --------------------------------------------------------------------------------------------


def test_apply_rerank_adds_scaled_points_once() -> None:
    base = score_entry(entry(), cfg(), categories=CATS)
    r = apply_rerank(base, 7, "与超分辨率高度相关", cfg())
    assert r.score == base.score + 21
    assert reason_text(r.reasons[-1], "zh") == "LLM 相关性 7/10: 与超分辨率高度相关 +21"
    again = apply_rerank(r, 2, "一般", cfg())
    assert again.score == base.score + 6
    assert sum(t.startswith("LLM 相关性") for t in texts(again)) == 1
    assert apply_rerank(base, 15, "", cfg()).score == base.score + 30  # relevance clipped to 10


@pytest.mark.parametrize(
    ("m", "top"), [(0, 80), (1, 80), (40, 80), (41, 80), (80, 80), (81, 80), (200, 120), (200, 81), (5, 3)]
)
def test_rerank_batches(m: int, top: int) -> None:
    ids = [f"id{i}" for i in range(m)]
    batches = rerank_batches(ids, top)
    kept = min(m, top)
    assert len(batches) == math.ceil(kept / 40)
    assert all(1 <= len(b) <= 40 for b in batches)
    assert [i for b in batches for i in b] == ids[:kept]


def test_rerank_batches_custom_size() -> None:
    assert [len(b) for b in rerank_batches([str(i) for i in range(10)], 10, size=4)] == [4, 3, 3]


# --- selection -----------------------------------------------------------------------------------------


def sel_fixture() -> tuple[list[Entry], list[Scored]]:
    scores = {"a": 90, "b": 80, "c": 70, "d": 30, "e": 20, "f": 10}
    upvotes = {"e": 50, "f": 5, "d": 1}
    entries = [entry(id=i, hf_upvotes=upvotes.get(i)) for i in scores]
    scored = [Scored(id=i, score=s) for i, s in scores.items()]
    return entries, scored


def ids(picks: list) -> list[str]:
    return [p.id for p in picks]


def test_select_top_n_with_min_score() -> None:
    entries, scored = sel_fixture()
    assert ids(select(entries, scored, SelectionConfig(analyze=2, always_include_hf_top=0))) == ["a", "b"]
    got = select(entries, scored, SelectionConfig(analyze=10, min_score=25, always_include_hf_top=0))
    assert ids(got) == ["a", "b", "c", "d"]
    assert select(entries, scored, SelectionConfig(analyze=0)) == []


def test_select_always_includes_hf_top_within_budget() -> None:
    entries, scored = sel_fixture()
    # e (50 upvotes, score 20, below min_score) takes a slot first; the rest go by score
    got = select(entries, scored, SelectionConfig(analyze=3, min_score=50, always_include_hf_top=1))
    assert ids(got) == ["a", "b", "e"]
    got2 = select(entries, scored, SelectionConfig(analyze=3, always_include_hf_top=2))
    assert ids(got2) == ["a", "e", "f"]
    # the budget is a hard limit
    assert ids(select(entries, scored, SelectionConfig(analyze=1, always_include_hf_top=3))) == ["e"]


def test_hf_top_is_included_by_default() -> None:
    entries, scored = sel_fixture()
    assert SelectionConfig().always_include_hf_top == 1
    assert "e" in ids(select(entries, scored, SelectionConfig(analyze=3)))


def test_select_records_why_each_paper_was_picked() -> None:
    entries, scored = sel_fixture()
    interest = Reason(points=6, text="兴趣: x (标题) +6", kind="interest")
    scored = [s.model_copy(update={"reasons": [interest]}) if s.id == "c" else s for s in scored]
    picks = select(entries, scored, SelectionConfig(analyze=3, always_include_hf_top=1))
    assert [(p.id, p.reason) for p in picks] == [("a", "score"), ("c", "interest"), ("e", "hf_top")]
    plain = select(
        entries, scored, SelectionConfig(analyze=2, always_include_hf_top=0, prefer_interest_matches=False)
    )
    assert [(p.id, p.reason) for p in plain] == [("a", "score"), ("b", "score")]


def test_deep_dive_ids_are_the_first_n() -> None:
    assert deep_dive_ids(["a", "b", "c"], 2) == ["a", "b"]
    assert deep_dive_ids(["a"], 2) == ["a"]
    assert deep_dive_ids(["a", "b"], 0) == []


def test_config_rejects_interest_without_letters() -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        ScoringConfig(interests={" - ": 5})


def test_interest_matches_are_selected_before_hot_off_topic_papers():
    from digest.config import ScoringConfig, SelectionConfig
    from digest.models import Entry, Paper
    from digest.score.rank import score_all, select

    cfg = ScoringConfig(interests={"super-resolution": 2})
    hot = Entry(
        paper=Paper(
            id="2506.00001",
            title="A hot LLM agent paper",
            abstract="Code: https://github.com/a/b",
            categories=["cs.CV"],
            primary_category="cs.CV",
            hf_upvotes=300,
        )
    )
    match = Entry(
        paper=Paper(
            id="2506.00002",
            title="Video super resolution",
            abstract="We propose a model.",
            categories=["cs.CV"],
            primary_category="cs.CV",
        )
    )
    scored = score_all([hot, match], cfg, categories=["cs.CV"])
    assert scored[0].id == "2506.00001"  # the hot paper scores higher
    no_hf = {"always_include_hf_top": 0}
    assert ids(select([hot, match], scored, SelectionConfig(analyze=1, **no_hf))) == ["2506.00002"]
    assert ids(
        select([hot, match], scored, SelectionConfig(analyze=1, prefer_interest_matches=False, **no_hf))
    ) == ["2506.00001"]
    assert ids(select([hot, match], scored, SelectionConfig(analyze=2))) == ["2506.00001", "2506.00002"]
    # by default the hot paper, HF's top of the day, keeps one slot whatever the interests
    assert select([hot, match], scored, SelectionConfig(analyze=1)) == [("2506.00001", "hf_top")]


def test_reasons_are_data_worded_per_language_at_render_time():
    from digest.config import ScoringConfig, SelectionConfig
    from digest.models import Entry, Paper, Reason
    from digest.score.rank import apply_rerank, matches_interest, score_all, select

    cfg = ScoringConfig(interests={"super-resolution": 5})
    e = Entry(
        paper=Paper(
            id="2506.00009",
            title="Fast super-resolution",
            abstract="We propose X.",
            categories=["cs.CV"],
            primary_category="cs.CV",
            hf_upvotes=7,
        )
    )
    s = score_all([e], cfg, categories=["cs.CV"])[0]
    assert all(not r.text for r in s.reasons)  # no pre-formatted text: kind, points and detail only
    interest = next(r for r in s.reasons if r.kind == "interest")
    assert interest.detail == {"kw": "super-resolution", "where": "title"}
    assert "兴趣: super-resolution (标题) +5" in [reason_text(r, "zh") for r in s.reasons]
    assert "interest: super-resolution (title) +5" in [reason_text(r, "en") for r in s.reasons]
    assert "super-resolution+5" in [reason_text(r, "en", short=True) for r in s.reasons]
    assert "HF 🔥 7 upvotes" in " ".join(reason_text(r, "en") for r in s.reasons)
    assert matches_interest(s) and ids(select([e], [s], SelectionConfig(analyze=1))) == ["2506.00009"]
    reranked = apply_rerank(apply_rerank(s, 8, "close", cfg), 4, "less", cfg)
    assert [reason_text(r, "en") for r in reranked.reasons if r.kind == "rerank"] == [
        "LLM relevance 4/10: less +12"
    ]
    legacy = Reason(points=5, text="关键词 diffusion +5", kind="interest")  # stored before reasons were data
    assert reason_text(legacy, "en") == "关键词 diffusion +5"
