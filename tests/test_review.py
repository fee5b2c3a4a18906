"""Review exchange: queue selection, reviewer files, validated import and the review store."""

import csv
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelgate.errors import ReviewFileError
from labelgate.review import (
    QUEUE_COLUMNS,
    REVIEWED_COLUMNS,
    ReviewStore,
    allocate_proportional,
    label_studio_config,
    read_review_file,
    select_review_queue,
    write_label_studio_tasks,
    write_queue_csv,
)

CLASSES = ["fraud", "billing", "other"]


def make_auto_labels(counts: dict[str, int], seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    labels = [label for label, n in counts.items() for _ in range(n)]
    ids = [f"{i:016x}" for i in range(len(labels))]
    auto = pd.DataFrame(
        {
            "item_id": ids,
            "batch": "b1",
            "label": labels,
            "confidence": rng.uniform(0.4, 1.0, len(ids)),
            "margin": rng.uniform(0.0, 1.0, len(ids)),
            "entropy": rng.uniform(0.0, 1.0, len(ids)),
        }
    )
    texts = pd.DataFrame({"item_id": ids, "text": [f'message {i}, "quoted" é' for i in ids]})
    return auto, texts


def queue_for(auto: pd.DataFrame, texts: pd.DataFrame, **overrides: object) -> pd.DataFrame:
    args: dict[str, object] = {
        "already_reviewed": set(),
        "already_queued_calibration": set(),
        "calibration_size": 20,
        "uncertain_size": 10,
        "seed": 0,
        "queued_at": "2024-05-01T00:00:00+00:00",
    }
    args.update(overrides)
    return select_review_queue(auto, texts, **args)  # type: ignore[arg-type]


@pytest.fixture
def corpus() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_auto_labels({"fraud": 120, "billing": 60, "other": 20})


# --- queue selection -------------------------------------------------------------------


def test_allocation_uses_largest_remainder() -> None:
    rng = np.random.default_rng(0)
    assert allocate_proportional({"a": 5, "b": 3, "c": 2}, 7, rng) == {"a": 4, "b": 2, "c": 1}
    tied = allocate_proportional({"a": 60, "b": 30, "c": 10}, 15, rng)
    assert tied["a"] == 9 and sum(tied.values()) == 15 and {tied["b"], tied["c"]} <= {4, 5, 1, 2}
    assert allocate_proportional({"a": 2, "b": 1}, 10, rng) == {"a": 2, "b": 1}


def test_calibration_sample_is_proportional_to_predicted_labels(corpus) -> None:
    queue = queue_for(*corpus)
    calibration = queue[queue["purpose"] == "calibration"]
    assert len(calibration) == 20
    assert calibration["predicted_label"].value_counts().to_dict() == {
        "fraud": 12,
        "billing": 6,
        "other": 2,
    }


def test_queue_schema_and_rank(corpus) -> None:
    queue = queue_for(*corpus)
    assert list(queue.columns) == QUEUE_COLUMNS
    assert queue["rank"].dtype == "int64"
    assert queue["confidence"].dtype == "float64"
    assert queue["rank"].tolist() == list(range(1, 31))
    assert queue["purpose"].tolist() == ["calibration"] * 20 + ["uncertain"] * 10
    assert queue["item_id"].is_unique
    assert (queue["queued_at"] == "2024-05-01T00:00:00+00:00").all()
    auto, texts = corpus
    merged = queue.merge(auto, on="item_id").merge(texts, on="item_id", suffixes=("", "_src"))
    assert (merged["predicted_label"] == merged["label"]).all()
    assert (merged["text"] == merged["text_src"]).all()


def test_queue_is_deterministic_for_a_seed_and_row_order(corpus) -> None:
    auto, texts = corpus
    first = queue_for(auto, texts)
    shuffled = auto.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(first, queue_for(shuffled, texts))
    other_seed = queue_for(auto, texts, seed=1)
    calibration = first["purpose"] == "calibration"
    assert set(first.loc[calibration, "item_id"]) != set(
        other_seed.loc[other_seed["purpose"] == "calibration", "item_id"]
    )


def test_calibration_inclusion_is_uniform_over_seeds() -> None:
    auto, texts = make_auto_labels({"fraud": 30, "billing": 20, "other": 10})
    hits = pd.Series(0, index=auto["item_id"])
    runs = 300
    for seed in range(runs):
        queue = queue_for(auto, texts, calibration_size=12, uncertain_size=0, seed=seed)
        hits[queue["item_id"]] += 1
    rate = hits / runs
    assert abs(rate.mean() - 12 / 60) < 1e-9
    assert rate.between(0.1, 0.3).all()  # each item is drawn with probability 0.2


def test_reviewed_items_are_never_queued(corpus) -> None:
    auto, texts = corpus
    reviewed = set(auto["item_id"].iloc[::2])
    queue = queue_for(auto, texts, already_reviewed=reviewed)
    assert not set(queue["item_id"]) & reviewed
    assert len(queue) == 30


def test_already_queued_calibration_items_are_kept_not_redrawn(corpus) -> None:
    auto, texts = corpus
    first = queue_for(auto, texts)
    earlier = first.loc[first["purpose"] == "calibration", "item_id"].tolist()
    reviewed = set(earlier[:5])
    pending = set(earlier[5:])  # 15 still waiting for a reviewer
    again = queue_for(
        auto,
        texts,
        already_reviewed=reviewed,
        already_queued_calibration=set(earlier),
        seed=99,
    )
    calibration = again[again["purpose"] == "calibration"]["item_id"].tolist()
    assert len(calibration) == 20
    assert set(calibration[:15]) == pending  # kept, and ranked first
    assert not set(calibration[15:]) & (pending | reviewed)  # only the shortfall is drawn


def test_calibration_size_is_a_total_over_rounds(corpus) -> None:
    auto, texts = corpus
    first = queue_for(auto, texts)
    calibration = first.loc[first["purpose"] == "calibration", "item_id"].tolist()
    reviewed = set(first["item_id"])  # the whole first queue came back reviewed
    second = queue_for(
        auto,
        texts,
        already_reviewed=reviewed,
        already_queued_calibration=set(calibration),
        calibration_reviewed=len(calibration),
        seed=1,
    )
    assert (second["purpose"] == "calibration").sum() == 0  # the 20 are already reviewed
    assert (second["purpose"] == "uncertain").sum() == 10
    grown = queue_for(
        auto, texts, already_reviewed=reviewed, calibration_size=26, calibration_reviewed=20
    )
    drawn = grown.loc[grown["purpose"] == "calibration", "item_id"]
    assert len(drawn) == 6 and not set(drawn) & reviewed  # only the increase is drawn


def test_uncertain_items_in_margin_then_entropy_order(corpus) -> None:
    auto, texts = corpus
    auto = auto.copy()
    auto.loc[:2, "margin"] = 0.0  # three exact ties on margin, broken by entropy
    auto.loc[:2, "entropy"] = [0.1, 0.9, 0.5]
    queue = queue_for(auto, texts, calibration_size=0, uncertain_size=10)
    assert (queue["purpose"] == "uncertain").all()
    assert queue["item_id"].tolist()[:3] == [
        auto.at[1, "item_id"],
        auto.at[2, "item_id"],
        auto.at[0, "item_id"],
    ]
    expected = auto.sort_values(["margin", "entropy"], ascending=[True, False])
    assert queue["item_id"].tolist() == expected["item_id"].head(10).tolist()


def test_uncertain_part_skips_calibration_and_reviewed_items(corpus) -> None:
    auto, texts = corpus
    lowest = auto.sort_values("margin")["item_id"].head(5).tolist()
    queue = queue_for(auto, texts, already_reviewed=set(lowest), uncertain_size=50)
    calibration = set(queue.loc[queue["purpose"] == "calibration", "item_id"])
    uncertain = queue.loc[queue["purpose"] == "uncertain"]
    assert not set(uncertain["item_id"]) & (calibration | set(lowest))
    margins = uncertain.merge(auto, on="item_id")["margin"]
    assert margins.is_monotonic_increasing


def test_queue_sizes_larger_than_pool() -> None:
    auto, texts = make_auto_labels({"fraud": 3, "billing": 2})
    queue = queue_for(auto, texts, calibration_size=4, uncertain_size=10)
    assert queue["purpose"].value_counts().to_dict() == {"calibration": 4, "uncertain": 1}
    empty = queue_for(auto, texts, already_reviewed=set(auto["item_id"]))
    assert empty.empty and list(empty.columns) == QUEUE_COLUMNS


# --- reviewer files ----------------------------------------------------------------------


def fill_csv(path: Path, decisions: dict[str, tuple[str, str]]) -> None:
    """Fill in the queue CSV the way a reviewer would, with the csv module."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["item_id"] in decisions:
            row["label"], row["reviewer"] = decisions[row["item_id"]]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_queue_csv_round_trip(tmp_path, corpus) -> None:
    auto, texts = corpus
    queue = queue_for(auto, texts)
    path = write_queue_csv(queue, tmp_path / "queue.csv")
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(written.columns) == [
        "item_id",
        "text",
        "predicted_label",
        "confidence",
        "purpose",
        "rank",
        "label",
        "reviewer",
    ]
    assert written["item_id"].tolist() == queue["item_id"].tolist()
    assert written["text"].tolist() == queue["text"].tolist()  # commas, quotes, accents survive
    assert (written["label"] == "").all() and (written["reviewer"] == "").all()
    assert not list(tmp_path.glob(".*.tmp"))

    ids = queue["item_id"].tolist()
    fill_csv(path, {ids[0]: ("fraud", "ann"), ids[3]: ("other", "bob"), ids[7]: ("billing", "ann")})
    reviews = read_review_file(path, known_items=set(auto["item_id"]), class_names=CLASSES)
    assert list(reviews.columns) == ["item_id", "label", "reviewer"]
    assert reviews.values.tolist() == [
        [ids[0], "fraud", "ann"],
        [ids[3], "other", "bob"],
        [ids[7], "billing", "ann"],
    ]


def test_formula_like_texts_are_defused_in_csv(tmp_path) -> None:
    auto, texts = make_auto_labels({"fraud": 2})
    texts.loc[0, "text"] = '=HYPERLINK("http://evil")'
    queue = queue_for(auto, texts, calibration_size=2, uncertain_size=0)
    written = pd.read_csv(write_queue_csv(queue, tmp_path / "q.csv"), dtype=str)
    assert written.set_index("item_id").at[auto.at[0, "item_id"], "text"].startswith("'=")


def test_csv_variants_are_accepted(tmp_path) -> None:
    known = {"a1", "b2"}
    semicolons = write_lines(
        tmp_path / "semi.csv", "\ufeffItem_ID;label;reviewer", "a1;fraud;ann", " b2 ; other ;bob"
    )
    reviews = read_review_file(semicolons, known_items=known, class_names=CLASSES)
    assert reviews.values.tolist() == [["a1", "fraud", "ann"], ["b2", "other", "bob"]]
    repeated = write_lines(
        tmp_path / "rep.csv", "item_id,label,reviewer", "a1,fraud,ann", "", "a1,fraud,bob", "b2,,"
    )
    reviews = read_review_file(repeated, known_items=known, class_names=CLASSES)
    # the same answer from a second reviewer keeps both reviewers (four-eyes sees everyone)
    assert reviews.values.tolist() == [["a1", "fraud", "ann"], ["a1", "fraud", "bob"]]


def test_label_studio_tasks_and_config(tmp_path, corpus) -> None:
    queue = queue_for(*corpus)
    tasks_path, config_path = write_label_studio_tasks(
        queue, tmp_path / "tasks.json", CLASSES, model_version="lg-1"
    )
    tasks = json.loads(tasks_path.read_text(encoding="utf-8"))
    assert len(tasks) == len(queue)
    first = queue.iloc[0]
    assert tasks[0] == {
        "data": {"item_id": first["item_id"], "text": first["text"]},
        "predictions": [
            {
                "model_version": "lg-1",
                "score": pytest.approx(first["confidence"]),
                "result": [
                    {
                        "from_name": "label",
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": [first["predicted_label"]]},
                    }
                ],
            }
        ],
    }
    assert config_path == tmp_path / "tasks.label_config.xml"
    assert config_path.read_text(encoding="utf-8") == label_studio_config(CLASSES)
    view = ET.fromstring(label_studio_config([*CLASSES, 'a "b" & <c>']))
    assert view.find("Text").attrib == {"name": "text", "value": "$text"}
    choices = view.find("Choices")
    assert choices.attrib == {"name": "label", "toName": "text", "choice": "single"}
    assert [c.get("value") for c in choices] == [*CLASSES, 'a "b" & <c>']
    with pytest.raises(ValueError, match="not classes"):
        write_label_studio_tasks(queue, tmp_path / "t.json", ["fraud"], model_version="x")


def ls_task(task_id: int, item_id: str, annotations: list[dict]) -> dict:
    """A task as Label Studio's 'JSON' export writes it."""
    return {
        "id": task_id,
        "annotations": annotations,
        "file_upload": "tasks.json",
        "drafts": [],
        "predictions": [task_id + 1000],
        "data": {"item_id": item_id, "text": f"text of {item_id}"},
        "meta": {},
        "created_at": "2024-05-01T10:00:00.000000Z",
        "updated_at": "2024-05-01T11:00:00.000000Z",
        "inner_id": task_id,
        "total_annotations": len(annotations),
        "cancelled_annotations": 0,
        "total_predictions": 1,
        "comment_count": 0,
        "project": 3,
        "updated_by": 1,
    }


def ls_annotation(choice: str | None, completed_by: object, *, cancelled: bool = False) -> dict:
    result = (
        []
        if choice is None
        else [
            {
                "value": {"choices": [choice]},
                "id": "x1",
                "from_name": "label",
                "to_name": "text",
                "type": "choices",
                "origin": "prediction-changed",
            }
        ]
    )
    return {
        "id": 11,
        "completed_by": completed_by,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": "2024-05-01T10:30:00.000000Z",
        "updated_at": "2024-05-01T10:31:00.000000Z",
        "lead_time": 4.2,
        "prediction": {},
        "result_count": 0,
        "task": 1,
        "project": 3,
    }


def test_label_studio_export_imports(tmp_path) -> None:
    user = {"id": 1, "first_name": "", "last_name": "", "email": "ann@example.org"}
    export = [
        ls_task(1, "a1", [ls_annotation("fraud", user)]),
        ls_task(2, "b2", []),  # not annotated yet: skipped
        ls_task(3, "c3", [ls_annotation("other", 7), ls_annotation("billing", "bob")]),
        ls_task(4, "d4", [ls_annotation("fraud", 2), ls_annotation("other", 3, cancelled=True)]),
        ls_task(5, "e5", [ls_annotation("other", {"id": 9, "username": "carl"})]),
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    reviews = read_review_file(
        path, known_items={"a1", "b2", "c3", "d4", "e5"}, class_names=CLASSES
    )
    assert reviews.values.tolist() == [
        ["a1", "fraud", "ann@example.org"],
        ["c3", "billing", "bob"],  # the last annotation wins
        ["d4", "fraud", "2"],  # a cancelled annotation does not count
        ["e5", "other", "carl"],
    ]
    store = ReviewStore(tmp_path / "reviews")
    result = store.import_file(
        path,
        known_items={"a1", "b2", "c3", "d4", "e5"},
        class_names=CLASSES,
        purposes={"a1": "calibration", "c3": "uncertain"},
    )
    assert (result.rows, result.new_items, result.changed_labels) == (4, 4, 0)
    stored = store.reviewed_labels().set_index("item_id")["purpose"].to_dict()
    assert stored == {"a1": "calibration", "c3": "uncertain", "d4": "adhoc", "e5": "adhoc"}


# --- validation: every bad row, nothing stored ---------------------------------------------


def refused(path: Path, store: ReviewStore, known: set[str]) -> list[tuple[int | str, str]]:
    with pytest.raises(ReviewFileError) as caught:
        store.import_file(path, known_items=known, class_names=CLASSES, purposes={})
    assert caught.value.path == str(path)
    assert "nothing was imported" in str(caught.value)
    assert store.reviewed_labels().empty
    assert not list(store.imported_dir.glob("*.parquet")) if store.imported_dir.exists() else True
    return caught.value.bad_rows


def test_every_bad_csv_row_is_reported_and_nothing_stored(tmp_path) -> None:
    store = ReviewStore(tmp_path / "reviews")
    path = write_lines(
        tmp_path / "bad.csv",
        "item_id,text,label,reviewer",  # line 1
        "a1,hello,fraud,ann",  # 2: fine
        "zz,hello,fraud,ann",  # 3: unknown item
        "b2,hello,spam,ann",  # 4: not a class
        "c3,hello,other,",  # 5: no reviewer
        ",hello,other,ann",  # 6: no item id
        "a1,hello,billing,bob",  # 7: a1 again, different label
        "d4,hello,,",  # 8: not reviewed yet: fine
        "e5,hello,,ann",  # 9: reviewer without label
        "e5,x,y,fraud,ann",  # 10: too many fields
        "yy,hello,spam,",  # 11: three problems at once
    )
    bad = refused(path, store, known={"a1", "b2", "c3", "d4", "e5"})
    assert [row for row, _ in bad] == [3, 4, 5, 6, 7, 9, 10, 11]
    reasons = dict(bad)
    assert "unknown item id 'zz'" in reasons[3]
    assert "'spam' is not one of the classes" in reasons[4]
    assert reasons[5] == "missing reviewer"
    assert reasons[6] == "missing item id"
    assert "already appears in row 2 with label 'fraud'" in reasons[7]
    assert reasons[9] == "missing label"
    assert "5 fields" in reasons[10]
    assert reasons[11].count(";") == 2


@pytest.mark.parametrize(
    ("content", "row", "reason"),
    [
        ("", "file", "is empty"),
        ("item_id,label,reviewer\n", "file", "no rows"),
        ("item_id,label,reviewer\na1,,\n", "file", "no reviewed rows"),
        ("item_id,label\na1,fraud\n", 1, "missing required column(s) ['reviewer']"),
        ("item_id,label,label,reviewer\na1,fraud,fraud,ann\n", 1, "more than once"),
    ],
)
def test_unusable_csv_files_are_refused(tmp_path, content, row, reason) -> None:
    path = tmp_path / "file.csv"
    path.write_text(content, encoding="utf-8")
    [(bad_row, bad_reason)] = refused(path, ReviewStore(tmp_path / "reviews"), known={"a1"})
    assert bad_row == row and reason in bad_reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('[{"data": {"item_id": "a1"}, ', "malformed JSON"),
        ('{"data": {"item_id": "a1"}}', "expected a JSON list"),
        ("[]", "no rows"),
        ("", "malformed JSON"),
        (json.dumps([ls_task(1, "a1", [])]), "no reviewed rows"),
    ],
)
def test_unusable_json_files_are_refused(tmp_path, content, reason) -> None:
    path = tmp_path / "export.json"
    path.write_text(content, encoding="utf-8")
    [(row, bad_reason)] = refused(path, ReviewStore(tmp_path / "reviews"), known={"a1"})
    assert row == "file" and reason in bad_reason


