"""How well does the content-only score rank the papers HuggingFace readers upvoted?

On each recorded day (arXiv cs.CV listing + the HF daily list of the same day) the arXiv papers are
ranked by the score with the upvote weight set to 0 and every HF-only field removed, so nothing but the
paper's own text (title, abstract, comment, categories) can help; the HF upvotes are only the ground truth.

Metrics over the papers of the arXiv day list:
  NDCG@10   gain = HF upvotes (0 for papers HF did not list), linear gain, log2 discount
  recall@20 share of the day's top-20 upvoted papers (all of them when fewer) found in the top 20
Baselines: random order (mean of 200 seeded shuffles) and the listing order (jsonl order).

Run from the repo root: python bench/score_eval.py
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digest.config import ScoringConfig, ScoringWeights  # noqa: E402
from digest.models import Entry, Paper  # noqa: E402
from digest.score.rank import score_all  # noqa: E402

CATEGORIES = ["cs.CV"]
DAYS = ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05"]
SHUFFLES = 200

# A CV researcher who follows generative models, 3D and multimodal models, and skims the rest.
# Same for every day; content only (no upvote points).
INTERESTS: dict[str, float] = {
    # generation
    "diffusion": 5,
    "diffusion transformer": 4,
    "flow matching": 5,
    "video generation": 10,
    "video diffusion": 8,
    "image generation": 7,
    "image synthesis": 7,
    "image editing": 7,
    "text-to-image": 5,
    "text-to-video": 6,
    "world model": 6,
    # 3D
    "3D generation": 8,
    "gaussian splatting": 7,
    "3DGS": 7,
    "NeRF": 4,
    "novel view synthesis": 5,
    "3D reconstruction": 4,
    # multimodal models
    "multimodal": 5,
    "vision-language model": 8,
    "VLM": 8,
    "MLLM": 8,
    "multimodal large language model": 8,
    "large language model": 4,
    "reasoning": 6,
    "reinforcement learning": 5,
    "agent": 5,
    "unified": 4,
    "benchmark": 4,
    # low-level vision and dense prediction
    "super-resolution": 6,
    "image restoration": 6,
    "segmentation": 3,
    # outside this reader's interests
    "medical": -6,
    "MRI": -5,
    "remote sensing": -5,
    "hyperspectral": -4,
    "person re-identification": -3,
}

BENCH_CFG = ScoringConfig(
    interests=INTERESTS,
    weights=ScoringWeights(upvotes_per_log2=0.0, upvotes_cap=0.0),
)


def fixtures_dir() -> Path:
    """tests/fixtures/days, else ../shared/fixtures/days."""
    for d in (ROOT / "tests" / "fixtures" / "days", ROOT.parent / "shared" / "fixtures" / "days"):
        if (d / f"arxiv_cs.CV_{DAYS[0]}.jsonl").exists():
            return d
    raise SystemExit("fixtures not found in tests/fixtures/days or ../shared/fixtures/days")


def load_day(folder: Path, day: str) -> list[Entry]:
    """arXiv listing of the day joined by id with the HF daily list (upvotes, repo, page, keywords)."""
    hf: dict[str, dict] = {}
    for item in json.loads((folder / f"hf_daily_papers_{day}.json").read_text(encoding="utf-8")):
        hf[item["paper"]["id"]] = item["paper"]
    entries = []
    for line in (folder / f"arxiv_cs.CV_{day}.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        h = hf.get(row["id"], {})
        paper = Paper(
            id=row["id"],
            title=" ".join(row["title"].split()),
            authors=row.get("authors", []),
            abstract=row.get("abstract", ""),
            categories=row.get("categories", []),
            comment=row.get("comment"),
            hf_upvotes=h.get("upvotes"),
            github_repo=h.get("githubRepo"),
            project_page=h.get("projectPage"),
            ai_keywords=h.get("ai_keywords", []) or [],
            ai_summary=h.get("ai_summary"),
        )
        cross = bool(paper.categories) and paper.categories[0] not in CATEGORIES
        entries.append(Entry(paper=paper, cross_list=cross, on_hf=bool(h)))
    return entries


def content_only(entry: Entry) -> Entry:
    """The entry as the arXiv listing alone shows it: every HF-derived field removed."""
    paper = entry.paper.model_copy(
        update={
            "hf_upvotes": None,
            "github_repo": None,
            "project_page": None,
            "ai_keywords": [],
            "ai_summary": None,
        }
    )
    return entry.model_copy(update={"paper": paper, "on_hf": False})


def ndcg_at(ranking: list[str], gains: dict[str, float], k: int = 10) -> float:
    """NDCG@k with linear gains."""
    dcg = sum(gains.get(pid, 0.0) / math.log2(i + 2) for i, pid in enumerate(ranking[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranking: list[str], gains: dict[str, float], k: int = 20) -> float:
    """Share of the top-k upvoted papers that the ranking's top k contains."""
    relevant = [pid for pid, g in sorted(gains.items(), key=lambda t: (-t[1], t[0])) if g > 0][:k]
    if not relevant:
        return 0.0
    return len(set(ranking[:k]) & set(relevant)) / len(relevant)


