"""Image domain: ingest and quarantine, spec errors, box matching and fusion, the detection
gate, and export → import round trips (COCO, YOLO, Label Studio)."""

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from labelgate.errors import ProjectSpecError, ReviewFileError
from labelgate.gate import GateResult
from labelgate.images.boxes import Boxes, detection_scores, match_boxes
from labelgate.images.export import export_coco, export_label_studio, export_yolo, split_of
from labelgate.images.fusion import fuse_boxes
from labelgate.images.gate import accepted_boxes, detection_evidence
from labelgate.images.ingest import ImageLimits, discover_image_batches, ingest_image_batch
from labelgate.images.reviews import BoxReviewStore, read_box_answers
from labelgate.spec import parse_project

CLASSES = ["person", "vehicle"]


def _png(path: Path, size: tuple[int, int] = (64, 48), color: str = "red") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def _bomb_png(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose header claims width x height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))


def test_ingest_quarantines_bad_images_and_conserves_counts(tmp_path: Path) -> None:
    folder = tmp_path / "inbox" / "b1"
    good = _png(folder / "a.png")
    _png(folder / "sub" / "b.png", color="blue")
    (folder / "copy.png").write_bytes(good.read_bytes())  # duplicate content
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("not an image at all")
    data = (folder / "a.png").read_bytes()
    Image.new("RGB", (400, 300), "green").save(folder / "big.jpg", quality=90)
    full = (folder / "big.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(full[: len(full) // 2])
    _bomb_png(folder / "bomb.png", 100_000, 100_000)
    (folder / "notes.txt").write_text("ignored: not an image suffix")
    assert data

    [batch] = discover_image_batches(tmp_path / "inbox")
    result = ingest_image_batch(batch, ImageLimits(max_pixels=1_000_000))
    assert result.seen == 8
    assert (result.kept, result.duplicates, result.quarantined) == (3, 1, 4)
    reasons = dict(zip(result.quarantine["excerpt"], result.quarantine["reason"], strict=True))
    assert reasons["zero.jpg"] == "empty file"
    assert reasons["text.jpg"].startswith("not a readable image")
    assert reasons["truncated.jpg"].startswith("truncated or corrupt image")
    assert "decompression-bomb guard" in reasons["bomb.png"]
    sizes = result.items.set_index("source_id")[["width", "height"]]
    assert sizes.loc["big.jpg"].tolist() == [400, 300]
    assert sizes.loc["sub/b.png"].tolist() == [64, 48]
    assert result.items["item_id"].is_unique


def test_exif_rotation_swaps_width_and_height(tmp_path: Path) -> None:
    image = Image.new("RGB", (80, 20), "red")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees when displayed
    (tmp_path / "in").mkdir()
    image.save(tmp_path / "in" / "r.jpg", exif=exif)
    [batch] = discover_image_batches(tmp_path / "in")
    items = ingest_image_batch(batch).items
    assert items[["width", "height"]].iloc[0].tolist() == [20, 80]


def _spec(**overrides: object) -> dict:
    data = {
        "name": "street",
        "modality": "image_detection",
        "source": {"path": "images"},
        "classes": [{"name": "vehicle", "description": "cars and trucks"}],
        "labelers": [{"type": "yolo", "path": "m", "ontology": {"car": "vehicle"}}],
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"labelers": [{"type": "yolo", "path": "m", "ontology": {"car": "bike"}}]},
         r"labelers\.yolo\.ontology: maps to unknown classes \['bike'\]"),
        ({"labelers": [{"type": "yolo", "path": "m", "conf": 2}]}, r"labelers\.0\.yolo\.conf"),
        ({"labelers": [{"type": "yolo", "path": "m", "device": "gpu9"}]},
         r"labelers\.0\.yolo\.device"),
        ({"labelers": [{"type": "yolo_cls", "path": "m"}]}, r"labelers\.yolo_cls\.type"),
        ({"source": {"path": "x", "text_column": "t"}}, r"source\.text_column: Extra inputs"),
        ({"source": {"path": "x", "max_pixels": 0}}, r"source\.max_pixels"),
        ({"modality": "image_classification", "labelers": [{"type": "yolo_cls", "path": "m"}]},
         r"classes: .*at least 2 items"),
        ({"labelers": [{"type": "rules", "rules": {}}]}, r"labelers\.rules\.type: modality"),
    ],
)  # fmt: skip
def test_image_spec_errors_name_the_field(overrides: dict, expected: str) -> None:
    with pytest.raises(ProjectSpecError, match=expected):
        parse_project(_spec(**overrides), base_dir=Path("/p"), origin=Path("/p/s.yaml"))


