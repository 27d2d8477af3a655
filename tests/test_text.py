"""Text helpers: Markdown escaping, LaTeX cleaning, sentence splitting, key findings."""

from __future__ import annotations

import re

import pytest

from digest.text import (
    clean_latex,
    find_code_url,
    key_findings,
    md_block,
    md_escape,
    md_line,
    md_text,
    safe_url,
    split_sentences,
    strip_filler,
    unwrap,
)

# Verbatim from /work/shared/fixtures/days/arxiv_cs.CV_2025-06-02.jsonl (hard wraps kept).
POINT_MOE = (
    "While scaling laws have transformed natural language processing and computer\nvision, 3D point cloud "
    "understanding has yet to reach that stage. This can be\nattributed to both the comparatively smaller "
    "scale of 3D datasets, as well as\nthe disparate sources of the data itself. Point clouds are captured by "
    "diverse\nsensors (e.g., depth cameras, LiDAR) across varied domains (e.g., indoor,\noutdoor), each "
    "introducing unique scanning patterns, sampling densities, and\nsemantic biases. Such domain heterogeneity "
    "poses a major barrier towards\ntraining unified models at scale, especially under the realistic "
    "constraint\nthat domain labels are typically inaccessible at inference time. In this work,\nwe propose "
    "Point-MoE, a Mixture-of-Experts architecture designed to enable\nlarge-scale, cross-domain generalization "
    "in 3D perception. We show that\nstandard point cloud backbones degrade significantly in performance "
    "when\ntrained on mixed-domain data, whereas Point-MoE with a simple top-k routing\nstrategy can "
    "automatically specialize experts, even without access to domain\nlabels. Our experiments demonstrate "
    "that Point-MoE not only outperforms strong\nmulti-domain baselines but also generalizes better to unseen "
    "domains. This work\nhighlights a scalable path forward for 3D understanding: letting the model\ndiscover "
    "structure in diverse 3D data, rather than imposing it via manual\ncuration or domain supervision."
)
GARLIC = (
    "We introduce GARLIC (GAussian Representation LearnIng for spaCe\npartitioning), a novel indexing "
    "structure based on \\(N\\)-dimensional Gaussians\nfor efficiently learning high-dimensional vector "
    "spaces. Our approach is\ninspired from Gaussian splatting techniques, typically used in 3D rendering,\n"
    "which we adapt for high-dimensional search and classification. We optimize\nGaussian parameters using "
    "information-theoretic objectives that balance\ncoverage, assignment confidence, and structural and "
    "semantic consistency. A key\ncontribution is to progressively refine the representation through split "
    "and\nclone operations, handling hundreds of dimensions, thus handling varying data\ndensities. GARLIC "
    "offers the fast building times of traditional space\npartitioning methods (e.g., under \\(\\sim5\\) min "
    "build time for SIFT1M) while\nachieving \\(\\sim50\\%\\) Recall10@10 in low-candidate regimes. "
    "Experimental\nresults on standard benchmarks demonstrate our method's consistency in (a)\n\\(k\\)-NN "
    "retrieval, outperforming methods, such as Faiss-IVF, in fast-recall by\nusing about half their probes "
    "for the same Recall10@10 in Fashion-MNIST, and\n(b) in classification tasks, beating by \\(\\sim15\\%\\) "
    "accuracy other majority\nvoting methods. Further, we show strong generalization capabilities,\n"
    "maintaining high accuracy even with downsampled training data: using just\n\\(1\\%\\) of the training "
    "data returns \\(\\sim 45\\%\\) Recall@1, thus making GARLIC\nquite powerful for applications requiring "
    "both speed and accuracy."
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"a $3\times$ speedup", "a 3× speedup"),
        (r"$\alpha$-blending", "α-blending"),
        (r"runs at $\sim$30 fps", "runs at ~30 fps"),
        (r"$O(n^{2})$ memory", "O(n²) memory"),
        (r"$10^{-3}$ error", "10⁻³ error"),
        (r"a vector $\mathbf{x}$", "a vector x"),
        (r"\textbf{Bold}, \textit{it} and \emph{em}", "Bold, it and em"),
        (r"50\% of R\&D", "50% of R&D"),
        (r"see Fig.~3", "see Fig. 3"),
        (r"\model{} beats \ours", "model beats ours"),
        ("from 2020--2024 --- twice", "from 2020–2024 — twice"),
        (r"under \(\sim5\) min", "under ~5 min"),
        (r"\(k\)-NN", "k-NN"),
        (r"$\frac{1}{2}$ cost", "1/2 cost"),
        (r"$90^\circ$ turn", "90° turn"),
        (r"Isstr{\o}m", "Isstrøm"),
        (r"Schr\"odinger", "Schrödinger"),
        ("costs $5 and $10", "costs $5 and $10"),  # unpaired-looking dollars are not math
        ("about ~50% fewer", "about ~50% fewer"),  # a spaced tilde means "approximately"
        ("plain text stays", "plain text stays"),
    ],
)
def test_clean_latex(raw: str, expected: str) -> None:
    assert clean_latex(raw) == expected