def test_every_bad_label_studio_task_is_reported(tmp_path) -> None:
    export = [
        ls_task(1, "a1", [ls_annotation("fraud", 1)]),  # 0: fine
        ls_task(2, "zz", [ls_annotation("fraud", 1)]),  # 1: unknown item
        ls_task(3, "b2", [ls_annotation(None, 1)]),  # 2: submitted without a choice
        ls_task(4, "c3", [ls_annotation("fraud", None)]),  # 3: no reviewer
        {"id": 5, "item_id": "c3", "label": "fraud", "annotator": 1},  # 4: JSON-MIN row
        ls_task(6, "a1", [ls_annotation("other", 2)]),  # 5: a1 again, other label
        "not a task",  # 6
    ]
    del export[3]["data"]["item_id"]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    bad = refused(path, ReviewStore(tmp_path / "reviews"), known={"a1", "b2", "c3"})
    assert [row for row, _ in bad] == [1, 2, 3, 4, 5, 6]
    reasons = dict(bad)
    assert "unknown item id 'zz'" in reasons[1]
    assert reasons[2] == "missing label"
    assert reasons[3] == "missing item id; missing reviewer"
    assert "JSON-MIN" in reasons[4]
    assert "already appears in row 0" in reasons[5]


def test_missing_or_undecodable_file(tmp_path) -> None:
    store = ReviewStore(tmp_path / "reviews")
    with pytest.raises(ReviewFileError, match="does not exist"):
        store.import_file(
            tmp_path / "nope.csv", known_items=set(), class_names=CLASSES, purposes={}
        )
    latin = tmp_path / "latin.csv"
    latin.write_bytes("item_id,label,reviewer\na1,fraud,Jos\xe9\n".encode("latin-1"))
    [(_row, reason)] = refused(latin, store, known={"a1"})
    assert "not UTF-8" in reason


