"""The PII recognizers meet their targets on the labeled PII test set (at least 200 positive
and 200 hard-negative snippets): recall >= 0.99 and precision >= 0.98, per kind."""

import pytest

from labelgate.pii import PII_TYPES
from labelgate.pii.eval_set import Snippet, snippets
from labelgate.pii.evaluate import evaluate, overall
from labelgate.pii.kinds import Finding

RECALL, PRECISION = 0.99, 0.98


@pytest.fixture(scope="module")
def test_set() -> list[Snippet]:
    return snippets(0)


def test_the_set_is_large_and_labeled(test_set: list[Snippet]) -> None:
    positives = [s for s in test_set if s.positive]
    negatives = [s for s in test_set if not s.positive]
    assert len(positives) >= 200 and len(negatives) >= 200
    kinds = {span[0] for s in positives for span in s.spans}
    assert kinds == set(PII_TYPES)
    for snippet in positives:
        for _kind, start, end in snippet.spans:
            assert 0 <= start < end <= len(snippet.text)
    categories = {s.category for s in negatives}
    assert {"news_date", "amount", "ticker", "product_code", "invoice", "phone_like"} <= categories


def test_targets_per_kind(test_set: list[Snippet]) -> None:
    scores, misses = evaluate(test_set)
    shown = "\n".join(f"{m.what} in {m.text!r}" for m in misses[:20])
    for kind, score in scores.items():
        assert score.spans >= 30, kind
        assert score.recall >= RECALL, f"{kind} recall {score.recall:.3f}:\n{shown}"
        assert score.precision >= PRECISION, f"{kind} precision {score.precision:.3f}:\n{shown}"
    total = overall(scores)
    assert total.recall >= RECALL and total.precision >= PRECISION


def test_a_cut_short_iban_is_a_miss_and_a_false_phone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scoring itself: ``BE68 [PHONE]`` counts against both kinds."""
    from labelgate.pii import evaluate as evaluate_module

    text = "IBAN: BE68 5390 0754 7034 was used"
    monkeypatch.setattr(evaluate_module, "find_pii", lambda t: [Finding("PHONE", 11, 25)])
    scores, misses = evaluate([Snippet(text, (("IBAN", 6, 25),), "IBAN")])
    assert scores["IBAN"].recall == 0.0 and scores["PHONE"].precision == 0.0
    assert [m.what for m in misses] == ["false PHONE '5390 0754 7034'", "missed IBAN " +
                                        repr(text[6:25])]  # fmt: skip