def test_image_spec_resolves_paths() -> None:
    data = _spec(source={"path": "images", "labels": {"format": "yolo", "path": "labels"}})
    spec = parse_project(data, base_dir=Path("/p"), origin=Path("/p/s.yaml"))
    assert spec.source.path == Path("/p/images")
    assert spec.source.labels.path == Path("/p/labels")
    assert spec.labelers[0].path == Path("/p/m")
    assert spec.labelers[0].min_conf == pytest.approx(0.125)


def _boxes(*rows: tuple[str, float, float, float, float, float]) -> Boxes:
    return Boxes(
        np.array([r[1:5] for r in rows]).reshape(-1, 4),
        np.array([r[0] for r in rows], dtype=object),
        np.array([r[5] for r in rows]),
    )


def test_match_requires_class_iou_and_nothing_extra() -> None:
    truth = _boxes(("person", 0.1, 0.1, 0.3, 0.5, 1.0), ("vehicle", 0.5, 0.5, 0.9, 0.9, 1.0))
    exact = _boxes(("vehicle", 0.52, 0.5, 0.9, 0.92, 0.8), ("person", 0.1, 0.12, 0.3, 0.5, 0.9))
    assert match_boxes(exact, truth).exact
    wrong_class = _boxes(("vehicle", 0.1, 0.1, 0.3, 0.5, 0.9), ("vehicle", 0.5, 0.5, 0.9, 0.9, 1))
    assert not match_boxes(wrong_class, truth).exact
    extra = Boxes(
        np.vstack([exact.xyxy, [[0.0, 0.0, 0.05, 0.05]]]),
        np.append(exact.labels, "person"),
        np.append(exact.confidence, 0.3),
    )
    assert match_boxes(extra, truth).false_positives == 1
    scores = detection_scores([exact, wrong_class], [truth, truth], CLASSES)
    assert 0 < scores.map50 < 1 and scores.exact_images == 1
    nothing_true = detection_scores([exact], [Boxes.empty()], CLASSES)
    assert nothing_true.map50 is None and nothing_true.exact_images == 0


def test_fusion_averages_agreeing_sources_and_halves_lone_boxes() -> None:
    a = _boxes(("person", 0.1, 0.1, 0.3, 0.5, 0.9), ("vehicle", 0.6, 0.6, 0.8, 0.8, 0.4))
    b = _boxes(("person", 0.12, 0.1, 0.32, 0.5, 0.7))
    fused = fuse_boxes([("a", a), ("b", b)], box_threshold=0.25)
    assert len(fused.kept) == 1 and fused.kept.labels[0] == "person"
    assert fused.kept.confidence[0] == pytest.approx(0.8)
    assert fused.kept.xyxy[0, 0] == pytest.approx((0.1 * 0.9 + 0.12 * 0.7) / 1.6)
    assert fused.sources == [["a", "b"]]
    assert fused.dropped.confidence.tolist() == pytest.approx([0.2])
    assert fused.confidence == pytest.approx(0.8)  # min(0.8, 1 - 0.2)
    single = fuse_boxes([("a", a)], box_threshold=0.25)
    assert len(single.kept) == 2 and single.confidence == pytest.approx(0.4)


def _records(boxes: Boxes) -> list[dict]:
    return boxes.to_records()