def test_md_escape_neutralises_markdown_and_html() -> None:
    out = md_escape("A [b] | *c* _d_ `e` \\ <script>alert(1)</script>\nnext")
    assert "<" not in out and ">" not in out
    assert "&lt;script&gt;" in out
    assert "\n" not in out
    for raw in ("[", "]", "|", "*", "`"):
        assert re.search(r"(?<!\\)" + re.escape(raw), out) is None, raw
    assert "\\_d\\_" in out


def test_md_escape_keeps_snake_case_readable_and_entities_literal() -> None:
    assert md_escape("GEMINI_API_KEY") == "GEMINI_API_KEY"
    assert md_escape("a &lt; b & c") == "a &amp;lt; b & c"


@pytest.mark.parametrize(
    ("raw", "expected"), [("# Title", "\\# Title"), ("- x", "\\- x"), ("1. x", "1\\. x")]
)
def test_md_escape_line_starts(raw: str, expected: str) -> None:
    assert md_escape(raw) == expected


def test_escaped_text_is_single_line_with_escaped_pipes() -> None:
    assert md_escape("a\n\n  b") == "a b"
    assert md_escape("x | y") == "x \\| y"


def test_md_text_keeps_paragraphs_and_escapes() -> None:
    out = md_text("first  line\nwrapped\n\n<b>second</b>")
    assert out == "first line wrapped\n\n&lt;b&gt;second&lt;/b&gt;"


def test_md_block_drops_model_headings_rules_html_and_filler() -> None:
    raw = "好的，作为一名资深研究员，我将为您分析这篇论文。\n## 我的标题\n本文提出 **X**。\nSetext\n---\n<img src=x onerror=1>"
    out = md_block(raw)
    assert not re.search(r"^#", out, re.M)
    assert not re.search(r"^\s*-{3,}\s*$", out, re.M)
    assert "<img" not in out and "&lt;img" in out
    assert "好的" not in out and "作为一名" not in out
    assert "**X**" in out  # model emphasis survives
    assert md_block("   ") == "—"


def test_strip_filler_keeps_real_content() -> None:
    assert strip_filler("当然，该方法仍有局限。") == "当然，该方法仍有局限。"
    assert strip_filler("作为首个统一框架，本文提出 X。") == "作为首个统一框架，本文提出 X。"
    assert strip_filler("好的。") == "好的。"  # never strip everything


def test_md_line_is_one_line_and_cannot_start_a_list() -> None:
    assert md_line("- a\n- b") == "\\- a - b"


def test_safe_url() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("") is None
    assert safe_url("github.com/a/b") == "https://github.com/a/b"
    assert safe_url("https://github.com/a/b (official)") == "https://github.com/a/b"
    assert safe_url("https://x.org/a_(b)|c]") == "https://x.org/a_%28b%29%7Cc%5D"


def test_find_code_url() -> None:
    assert find_code_url(None, "Code at https://github.com/mbzuai-oryx/DuwatBench.") == (
        "https://github.com/mbzuai-oryx/DuwatBench"
    )
    assert find_code_url("Project page: https://imageomics.github.io/bioclip-2/") is None


def test_split_sentences_respects_abbreviations_and_decimals() -> None:
    text = "We use e.g. ImageNet, i.e. a big set. It beats X et al. By 3.5 points vs. Y. Done."
    assert split_sentences(text) == [
        "We use e.g. ImageNet, i.e. a big set.",
        "It beats X et al. By 3.5 points vs. Y.",
        "Done.",
    ]


def test_key_findings_point_moe() -> None:
    found = key_findings(POINT_MOE)
    assert found == [
        "In this work, we propose Point-MoE, a Mixture-of-Experts architecture designed to enable large-scale, "
        "cross-domain generalization in 3D perception.",
        "We show that standard point cloud backbones degrade significantly in performance when trained on "
        "mixed-domain data, whereas Point-MoE with a simple top-k routing strategy can automatically "
        "specialize experts, even without access to domain labels.",
        "Our experiments demonstrate that Point-MoE not only outperforms strong multi-domain baselines but "
        "also generalizes better to unseen domains.",
    ]


def test_key_findings_garlic_are_verbatim_with_latex_cleaned() -> None:
    found = key_findings(GARLIC)
    assert 1 <= len(found) <= 3
    assert found[0].startswith(
        "We introduce GARLIC (GAussian Representation LearnIng for spaCe partitioning)"
    )
    assert "N-dimensional" in found[0]
    cleaned = clean_latex(unwrap(GARLIC))
    for sentence in found:
        assert sentence in cleaned
        assert "\\" not in sentence and "\n" not in sentence
    # the "(e.g., under ~5 min ...)" sentence must not be cut at "e.g."
    assert all(not s.endswith("e.g.,") for s in split_sentences(cleaned))
    assert any("under ~5 min build time for SIFT1M" in s for s in split_sentences(cleaned))


def test_key_findings_fallback_and_limit() -> None:
    assert key_findings("Images are everywhere. They are big.") == ["Images are everywhere."]
    assert key_findings("") == []
    many = " ".join(f"We propose method {i}." for i in range(6))
    assert key_findings(many, max_sentences=2) == ["We propose method 0.", "We propose method 1."]
