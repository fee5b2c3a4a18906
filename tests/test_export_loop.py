"""A loop a new user can steer, through the real CLI: the user's own ids travel through the
review queue and every export, ``labelgate export`` defaults to CSV and exports the proposed
labels of all items with their status, CSV cells never carry live formulas, and errors print
literally (issue 10 item 4, issue 12 item 6)."""

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from labelgate.export import all_items_frame, write_export
from labelgate.synth import CorpusFiles, simulate_reviews
from labelgate_cli.app import app
from tests.conftest import write_project

HASHING = ["--encoder", "hashing"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# 11 cells a spreadsheet would run: each kind of formula start, in text and in source ids.
PLANTED_TEXTS = [
    '=HYPERLINK("http://evil.example","my card was stolen")',
    "+cmd|' /C calc'!A0 somebody used my card",
    "-2+3+cmd|' /C calc'!A0 I was charged twice",
    "@SUM(1+1)*cmd|' /C calc'!A0 please refund the fee",
    "\t=1+1 I cannot log in to the app",
    "\r=1+1 I moved house, new address please",
    "=1+2 what is the interest rate on a car loan",
]
PLANTED_IDS = ["=cmd|'/C calc'!A0", "+41-evil", "@evil", "-evil()"]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return CliRunner()


def invoke(cli: CliRunner, *args: object, code: int = 0) -> str:
    result = cli.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


def plant(corpus: CorpusFiles) -> None:
    """A third batch whose texts and ids start like formulas."""
    rows = [(f"planted-{i}", text) for i, text in enumerate(PLANTED_TEXTS)]
    rows += [(source_id, f"my card was stolen, ticket {i}") for i, source_id in
             enumerate(PLANTED_IDS)]  # fmt: skip
    path = corpus.inbox / "batch_003.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["message_id", "text"])
        writer.writerows(rows)


def live_formulas(path: Path) -> list[str]:
    """Cells of a CSV file that a spreadsheet would evaluate."""
    with path.open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    return [c for c in cells if c.startswith(FORMULA_STARTS) and not re.fullmatch(r"-?[\d.]+", c)]


@pytest.fixture
def project_file(tmp_path: Path, corpus: CorpusFiles) -> Path:
    plant(corpus)
    return write_project(tmp_path, corpus.inbox, governance={"pii": "off"})


def test_source_ids_statuses_and_defused_csv_through_the_cli(
    cli: CliRunner, project_file: Path, tmp_path: Path, truth: pd.DataFrame
) -> None:
    invoke(cli, "run", project_file, *HASHING)
    queue_dir = tmp_path / "to_review"
    invoke(cli, "review", "export", project_file, "--out", queue_dir)
    invoke(cli, "review", "export", project_file, "--out", queue_dir, "--format", "labelstudio")
    queue_csv = queue_dir / "review_queue.csv"
    queue = pd.read_csv(queue_csv, dtype=str, keep_default_na=False)
    assert list(queue.columns[:2]) == ["item_id", "source_id"]
    assert queue["source_id"].str.match(r"^(msg-\d{6}|planted-\d|'.*)$").all()
    tasks = json.loads((queue_dir / "label_studio_tasks.json").read_text(encoding="utf-8"))
    by_item = dict(zip(queue["item_id"], queue["source_id"], strict=True))
    assert {t["data"]["item_id"]: t["data"]["source_id"] for t in tasks} == {
        k: v.removeprefix("'") if v.startswith("'") else v for k, v in by_item.items()
    }

    answers = tmp_path / "answers.csv"
    planted_truth = pd.DataFrame(
        {
            "text": PLANTED_TEXTS + [f"my card was stolen, ticket {i}" for i in range(4)],
            "true_label": "card_fraud",
        }
    )
    simulate_reviews(queue_csv, pd.concat([truth, planted_truth]), answers, error_rate=0.0)
    invoke(cli, "review", "import", project_file, answers, *HASHING)
    invoke(cli, "run", project_file, *HASHING)

    out_dir = tmp_path / "out"
    said = invoke(cli, "export", project_file, "--out", out_dir)  # CSV is the default
    accepted = out_dir / "complaints_accepted_labels.csv"
    assert accepted.is_file() and "PII:" in said
    frame = pd.read_csv(accepted, dtype=str, keep_default_na=False)
    assert "source_id" in frame.columns and frame["source_id"].str.startswith("msg-").any()

    said = invoke(cli, "export", project_file, "--all", "--out", out_dir)
    every = pd.read_csv(out_dir / "complaints_all_items.csv", dtype=str, keep_default_na=False)
    n_items = 400 - 3 + len(PLANTED_TEXTS) + len(PLANTED_IDS)  # 3 bad rows are quarantined
    assert len(every) == every["item_id"].nunique() >= n_items - 5  # minus duplicate texts
    counts = every["status"].value_counts().to_dict()
    assert set(counts) == {"accepted", "queued", "pending"}, counts
    assert f"accepted: {counts['accepted']}, queued: {counts['queued']}" in said
    assert (every.loc[every["status"] == "accepted", "item_id"].sort_values().tolist()
            == frame["item_id"].sort_values().tolist())  # fmt: skip
    assert (every["label"] != "").all()  # every item has a proposed label
    pending = every[every["status"] == "pending"]
    assert (pending["source"] == "auto").all() and (pending["reviewer"] == "").all()

    invoke(cli, "export", project_file, "--status", "pending", "--out", out_dir)
    only = pd.read_csv(out_dir / "complaints_pending_items.csv", dtype=str)
    assert sorted(only["item_id"]) == sorted(pending["item_id"])

    invoke(cli, "export", project_file, "--all", "--format", "parquet", "--out", out_dir)
    raw = pd.read_parquet(out_dir / "complaints_all_items.parquet")
    planted = raw[raw["source_id"].isin(PLANTED_IDS) | raw["source_id"].str.match("planted-")]
    assert len(planted) == 11
    raw_cells = [
        c for c in planted["text"].tolist() + planted["source_id"].tolist() if c[0] in "=+-@"
    ]
    assert len(raw_cells) == 11  # Parquet keeps the exact values (texts are whitespace-trimmed)

    for path in (queue_csv, accepted, out_dir / "complaints_all_items.csv"):
        assert live_formulas(path) == [], path
    planted_csv = every[every["item_id"].isin(planted["item_id"])]
    assert len(planted_csv) == 11
    cells = planted_csv["text"].tolist() + planted_csv["source_id"].tolist()
    assert sum(c.startswith("'") for c in cells) == 11


def test_csv_exports_defuse_every_string_column(tmp_path: Path) -> None:
    planted = ["=1+1", "+1+cmd", "-1+cmd", "@SUM(A1)", "\tx", "\r=x", "=A", "+B", "-C", "@D", "=E"]
    frame = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(11)],
            "source_id": planted,
            "text": planted,
            "label": "card_fraud",
            "source": "human",
            "confidence": [-1.0] * 11,
            "reviewer": planted,
            "run_id": "-5",
        }
    )
    path = write_export(frame, tmp_path, "csv", "x")
    assert live_formulas(path) == []
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("source_id", "text", "reviewer"):
        assert back[column].tolist() == ["'" + c for c in planted]
    assert back["run_id"].tolist() == ["-5"] * 11  # a plain number is not a formula
    assert back["confidence"].tolist() == ["-1.0"] * 11