# --- the store ---------------------------------------------------------------------------


def test_empty_store_has_the_reviewed_labels_columns(tmp_path) -> None:
    labels = ReviewStore(tmp_path / "reviews").reviewed_labels()
    assert labels.empty and list(labels.columns) == REVIEWED_COLUMNS


def test_import_stores_reviewed_labels_schema(tmp_path) -> None:
    store = ReviewStore(tmp_path / "reviews")
    path = write_lines(tmp_path / "r.csv", "item_id,label,reviewer", "a1,fraud,ann", "b2,other,bob")
    result = store.import_file(
        path,
        known_items={"a1", "b2"},
        class_names=CLASSES,
        purposes={"a1": "calibration"},
        imported_at="2024-05-02T09:00:00+00:00",
    )
    assert result.path.parent == store.imported_dir and result.path.stem == result.sha256
    labels = store.reviewed_labels()
    assert list(labels.columns) == REVIEWED_COLUMNS
    assert labels.to_dict("records") == [
        {
            "item_id": "a1",
            "label": "fraud",
            "reviewer": "ann",
            "purpose": "calibration",
            "reviewed_at": "2024-05-02T09:00:00+00:00",
            "review_file": str(path.resolve()),
            "review_file_sha256": result.sha256,
        },
        {
            "item_id": "b2",
            "label": "other",
            "reviewer": "bob",
            "purpose": "adhoc",
            "reviewed_at": "2024-05-02T09:00:00+00:00",
            "review_file": str(path.resolve()),
            "review_file_sha256": result.sha256,
        },
    ]