def test_detection_gate_evidence_and_accepted_rows() -> None:
    truth = _boxes(("person", 0.1, 0.1, 0.3, 0.5, 1.0))
    good = _boxes(("person", 0.1, 0.1, 0.3, 0.5, 0.9))
    auto = pd.DataFrame(
        {
            "item_id": ["i1", "i2", "i3"],
            "boxes": [_records(good), [], _records(good)],
            "n_boxes": [1, 0, 1],
            "confidence": [0.9, 0.95, 0.6],
            "labeler_versions": ["{}"] * 3,
        }
    )
    reviewed = pd.DataFrame(
        {
            "item_id": ["i1", "i2"],
            "boxes": [_records(truth), _records(truth)],
            "reviewer": ["ann", "bob"],
            "purpose": ["calibration", "calibration"],
        }
    )
    evidence = detection_evidence(auto, reviewed, purposes=["calibration"])
    assert dict(zip(evidence["item_id"], evidence["correct"], strict=True)) == {
        "i1": True,
        "i2": False,  # missed the person
    }
    gate = GateResult(0.5, 2, 2, 1.0, 0.9, 0.9, 0.95, 0, "test")
    accepted = accepted_boxes(auto, reviewed, gate, "run")
    assert sorted(accepted["source"]) == ["auto", "human", "human"]
    assert accepted.set_index("item_id").loc["i3", "confidence"] == 0.6


@pytest.fixture
def labeled(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    paths = [_png(tmp_path / "img" / f"im{i}.png", (100 + i, 50)) for i in range(6)]
    items = pd.DataFrame(
        {
            "item_id": [f"{i:016x}" for i in range(6)],
            "path": [str(p) for p in paths],
            "width": [100 + i for i in range(6)],
            "height": [50] * 6,
        }
    )
    boxes = [
        [{"label": "person", "x1": 0.1, "y1": 0.2, "x2": 0.4, "y2": 0.9, "confidence": 1.0},
         {"label": "vehicle", "x1": 0.5, "y1": 0.1, "x2": 0.95, "y2": 0.6, "confidence": 1.0}]
        if i % 3 else []
        for i in range(6)
    ]  # fmt: skip
    accepted = pd.DataFrame({"item_id": items["item_id"], "boxes": boxes})
    return items, accepted


def _same(read: pd.DataFrame, accepted: pd.DataFrame) -> None:
    got = read.set_index("item_id")["boxes"]
    assert set(got.index) == set(accepted["item_id"])
    for item_id, boxes in zip(accepted["item_id"], accepted["boxes"], strict=True):
        assert len(got[item_id]) == len(boxes)
        for mine, theirs in zip(
            sorted(got[item_id], key=lambda b: b["x1"]),
            sorted(boxes, key=lambda b: b["x1"]),
            strict=True,
        ):
            assert mine["label"] == theirs["label"]
            for k in ("x1", "y1", "x2", "y2"):
                assert mine[k] == pytest.approx(theirs[k], abs=1e-4)


@pytest.mark.parametrize("kind", ["coco", "yolo", "labelstudio"])
def test_export_then_import_gives_the_same_boxes(labeled, tmp_path: Path, kind: str) -> None:
    items, accepted = labeled
    if kind == "coco":
        out = export_coco(accepted, items, CLASSES, tmp_path / "out" / "coco.json")
    elif kind == "yolo":
        out = export_yolo(accepted, items, CLASSES, tmp_path / "out" / "yolo", val_fraction=0.5)
        assert (out / "data.yaml").is_file()
        again = export_yolo(accepted, items, CLASSES, tmp_path / "out" / "yolo2", val_fraction=0.5)
        assert sorted(p.name for p in (out / "labels" / "val").iterdir()) == sorted(
            p.name for p in (again / "labels" / "val").iterdir()
        )
        out = out / "labels"
    else:
        out = export_label_studio(accepted, items, CLASSES, tmp_path / "out" / "ls.json")
    read = read_box_answers(out, items=items, class_names=CLASSES, reviewer="me")
    _same(read, accepted)
    store = BoxReviewStore(tmp_path / "reviews")
    result = store.import_answers(out, read, purposes={items["item_id"][0]: "calibration"})
    assert result.rows == 6 and result.new_items == 6
    with pytest.raises(ReviewFileError, match="already imported"):
        store.import_answers(out, read, purposes={})
    assert store.reviewed_labels()["purpose"].value_counts().to_dict() == {
        "adhoc": 5,
        "calibration": 1,
    }


def test_split_is_deterministic_and_near_the_fraction() -> None:
    splits = [split_of(f"{i:016x}", val_fraction=0.2, seed=0) for i in range(2000)]
    assert splits == [split_of(f"{i:016x}", val_fraction=0.2, seed=0) for i in range(2000)]
    assert 0.17 < splits.count("val") / 2000 < 0.23


def test_bad_review_file_is_refused_whole(labeled, tmp_path: Path) -> None:
    items, _ = labeled
    tasks = [
        {"data": {"item_id": items["item_id"][0]}, "annotations": [{"completed_by": 1, "result": [
            {"type": "rectanglelabels", "value": {"x": 10, "y": 10, "width": 20, "height": 20,
                                                  "rectanglelabels": ["person"]}}]}]},
        {"data": {"item_id": "nope"}, "annotations": [{"completed_by": 1, "result": []}]},
        {"data": {"item_id": items["item_id"][1]}, "annotations": [{"completed_by": 1, "result": [
            {"type": "rectanglelabels", "value": {"x": 90, "y": 10, "width": 30, "height": 20,
                                                  "rectanglelabels": ["dragon"]}}]}]},
    ]  # fmt: skip
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(tasks))
    with pytest.raises(ReviewFileError) as info:
        read_box_answers(path, items=items, class_names=CLASSES)
    message = str(info.value)
    assert "unknown item id 'nope'" in message
    assert "'dragon' is not one of" in message and "outside the image" in message