def test_all_items_frame_status_and_proposals() -> None:
    items = pd.DataFrame(
        {"item_id": ["a", "b", "c", "d"], "text": list("ABCD"), "source_id": ["1", "2", None, "4"]}
    )
    accepted = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "label": ["x", "y"],
            "source": ["human", "auto"],
            "confidence": [1.0, 0.99],
            "reviewer": ["ana", None],
            "run_id": ["r1", "r1"],
        }
    )
    auto = pd.DataFrame({"item_id": ["a", "b", "c"], "label": ["y", "y", "x"],
                         "confidence": [0.4, 0.99, 0.6]})  # fmt: skip
    frame = all_items_frame(accepted, auto, items, queued={"c"}).set_index("item_id")
    assert frame["status"].to_dict() == {"a": "accepted", "b": "accepted", "c": "queued",
                                         "d": "pending"}  # fmt: skip
    assert frame.loc["a", "label"] == "x" and frame.loc["a", "reviewer"] == "ana"
    assert frame.loc["c", ["label", "source"]].tolist() == ["x", "auto"]
    assert frame.loc["c", "confidence"] == pytest.approx(0.6)
    assert pd.isna(frame.loc["d", "label"])  # no labeler has labeled it yet
    assert frame.loc["b", "source_id"] == "2"


def test_errors_print_literally(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: Bad Name\nmodality: text\nsource: {path: inbox}\nclasses: [a, b]\n"
        "labelers: [{type: embedding}]\n",
        encoding="utf-8",
    )
    out = invoke(cli, "status", bad, code=2)
    assert "name: String should match pattern '^[a-z][a-z0-9_]{0,62}$'" in out


def test_export_says_how_many_cells_were_redacted(
    cli: CliRunner, tmp_path: Path, corpus: CorpusFiles
) -> None:
    project_file = write_project(tmp_path, corpus.inbox)  # governance.pii: redact
    invoke(cli, "run", project_file, *HASHING)
    said = invoke(cli, "export", project_file, "--all", "--out", tmp_path / "out")
    frame = pd.read_csv(tmp_path / "out" / "complaints_all_items.csv", dtype=str)
    redacted = int(frame["text"].str.contains(r"\[(?:EMAIL|PHONE|CARD_NUMBER|IBAN|US_SSN|"
                                              r"DATE_OF_BIRTH|PERSON_NAME)\]").sum())  # fmt: skip
    assert redacted > 20
    assert f"PII: {redacted} cell(s) redacted (" in " ".join(said.split())
    from labelgate.ledger import Ledger
    from labelgate.ledger.events import EXPORT_MADE
    from labelgate.spec import load_project

    [made] = Ledger.for_project(load_project(project_file)).events(event=EXPORT_MADE)
    assert made.payload["redacted_cells"] == redacted
    assert made.payload["status_counts"] == frame["status"].value_counts().to_dict() | {
        s: 0 for s in ("accepted",) if s not in set(frame["status"])
    }


