"""Text helpers for the digest: outside text made safe, Markdown escaping, LaTeX cleaning, key findings."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated
from urllib.parse import quote

from pydantic import BeforeValidator

# ---------------------------------------------------------------- outside text made safe (once, on entry)

# C0 controls but tab and newline, DEL and C1 (BEL, ESC, NUL...): they break XML and terminals. Lone
# surrogates and U+FFFE/U+FFFF (JSON can carry them) cannot be written as UTF-8 or XML at all.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Terminal escape sequences (colours, cursor moves, titles) go whole: dropping only their ESC leaves "[31m".
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
# Bidi embeddings, overrides and isolates reorder what a reader sees; prose never needs them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# In titles and names also marks and zero-width characters, which hide text or make look-alikes.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# A run of three backticks or tildes opens a code block at a line start, in a list item or a quote.
_FENCE_RUN = re.compile(r"`{3,}|~{3,}")
_INFO_STRING = re.compile(r"[A-Za-z0-9_+#.-]*")  # a fence line's language tag ("```python"): not content


def _unfence(line: str) -> str | None:
    """The line without fence markers; None when it held nothing but a fence (and its language tag)."""
    if not _FENCE_RUN.search(line):
        return line
    rest = _FENCE_RUN.sub("", line)
    return None if _INFO_STRING.fullmatch(rest.strip()) else rest


def safe_text(s: str) -> str:
    """Prose from outside made safe: no control characters but newline and tab, no bidi controls, no fences."""
    text = _BIDI.sub("", _CONTROL.sub("", _ANSI.sub("", s.replace("\r\n", "\n").replace("\r", "\n"))))
    return "\n".join(line for line in map(_unfence, text.split("\n")) if line is not None)


def safe_name(s: str) -> str:
    """A title, name or id from outside made safe: one line, no control, bidi or zero-width characters."""
    return " ".join(_INVISIBLE.sub("", _CONTROL.sub("", _ANSI.sub("", s))).split())


def _when_str(clean):
    return lambda value: clean(value) if isinstance(value, str) else value


# Field types: applied when data arrives and again when the store or the cache is read back.
SafeText = Annotated[str, BeforeValidator(_when_str(safe_text))]
SafeName = Annotated[str, BeforeValidator(_when_str(safe_name))]

# ---------------------------------------------------------------- Markdown escaping

# `_` is escaped only where it could open or close emphasis (CommonMark never treats an
# underscore between two alphanumerics as emphasis), so snake_case names stay readable.
_INLINE_SPECIAL = re.compile(r"([\\`*\[\]|~])")
_LOOSE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_LINE_START = re.compile(r"^(\s*)(#|[-+*](?=\s|$)|=+\s*$)")
_NUMBERED = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")
_RULE_LINE = re.compile(r"^\s*([-*_=]\s*){3,}$|^\s*(=+|-+)\s*$")
_BLANKS = re.compile(r"\n\s*\n")
_FILLER = (
    re.compile(r"^\s*(好的|当然可以|没问题)[，,。！!]\s*"),
    re.compile(r"^\s*作为一[名位个][^，,。\n]{0,40}[，,][^。\n]*?我[^。\n]*?[。：:]\s*"),
)


def collapse(s: object) -> str:
    """Collapse every run of whitespace (newlines included) to one space."""
    return " ".join(str(s or "").split())


def _html_safe(s: str) -> str:
    return _ENTITY.sub("&amp;", s).replace("<", "&lt;").replace(">", "&gt;")


def _line_start(line: str) -> str:
    """Keep a line from starting a heading, list, numbered list or setext underline."""
    line = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line, count=1)
    return _NUMBERED.sub(r"\1\\\2", line, count=1)


def md_escape(s: object, *, collapse_ws: bool = True) -> str:
    """Escape text so it cannot break links, tables or emphasis, nor inject HTML."""
    text = collapse(s) if collapse_ws else str(s or "")
    text = _INLINE_SPECIAL.sub(r"\\\1", text)
    text = _LOOSE_UNDERSCORE.sub(r"\\_", text)
    text = _html_safe(text)
    return "\n".join(_line_start(line) for line in text.split("\n"))


def md_text(s: object) -> str:
    """Escape plain (non-Markdown) text such as an abstract, keeping paragraph breaks."""
    paras = [collapse(p) for p in _BLANKS.split(str(s or ""))]
    return "\n\n".join(md_escape(p) for p in paras if p)


def strip_filler(s: str) -> str:
    """Drop a leading chat-style preamble ("好的，作为一名…，我将…。") from model prose."""
    for pattern in _FILLER:
        stripped = pattern.sub("", s, count=1)
        if stripped.strip():
            s = stripped
    return s


def md_block(s: object) -> str:
    """Sanitise model-written Markdown prose: keep emphasis and lists, drop headings, rules and HTML."""
    text = strip_filler(str(s or "").replace("\r\n", "\n").strip())
    text = re.sub(r"([\\\[\]])", r"\\\1", text)
    text = _html_safe(text)
    lines = []
    for line in text.split("\n"):
        if _RULE_LINE.match(line):
            lines.append("")  # a rule or setext underline would make the line above a heading
            continue
        lines.append(re.sub(r"^(\s*)(#+)", lambda m: m.group(1) + "\\" + m.group(2), line.rstrip()))
    text = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", _BLANKS.sub("\n\n", text)) or "—"


def md_line(s: object) -> str:
    """Sanitise a short piece of model prose for a single line (list item, table cell)."""
    return _line_start(collapse(md_block(s)))


def safe_url(u: object) -> str | None:
    """Return an http(s) URL safe to place in `(...)` of a Markdown link, or None."""
    parts = str(u or "").split()
    if not parts:
        return None
    url = parts[0]  # "https://github.com/a/b (official)" -> the URL
    if re.match(r"^(github\.com|www\.)", url, re.I):
        url = "https://" + url
    if not re.match(r"^https?://[^\s/$.?#][^\s]*$", url, re.I):
        return None
    return quote(url, safe="/:?#@!$&'*+,;=%-._~")


def url_label(url: str) -> str:
    """Short display form of a URL: no scheme, no trailing slash."""
    return re.sub(r"^https?://(www\.)?", "", url).rstrip("/")


_CODE_URL = re.compile(r"https?://(?:www\.)?github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", re.I)


def find_code_url(*texts: str | None) -> str | None:
    """First GitHub repository URL mentioned in the given texts (comment, abstract)."""
    for t in texts:
        m = _CODE_URL.search(unwrap(t or ""))
        if m:
            return m.group(0).rstrip(".,;")
    return None


# ---------------------------------------------------------------- LaTeX cleaning

_SYMBOLS = {
    "times": "×",
    "cdot": "·",
    "pm": "±",
    "mp": "∓",
    "div": "÷",
    "sim": "~",
    "approx": "≈",
    "simeq": "≃",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "ll": "≪",
    "gg": "≫",
    "infty": "∞",
    "rightarrow": "→",
    "to": "→",
    "leftarrow": "←",
    "Rightarrow": "⇒",
    "leftrightarrow": "↔",
    "uparrow": "↑",
    "downarrow": "↓",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "subseteq": "⊆",
    "cup": "∪",
    "cap": "∩",
    "forall": "∀",
    "exists": "∃",
    "nabla": "∇",
    "partial": "∂",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "ell": "ℓ",
    "circ": "∘",
    "degree": "°",
    "ldots": "…",
    "dots": "…",
    "cdots": "⋯",
    "prime": "′",
    "star": "⋆",
    "checkmark": "✓",
    "dagger": "†",
    "mid": "|",
    "vert": "|",
    "log": "log",
    "exp": "exp",
    "min": "min",
    "max": "max",
    "arg": "arg",
    "lim": "lim",
    "quad": " ",
    "qquad": " ",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "vartheta": "ϑ",
    "iota": "ι",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    "o": "ø",
    "O": "Ø",
    "ss": "ß",
    "ae": "æ",
    "aa": "å",
    "left": "",
    "right": "",
    "big": "",
    "Big": "",
    "displaystyle": "",
    "limits": "",
}
_STYLE = (
    "textbf|textit|textsl|emph|mathbf|mathrm|mathit|mathsf|mathtt|mathcal|mathscr|mathfrak|text|texttt|"
    "textrm|textsc|textsf|textnormal|underline|operatorname|boldsymbol|bm|mbox|hbox|hat|tilde|bar|vec|"
    "widehat|widetilde|overline|dot|ddot|url|textsuperscript"
)
_BB = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "E": "𝔼", "P": "ℙ"}
_ACCENTS = {"'": "\u0301", "`": "\u0300", '"': "\u0308", "^": "\u0302", "~": "\u0303", "c": "\u0327"}
_SUP = str.maketrans("0123456789+-=()nix", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱˣ")
_SUB = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")
_MATH = re.compile(r"\$\$(.+?)\$\$|\$(?!\s)([^$]{1,300}?)(?<![\s\\])\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_ESCAPES = {"%": "%", "&": "&", "_": "_", "#": "#", "$": "\x01", "{": "\x02", "}": "\x03"}


def _script(inner: str, table: dict[int, int], mark: str) -> str:
    if inner and all(ord(c) in table for c in inner):
        return inner.translate(table)
    return f"{mark}{inner}" if len(inner) == 1 else f"{mark}({inner})"


def _commands(s: str) -> str:
    s = re.sub(r"\\(?:cite[tp]?|ref|eqref|label|footnote)\*?\{[^{}]*\}", "", s)
    s = re.sub(r"\\href\{[^{}]*\}\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\mathbb\{([A-Z])\}", lambda m: _BB.get(m.group(1), m.group(1)), s)
    s = re.sub(r"\\([`'\"^~])\{?([A-Za-z])\}?", lambda m: m.group(2) + _ACCENTS[m.group(1)], s)
    s = re.sub(r"\\c\{([A-Za-z])\}", lambda m: m.group(1) + _ACCENTS["c"], s)
    for _ in range(5):  # innermost first, so nested arguments unwrap
        prev = s
        s = re.sub(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"(\1)/(\2)", s)
        s = re.sub(r"\((\w+)\)/\((\w+)\)", r"\1/\2", s)
        s = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r"√\1", s)
        s = re.sub(rf"\\(?:{_STYLE})\s*\{{([^{{}}]*)\}}", r"\1", s)
        if s == prev:
            break
    s = re.sub(r"\^\s*\{?\s*\\circ\s*\}?", "°", s)
    s = re.sub(r"\\([A-Za-z]+)", lambda m: _SYMBOLS.get(m.group(1), m.group(1)), s)
    return re.sub(r"\\[,;:! ]|\\\\", " ", s)


def _math(inner: str) -> str:
    s = _commands(inner)
    s = re.sub(r"\^\{([^{}]*)\}", lambda m: _script(m.group(1).strip(), _SUP, "^"), s)
    s = re.sub(r"\^([0-9n+-])", lambda m: m.group(1).translate(_SUP), s)
    s = re.sub(r"_\{([^{}]*)\}", lambda m: _script(m.group(1).strip(), _SUB, "_"), s)
    return " ".join(s.split())


def clean_latex(s: object) -> str:
    """Make LaTeX-laden text readable: math unwrapped, common commands mapped to Unicode."""
    text = str(s or "")
    text = re.sub(r"\\([%&_#${}])", lambda m: _ESCAPES[m.group(1)], text)
    text = re.sub(r"(?<=\S)~(?=\S)", " ", text)  # a tie (Fig.~3); a spaced "~50%" means "about"
    text = text.replace("``", "“").replace("''", "”")
    text = _MATH.sub(lambda m: _math(next(g for g in m.groups() if g is not None)), text)
    text = _commands(text)
    text = text.replace("{", "").replace("}", "")
    text = text.replace("---", "—").replace("--", "–")
    text = text.replace("\x01", "$").replace("\x02", "{").replace("\x03", "}")
    return unicodedata.normalize("NFC", re.sub(r"[ \t]{2,}", " ", text))


# ---------------------------------------------------------------- key findings

_ABBREV = re.compile(
    r"\b(?:e\.g|i\.e|et al|vs|cf|approx|resp|w\.r\.t|a\.k\.a|incl|Fig|Figs|Eq|Eqs|Sec|Tab|No|Dr|Mr|Ms|St|Jr)\.",
    re.I,
)
_SPLIT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][)\"”'\]]))\s+(?=[A-Z0-9(\[\"“'])")
_SUBJECT = re.compile(
    r"\b(we|our|this (?:paper|work|study|article|report)|the proposed|experiments?|experimental results|results (?:show|demonstrate|indicate))\b",
    re.I,
)
_PROPOSE = re.compile(
    r"\b(propos(e|es|ed)|present(s|ed)?|introduc(e|es|ed)|curat(e|es|ed)|releas(e|es|ed))\b", re.I
)
_RESULT = re.compile(r"\b(outperform(s|ed|ing)?|surpass(es|ed|ing)?|state-of-the-art|sota)\b", re.I)
_OTHER = re.compile(
    r"\b(show(s|ed|n)?|demonstrat(e|es|ed)|develop(s|ed)?|establish(es|ed)?|reveal(s|ed)?|design(s|ed)?|"
    r"identif(y|ies|ied)|provide(s|d)?|find(s)?|found|offer(s|ed)?|achiev(e|es|ed|ing)|improv(e|es|ed|ing))\b",
    re.I,
)


def unwrap(s: str) -> str:
    """Join hard line wraps (single newlines) while keeping paragraph breaks."""
    paras = _BLANKS.split(str(s or "").strip())
    return "\n\n".join(collapse(p) for p in paras if p.strip())


def split_sentences(s: str) -> list[str]:
    """Split prose into sentences without breaking on e.g., i.e., et al., vs. or decimals."""
    text = _ABBREV.sub(lambda m: m.group(0).replace(".", "\x00"), collapse(s))
    return [p.replace("\x00", ".").strip() for p in _SPLIT.split(text) if p.strip()]


def _finding_score(sentence: str) -> int:
    subject = bool(_SUBJECT.search(sentence))
    if _PROPOSE.search(sentence) and subject:
        return 4
    if _RESULT.search(sentence):
        return 3 if subject else 2
    if _OTHER.search(sentence) and subject:
        return 2
    return 1 if subject else 0  # "we ..." sentences describe the work even without a listed verb


def key_findings(abstract: str, max_sentences: int = 3) -> list[str]:
    """Up to `max_sentences` abstract sentences stating the contribution, in abstract order."""
    sentences = split_sentences(clean_latex(unwrap(abstract)))
    if not sentences:
        return []
    scored = [(_finding_score(s), i) for i, s in enumerate(sentences)]
    best = sorted((x for x in scored if x[0] > 0), key=lambda x: (-x[0], x[1]))[:max_sentences]
    if not best:
        return sentences[:1]
    return [sentences[i] for _, i in sorted(best, key=lambda x: x[1])]