def test_non_image_is_quarantined_even_after_ultralytics_patched_pil(tmp_path: Path) -> None:
    import ultralytics.utils.patches  # noqa: F401  (replaces PIL.Image.open process-wide)

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "fake.png").write_text("not an image")
    [batch] = discover_image_batches(tmp_path / "in")
    result = ingest_image_batch(batch)
    assert result.quarantine["reason"].str.startswith("not a readable image").all()


def test_gold_labels_of_the_source_are_imported_once(tmp_path: Path) -> None:
    from labelgate.images.project import ImageProjectData
    from labelgate.project import RAW_ITEMS

    labels = tmp_path / "gold"
    labels.mkdir()
    (labels / "a.txt").write_text("1 0.5 0.5 0.2 0.2\n")  # vehicle
    (labels / "orphan.txt").write_text("0 0.5 0.5 0.2 0.2\n")  # no such image: ignored
    data = _spec(
        classes=[{"name": "person", "description": "p"}, {"name": "vehicle", "description": "v"}],
        labelers=[{"type": "yolo", "path": "m"}],
        source={"path": "images", "labels": {"format": "yolo", "path": "gold"}},
        storage="store",
    )
    spec = parse_project(data, base_dir=tmp_path, origin=tmp_path / "s.yaml")
    project = ImageProjectData(spec)
    items = pd.DataFrame(
        {
            "item_id": ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"],
            "path": [str(tmp_path / "images" / "a.jpg"), str(tmp_path / "images" / "b.jpg")],
            "width": [10, 10],
            "height": [10, 10],
        }
    )
    project.tables.write(RAW_ITEMS, items, "images")
    result = project.import_gold()
    assert result is not None and result.rows == 1
    reviewed = project.reviewed()
    assert reviewed[["item_id", "reviewer", "purpose"]].values.tolist() == [
        ["aaaaaaaaaaaaaaaa", "gold", "gold"]
    ]
    assert reviewed["boxes"][0][0]["label"] == "vehicle"
    assert project.import_gold() is None  # the same labels for the same items: nothing new
