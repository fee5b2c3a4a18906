"""Precision and recall of the PII recognizers per kind, on labeled snippets.

A finding matches a labeled span when it has the same kind and covers the span whole, with
at most punctuation or spaces beyond it: ``BE68 [PHONE]`` (the IBAN cut short) is a miss of
the IBAN and a false phone. Precision of a kind = matching findings / findings of that kind;
recall = labeled spans matched / labeled spans of that kind.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from labelgate.pii.eval_set import Snippet, Span
from labelgate.pii.kinds import PII_TYPES, Finding
from labelgate.pii.recognizers import find_pii


@dataclass(frozen=True)
class KindScore:
    kind: str
    spans: int  # labeled spans
    found: int  # findings
    true_positives: int  # findings that match a span
    recalled: int  # spans matched by a finding

    @property
    def precision(self) -> float:
        return self.true_positives / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.recalled / self.spans if self.spans else 1.0


@dataclass(frozen=True)
class Miss:
    text: str
    what: str  # "missed KIND 'value'" or "false KIND 'value'"


def _matches(text: str, finding: Finding, span: Span) -> bool:
    kind, start, end = span
    if finding.kind != kind or finding.start > start or finding.end < end:
        return False
    extra = text[finding.start : start] + text[end : finding.end]
    return not any(c.isalnum() for c in extra)


def evaluate(snippets: Iterable[Snippet]) -> tuple[dict[str, KindScore], list[Miss]]:
    """Scores per kind (every kind of ``PII_TYPES``) and every miss and false finding."""
    spans, found, tp, recalled = Counter(), Counter(), Counter(), Counter()
    misses: list[Miss] = []
    for snippet in snippets:
        findings = find_pii(snippet.text)
        for finding in findings:
            found[finding.kind] += 1
            if any(_matches(snippet.text, finding, s) for s in snippet.spans):
                tp[finding.kind] += 1
            else:
                value = snippet.text[finding.start : finding.end]
                misses.append(Miss(snippet.text, f"false {finding.kind} {value!r}"))
        for span in snippet.spans:
            spans[span[0]] += 1
            if any(_matches(snippet.text, f, span) for f in findings):
                recalled[span[0]] += 1
            else:
                value = snippet.text[span[1] : span[2]]
                misses.append(Miss(snippet.text, f"missed {span[0]} {value!r}"))
    scores = {
        kind: KindScore(kind, spans[kind], found[kind], tp[kind], recalled[kind])
        for kind in PII_TYPES
    }
    return scores, misses


def overall(scores: dict[str, KindScore]) -> KindScore:
    """Micro-averaged over every kind."""
    return KindScore(
        "all",
        sum(s.spans for s in scores.values()),
        sum(s.found for s in scores.values()),
        sum(s.true_positives for s in scores.values()),
        sum(s.recalled for s in scores.values()),
    )
