"""One id parser for every spelling (issue 9.3)."""

from __future__ import annotations

import pytest

from digest.ids import normalise_id, parse_id, try_normalise_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2606.18249", ("2606.18249", None)),
        ("2606.18249v2", ("2606.18249", 2)),
        ("arXiv:2606.18249", ("2606.18249", None)),
        (" ARXIV: 2606.18249v3 ", ("2606.18249", 3)),
        ("https://arxiv.org/abs/2606.18249v1", ("2606.18249", 1)),
        ("https://arxiv.org/pdf/2606.18249", ("2606.18249", None)),
        ("https://arxiv.org/pdf/2606.18249v2.pdf", ("2606.18249", 2)),
        ("http://export.arxiv.org/abs/2606.18249?context=cs", ("2606.18249", None)),
        ("http://arxiv.org/abs/cs/0601001v1", ("cs/0601001", 1)),
        ("cs/0601001", ("cs/0601001", None)),
        ("math.GT/0309136v2", ("math.GT/0309136", 2)),
        ("0704.0001", ("0704.0001", None)),
        ("[2606.18249]", ("2606.18249", None)),  # as the prompts list the papers
        ("“arXiv:2606.18249v2”", ("2606.18249", 2)),
        ("<https://arxiv.org/abs/2606.18249>", ("2606.18249", None)),
    ],
)
def test_every_spelling_gives_the_same_id(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_id(text) == expected
    assert normalise_id(text) == expected[0]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "12606.18249",
        "2606.182491",
        "http://example.com/",
        None,
        "http://arxiv.org/api/errors#bad",
        "[garbage]",
        "[2606.18249] and more",
    ],
)
def test_non_ids_are_rejected(text: object) -> None:
    assert try_normalise_id(text) is None
    with pytest.raises(ValueError, match="not an arXiv id"):
        normalise_id(text)