def test_reimport_of_the_same_file_is_refused(tmp_path) -> None:
    store = ReviewStore(tmp_path / "reviews")
    path = write_lines(tmp_path / "r.csv", "item_id,label,reviewer", "a1,fraud,ann")
    kwargs = {"known_items": {"a1"}, "class_names": CLASSES, "purposes": {}}
    store.import_file(path, imported_at="2024-05-02T09:00:00+00:00", **kwargs)
    copy = shutil.copy(path, tmp_path / "renamed.csv")  # same bytes under another name
    for again in (path, Path(copy)):
        with pytest.raises(ReviewFileError) as caught:
            store.import_file(again, **kwargs)
        [(row, reason)] = caught.value.bad_rows
        assert row == "file"
        assert reason.startswith("file already imported on 2024-05-02T09:00:00+00:00")
    assert len(list(store.imported_dir.glob("*.parquet"))) == 1
    assert len(store.all_reviews()) == 1


def test_latest_review_wins(tmp_path) -> None:
    store = ReviewStore(tmp_path / "reviews")
    kwargs = {"known_items": {"a1", "b2", "c3"}, "class_names": CLASSES, "purposes": {}}
    first = write_lines(
        tmp_path / "1.csv", "item_id,label,reviewer", "a1,fraud,ann", "b2,other,ann"
    )
    second = write_lines(
        tmp_path / "2.csv",
        "item_id,label,reviewer",
        "a1,billing,bob",
        "b2,other,bob",
        "c3,fraud,bob",
    )
    store.import_file(first, imported_at="2024-05-02T09:00:00+00:00", **kwargs)
    result = store.import_file(second, imported_at="2024-05-03T09:00:00Z", **kwargs)
    assert (result.rows, result.new_items, result.changed_labels) == (3, 1, 1)
    labels = store.reviewed_labels().set_index("item_id")
    assert labels["label"].to_dict() == {"a1": "billing", "b2": "other", "c3": "fraud"}
    assert labels["reviewer"].to_dict() == {"a1": "bob", "b2": "bob", "c3": "bob"}
    assert len(store.all_reviews()) == 5  # history is kept

    # A file stamped earlier than what is stored does not overrule the later review.
    late = write_lines(tmp_path / "3.csv", "item_id,label,reviewer", "a1,other,carl")
    store.import_file(late, imported_at="2024-05-02T12:00:00+00:00", **kwargs)
    assert store.reviewed_labels().set_index("item_id").at["a1", "label"] == "billing"
