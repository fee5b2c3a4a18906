"""The synthetic bank-messages corpus, its files, the simulated reviewer and the demo project."""

import re
from pathlib import Path

import pandas as pd
import pytest

from labelgate.ids import text_item_id
from labelgate.spec import RulesLabelerSpec, load_project
from labelgate.synth import CLASSES, generate_messages, simulate_reviews, write_corpus
from labelgate.text import normalize_text

ROOT = Path(__file__).resolve().parents[1]

CARD = re.compile(r"(?<!\d)(?:\d{4}[ -]?){3}\d{4}(?!\d)|(?<!\d)\d{4} ?\d{6} ?\d{5}(?!\d)")
IBAN = re.compile(
    r"(?<![A-Z0-9])(?:GB\d{2} ?[A-Z]{4}(?: ?\d{4}){3} ?\d{2}"
    r"|DE\d{2}(?: ?\d{4}){4} ?\d{2}"
    r"|NL\d{2} ?[A-Z]{4}(?: ?\d{4}){2} ?\d{2})(?![A-Z0-9])"
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
SSN = re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")
PHONE = re.compile(r"07700 900\d{3}|\+44|\+49 151|\+1 646|\(212\) 555|415-555")
DOB = re.compile(r"\b(?:date of birth|dob|born on)\b", re.IGNORECASE)


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


@pytest.fixture(scope="module")
def messages() -> pd.DataFrame:
    return generate_messages(3000, seed=7)


def test_deterministic_per_seed() -> None:
    a, b = generate_messages(400, seed=1), generate_messages(400, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert not a["text"].equals(generate_messages(400, seed=2)["text"])
    assert list(a.columns) == ["message_id", "text", "true_label"]
    assert a["message_id"].is_unique


def test_classes_balanced_and_known(messages: pd.DataFrame) -> None:
    assert len(CLASSES) == 6
    assert all(len(d.split()) >= 10 for d in CLASSES.values())
    shares = messages["true_label"].value_counts(normalize=True)
    assert set(shares.index) == set(CLASSES)
    assert shares.min() > 0.08 and shares.max() < 0.30


def test_duplicates_noise_and_short_messages(messages: pd.DataFrame) -> None:
    assert 0.01 <= messages["text"].duplicated().mean() <= 0.02
    # Equal normalized texts always carry the same label.
    norm = messages.assign(norm=messages["text"].map(normalize_text))
    assert norm.groupby("norm")["true_label"].nunique().max() == 1
    texts = messages["text"]
    assert (texts != texts.map(normalize_text)).mean() > 0.03  # whitespace noise
    assert (texts.str.len() < 40).mean() > 0.03  # short / vague
    assert (texts == texts.str.lower()).mean() > 0.05  # casing noise


def test_pii_present_and_valid(messages: pd.DataFrame) -> None:
    upper = messages["text"].str.upper()
    ibans = [m.group() for t in upper for m in IBAN.finditer(t)]
    cards = [m.group() for t in upper for m in CARD.finditer(IBAN.sub(" ", t))]
    assert len(ibans) > 30 and len(cards) > 30
    assert all(iban_ok(iban) for iban in ibans)
    assert all(luhn_ok(card) for card in cards)
    assert {iban[:2] for iban in ibans} >= {"GB", "DE"}
    assert messages["text"].str.contains(SSN).sum() > 10
    has_pii = (
        messages["text"].str.contains(EMAIL)
        | messages["text"].str.contains(PHONE)
        | messages["text"].str.contains(SSN)
        | messages["text"].str.contains(DOB)
        | upper.str.contains(IBAN)
        | upper.map(lambda t: bool(CARD.search(IBAN.sub(" ", t))))
    )
    # Names are PII too but are not detected here, so this undercounts the ~30%.
    assert 0.18 < has_pii.mean() < 0.40


def _read_source(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype={"message_id": str, "text": str})
    return pd.read_parquet(path)


def test_write_corpus_files_align_with_truth(tmp_path: Path) -> None:
    files = write_corpus(tmp_path, n=600, n_batches=5, seed=3)
    assert [p.suffix for p in files.batch_files] == [".csv", ".jsonl", ".csv", ".jsonl", ".parquet"]
    assert all(p.parent == tmp_path / "inbox" for p in files.batch_files)
    frames = [_read_source(p) for p in files.batch_files]
    assert all(list(f.columns) == ["message_id", "text"] for f in frames)
    sources = pd.concat(frames, ignore_index=True)
    assert len(sources) == files.n_messages + files.n_bad_rows
    bad = sources[sources["message_id"].str.startswith("bad-")]
    assert len(bad) == files.n_bad_rows > 0
    assert (bad["text"].str.strip() == "").sum() >= 2 and bad["text"].str.len().max() > 20_000
    truth = pd.read_csv(files.truth_csv, dtype=str, keep_default_na=False)
    assert list(truth.columns) == ["message_id", "text", "true_label"]
    good = sources.drop(bad.index).set_index("message_id").sort_index()
    assert good.index.equals(truth.set_index("message_id").sort_index().index)
    assert (good["text"] == truth.set_index("message_id")["text"].loc[good.index]).all()
    # Rewriting with fewer batches leaves no stale batch files behind.
    again = write_corpus(tmp_path, n=100, n_batches=2, seed=3, bad_rows=False)
    assert sorted((tmp_path / "inbox").iterdir()) == sorted(again.batch_files)
    assert again.n_bad_rows == 0


def _queue(truth: pd.DataFrame, path: Path) -> None:
    unique = truth.drop_duplicates("text")
    pd.DataFrame(
        {
            "item_id": [text_item_id(normalize_text(t)) for t in unique["text"]],
            "text": unique["text"].map(normalize_text),
            "predicted_label": "card_fraud",
            "confidence": 0.5,
            "purpose": "calibration",
            "rank": range(len(unique)),
        }
    ).to_csv(path, index=False)


def test_simulate_reviews_error_rate_and_header(tmp_path: Path) -> None:
    truth = generate_messages(5000, seed=11)
    _queue(truth, tmp_path / "queue.csv")
    out = tmp_path / "reviews" / "batch1.csv"
    reviews = simulate_reviews(tmp_path / "queue.csv", truth, out, error_rate=0.1, seed=5)
    assert out.read_text(encoding="utf-8").splitlines()[0] == "item_id,label,reviewer"
    pairs = zip(truth["text"], truth["true_label"], strict=True)
    by_id = {text_item_id(normalize_text(t)): label for t, label in pairs}
    wrong = (reviews["label"] != reviews["item_id"].map(by_id)).mean()
    assert 0.08 < wrong < 0.12
    assert set(reviews["label"]) <= set(CLASSES)
    assert set(reviews["reviewer"]) == {"alice", "bob"}
    perfect = simulate_reviews(tmp_path / "queue.csv", truth, out, error_rate=0.0)
    assert (perfect["label"] == perfect["item_id"].map(by_id)).all()


def test_simulate_reviews_refuses_unknown_items(tmp_path: Path) -> None:
    truth = generate_messages(50, seed=0)
    _queue(truth, tmp_path / "queue.csv")
    with pytest.raises(ValueError, match="not in the truth"):
        simulate_reviews(tmp_path / "queue.csv", truth.iloc[:10], tmp_path / "r.csv")


def test_demo_project_loads() -> None:
    spec = load_project(ROOT / "projects" / "complaints.yaml")
    assert spec.name == "complaints" and spec.source.id_column == "message_id"
    assert {c.name: c.description for c in spec.classes} == CLASSES
    rules = [lab for lab in spec.labelers if isinstance(lab, RulesLabelerSpec)]
    assert len(rules) == 1 and set(rules[0].rules) == set(spec.class_names)
    assert {lab.type for lab in spec.labelers} == {"rules", "embedding"}
    assert spec.review.calibration_size == 800 and spec.review.uncertain_size == 150
    assert spec.source.path == (ROOT / "var" / "demo" / "complaints" / "inbox").resolve()
    assert spec.storage == (ROOT / "var" / "store").resolve()


def test_demo_rules_are_precise(messages: pd.DataFrame) -> None:
    spec = load_project(ROOT / "projects" / "complaints.yaml")
    rules = next(lab for lab in spec.labelers if isinstance(lab, RulesLabelerSpec))
    compiled = {k: [re.compile(p, re.IGNORECASE) for p in v] for k, v in rules.rules.items()}
    hits = []
    pairs = zip(messages["text"].map(normalize_text), messages["true_label"], strict=True)
    for text, label in pairs:
        matched = [k for k, pats in compiled.items() if any(p.search(text) for p in pats)]
        if len(matched) == 1:
            hits.append(matched[0] == label)
    assert len(hits) > 0.4 * len(messages)  # covers a fair share, abstains on the rest
    assert sum(hits) / len(hits) > 0.95
