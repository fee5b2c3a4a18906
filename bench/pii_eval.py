"""Precision and recall of the PII recognizers, per kind, on the labeled PII test set.

1. The test set (``labelgate.pii.eval_set.snippets(seed=0)``, the one the fast test asserts
   on) and fresh draws of the same distribution (seeds 1..``--draws``), so a rule fitted to
   the one set shows up as a drop on the others.
2. Real text with no personal data: every finding in the 10,003 BANKING77 customer queries
   (``../shared/data/banking77``) is a false alarm; reported per kind and per 10,000 texts.

Run from the repository root: ``.venv/bin/python bench/pii_eval.py`` (``--misses`` prints
every miss and false finding).
"""

import argparse
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from labelgate.pii import PII_TYPES, find_pii  # noqa: E402
from labelgate.pii.eval_set import snippets  # noqa: E402
from labelgate.pii.evaluate import KindScore, evaluate, overall  # noqa: E402

BANKING77 = REPO.parent / "shared" / "data" / "banking77" / "train.csv"


def table(rows: dict[str, KindScore]) -> str:
    lines = [
        "| kind | labeled spans | findings | precision | recall |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, s in rows.items():
        lines.append(f"| {kind} | {s.spans} | {s.found} | {s.precision:.3f} | {s.recall:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=4, help="fresh draws besides the set")
    parser.add_argument("--misses", action="store_true", help="print every miss")
    args = parser.parse_args()

    test_set = snippets(0)
    positives = sum(s.positive for s in test_set)
    scores, misses = evaluate(test_set)
    print(f"PII test set (seed 0): {positives} positive, {len(test_set) - positives} hard "
          "negative snippets")  # fmt: skip
    print(table({**scores, "all (micro)": overall(scores)}))
    if args.misses:
        for miss in misses:
            print(f"  {miss.what}  in {miss.text!r}")

    fresh = [s for seed in range(1, args.draws + 1) for s in snippets(seed)]
    scores, misses = evaluate(fresh)
    print(f"\nfresh draws (seeds 1..{args.draws}): {len(fresh)} snippets")
    print(table({**scores, "all (micro)": overall(scores)}))
    if args.misses:
        for miss in misses:
            print(f"  {miss.what}  in {miss.text!r}")

    if BANKING77.is_file():
        texts = pd.read_csv(BANKING77)["text"].astype(str)
        found: Counter = Counter()
        examples: list[str] = []
        for text in texts:
            for f in find_pii(text):
                found[f.kind] += 1
                examples.append(f"{f.kind} {text[f.start : f.end]!r} in {text!r}")
        per_kind = ", ".join(f"{k}: {found[k]}" for k in PII_TYPES if found[k]) or "none"
        print(f"\nBANKING77 ({len(texts):,} real queries, no personal data): {found.total()} "
              f"false findings ({found.total() / len(texts) * 10_000:.1f} per 10,000 texts; "
              f"{per_kind})")  # fmt: skip
        for example in examples[: 20 if args.misses else 5]:
            print(f"  {example}")
    else:
        print(f"\nBANKING77 not found at {BANKING77}: real-text false alarms not measured")


if __name__ == "__main__":
    main()