def test_image_queue_tasks_and_exports_carry_source_ids(tmp_path: Path) -> None:
    from labelgate.images.exchange import classification_tasks, label_studio_tasks
    from labelgate.images.export import export_coco
    from labelgate.images.queue import select_image_queue

    items = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "path": ["/in/a.jpg", "/in/b.jpg"],
            "width": [10, 10],
            "height": [10, 10],
            "source_id": ["cams/a.jpg", "cams/b.jpg"],
        }
    )
    auto = pd.DataFrame(
        {"item_id": ["a", "b"], "label": ["cat", "dog"], "confidence": [0.9, 0.6],
         "margin": [0.8, 0.2], "entropy": [0.1, 0.6]}
    )  # fmt: skip
    reviewed = pd.DataFrame({"item_id": pd.Series(dtype=str), "purpose": pd.Series(dtype=str)})
    queue = select_image_queue(auto, items, reviewed, {}, detection=False, calibration_size=1,
                               uncertain_size=1, seed=0)  # fmt: skip
    assert dict(zip(queue["item_id"], queue["source_id"], strict=True)) == {
        "a": "cams/a.jpg",
        "b": "cams/b.jpg",
    }
    tasks = classification_tasks(queue, model_version="v")
    assert {t["data"]["item_id"]: t["data"]["source_id"] for t in tasks} == {
        "a": "cams/a.jpg",
        "b": "cams/b.jpg",
    }
    box = {"label": "cat", "x1": 0.1, "y1": 0.1, "x2": 0.5, "y2": 0.5}
    accepted = pd.DataFrame({"item_id": ["a"], "boxes": [[box]]})
    coco = json.loads(export_coco(accepted, items, ["cat"], tmp_path / "c.json").read_text())
    assert coco["images"][0]["source_id"] == "cams/a.jpg"
    detection = label_studio_tasks(items.assign(boxes=[[box], []]), key="annotations")
    assert [t["data"]["source_id"] for t in detection] == ["cams/a.jpg", "cams/b.jpg"]


def test_label_studio_export_of_all_items(tmp_path: Path) -> None:
    items = pd.DataFrame(
        {"item_id": ["a", "b", "c"], "text": ["x", "y", "z"], "source_id": ["1", None, "3"]}
    )
    accepted = pd.DataFrame(
        {"item_id": ["a"], "label": ["pos"], "source": ["human"], "confidence": [1.0],
         "reviewer": ["ana"], "run_id": ["r"]}
    )  # fmt: skip
    auto = pd.DataFrame({"item_id": ["a", "b"], "label": ["neg", "neg"], "confidence": [0.5, 0.7]})
    frame = all_items_frame(accepted, auto, items, queued={"b"})
    tasks = json.loads(write_export(frame, tmp_path, "labelstudio", "all").read_text())
    by_id = {t["data"]["item_id"]: t for t in tasks}
    assert by_id["a"]["data"] == {"item_id": "a", "text": "x", "source_id": "1",
                                  "status": "accepted"}  # fmt: skip
    assert by_id["a"]["annotations"][0]["result"][0]["value"]["choices"] == ["pos"]
    assert by_id["b"]["data"]["status"] == "queued" and "source_id" not in by_id["b"]["data"]
    assert by_id["b"]["predictions"][0]["score"] == pytest.approx(0.7)
    assert by_id["c"] == {"data": {"item_id": "c", "text": "z", "source_id": "3",
                                   "status": "pending"}}  # fmt: skip


def test_governed_export_csv_defuses_11_planted_cells(make_project: object, tmp_path: Path) -> None:
    """The path every CSV export and release takes (PII gate, ledger row, file commit)."""
    from labelgate.governance.export import governed_export

    spec = make_project(governance={"pii": "redact"})  # type: ignore[operator]
    planted = ["=1+1", "+SUM(A1)", "-2+cmd", "@A1", "\t=x", "\r=y", "=HYPERLINK(\"x\")",
               "+x", "-y", "@z", "=w"]  # fmt: skip
    frame = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(11)],
            "source_id": [f"=ID{i}" for i in range(11)],
            "text": planted,
            "label": "card_fraud",
            "source": "human",
            "confidence": 1.0,
            "reviewer": planted[::-1],
            "run_id": "r",
        }
    )
    result = governed_export(spec, frame, tmp_path / "out", "csv", "release", what="export")
    assert live_formulas(result.path) == []
    back = pd.read_csv(result.path, dtype=str, keep_default_na=False)
    for column in ("source_id", "text", "reviewer"):
        assert back[column].str.startswith("'").sum() == 11, column