def evaluate(folder: Path) -> list[dict[str, float | str]]:
    """Per-day metrics for the score and both baselines."""
    rows: list[dict[str, float | str]] = []
    for day in DAYS:
        entries = load_day(folder, day)
        gains = {e.paper.id: float(e.paper.hf_upvotes or 0) for e in entries}
        listing = [e.paper.id for e in entries]
        scored = score_all([content_only(e) for e in entries], BENCH_CFG, categories=CATEGORIES)
        ranked = [s.id for s in scored]
        rnd_n, rnd_r = 0.0, 0.0
        for seed in range(SHUFFLES):
            order = listing[:]
            random.Random(seed).shuffle(order)
            rnd_n += ndcg_at(order, gains)
            rnd_r += recall_at(order, gains)
        rows.append(
            {
                "day": day,
                "papers": len(entries),
                "upvoted": sum(1 for g in gains.values() if g > 0),
                "score_ndcg": ndcg_at(ranked, gains),
                "score_rec": recall_at(ranked, gains),
                "random_ndcg": rnd_n / SHUFFLES,
                "random_rec": rnd_r / SHUFFLES,
                "listing_ndcg": ndcg_at(listing, gains),
                "listing_rec": recall_at(listing, gains),
            }
        )
    return rows


def main() -> None:
    """Print the per-day table and the averages."""
    folder = fixtures_dir()
    rows = evaluate(folder)
    cols = ["score", "random", "listing"]
    print(f"fixtures: {folder}")
    print("content-only score (upvote weight 0, HF fields removed) vs baselines; gain = HF upvotes\n")
    head = f"{'day':<12}{'papers':>7}{'upvoted':>8}" + "".join(
        f"{c + ' N@10':>14}{c + ' R@20':>14}" for c in cols
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['day']:<12}{r['papers']:>7}{r['upvoted']:>8}"
            + "".join(f"{r[c + '_ndcg']:>14.3f}{r[c + '_rec']:>14.3f}" for c in cols)
        )
    print("-" * len(head))
    n = len(rows)
    avg = {f"{c}_{m}": sum(float(r[f"{c}_{m}"]) for r in rows) / n for c in cols for m in ("ndcg", "rec")}
    print(
        f"{'mean':<12}{'':>7}{'':>8}"
        + "".join(f"{avg[c + '_ndcg']:>14.3f}{avg[c + '_rec']:>14.3f}" for c in cols)
    )
    beats = all(avg[f"score_{m}"] > avg[f"{b}_{m}"] for b in ("random", "listing") for m in ("ndcg", "rec"))
    print(f"\nscore beats both baselines on mean NDCG@10 and recall@20: {'yes' if beats else 'NO'}")


if __name__ == "__main__":
    main()
