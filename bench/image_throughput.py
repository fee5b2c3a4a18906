"""Images/s through the detection ``candidate_labels`` asset against bare ``model.predict``.

Same process, same model object (loaded once, so load cost is out of both), same images, same
batch size, device and image size:

* pipeline: ``candidate_labels`` materialized with ``dg.materialize`` from the project's real
  definitions on an ephemeral instance (``raw_items`` ingested beforehand). Two rates: the
  asset's own ``images_per_second`` (read chunks, predict, map classes, write Parquet) and the
  whole ``dg.materialize`` call (plus Dagster's run/step overhead);
* bare: ``model.predict(paths, conf, iou, imgsz, batch, device)`` over the same files.

Both are warmed up first. Rounds alternate which side goes first (other processes share the
CPU); the table shows medians. The pipeline predicts down to ``candidate_conf`` (conf / 2) to
keep evidence of missed objects, so it post-processes a few more boxes than bare does.

Run from the repository root: ``.venv/bin/python bench/image_throughput.py --help``.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

os.environ["YOLO_OFFLINE"] = "1"
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import dagster as dg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from labelgate.images.labelers import load_yolo, resolve_device  # noqa: E402
from labelgate.models.box_cache import box_cache  # noqa: E402
from labelgate.project import CANDIDATE_LABELS, RAW_ITEMS  # noqa: E402
from labelgate.spec import ProjectSpec  # noqa: E402
from pipelines.project_defs import build_project_definitions  # noqa: E402
from tests.image_projects import write_detection_project  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=SHARED / "yolov8n_int8_openvino_model")
    parser.add_argument("--images", type=Path, default=SHARED / "coco128" / "images" / "train2017")
    parser.add_argument("--n", type=int, default=64, help="images to label per pass")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for path in (args.model, args.images):
        if not path.exists():
            sys.exit(f"{path} is missing (see ../shared/data/README.md)")

    work = Path(tempfile.mkdtemp(prefix="image_bench_"))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    files = sorted(args.images.glob("*.jpg"))[: args.n]
    inbox = work / "inbox" / "bench"
    inbox.mkdir(parents=True)
    for file in files:
        shutil.copy2(file, inbox / file.name)
    names = load_yolo(args.model, "detect").names
    spec = write_spec(work, args, [names[i] for i in sorted(names)])
    defs = build_project_definitions(spec)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(f"{spec.name}__batches", ["bench"])

    def materialize(*assets: str) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            list(defs.assets),
            selection=[dg.AssetKey([spec.name, a]) for a in assets],
            partition_key="bench",
            instance=instance,
            resources=defs.resources,
            raise_on_error=True,
        )

    materialize(RAW_ITEMS)
    model = load_yolo(args.model, "detect")
    device = resolve_device(args.device)
    paths = [str(inbox / f.name) for f in files]
    n = len(paths)

    def bare() -> float:
        started = time.perf_counter()
        results = model.predict(
            paths,
            conf=spec.labelers[0].conf,
            iou=spec.labelers[0].iou,
            imgsz=args.imgsz,
            batch=args.batch,
            device=device,
            verbose=False,
            stream=True,
        )
        boxes = sum(len(r.boxes) for r in results)
        assert boxes > 0
        return n / (time.perf_counter() - started)

    def pipeline() -> tuple[float, float]:
        # The detectors cache their boxes per image: start each pass cold, or it would time
        # the cache, not the detector.
        for cached in box_cache(spec).path.parent.glob(box_cache(spec).path.name + "*"):
            cached.unlink()
        started = time.perf_counter()
        result = materialize(CANDIDATE_LABELS)
        wall = n / (time.perf_counter() - started)
        [event] = result.get_asset_materialization_events()
        return float(event.materialization.metadata["images_per_second"].value), wall

    bare()  # warm-up: first calls, predictor setup
    pipeline()
    bare_rates, asset_rates, run_rates = [], [], []
    for round_ in range(args.repeats):
        if round_ % 2 == 0:
            bare_rates.append(bare())
            asset, wall = pipeline()
        else:
            asset, wall = pipeline()
            bare_rates.append(bare())
        asset_rates.append(asset)
        run_rates.append(wall)

    b, a, r = median(bare_rates), median(asset_rates), median(run_rates)
    table = Table(
        title=f"{n} images · batch {args.batch} · imgsz {args.imgsz} · device {device} · "
        f"{args.repeats} rounds (medians) · {args.model.name}"
    )
    for column in ("measured", "images/s", "ratio to bare"):
        table.add_column(column, justify="right")
    table.add_row("bare model.predict", f"{b:.2f}", "1.00")
    table.add_row("candidate_labels asset (its own rate)", f"{a:.2f}", f"{a / b:.2f}")
    table.add_row("dg.materialize(candidate_labels)", f"{r:.2f}", f"{r / b:.2f}")
    Console().print(table)
    print(f"rounds bare={bare_rates} asset={asset_rates} materialize={run_rates}")
    print(f"RATIO asset/bare = {a / b:.3f} (target >= 0.8); materialize/bare = {r / b:.3f}")


def write_spec(work: Path, args: argparse.Namespace, class_names: list[str]) -> ProjectSpec:
    labeler = {"type": "yolo", "path": str(args.model.resolve()), "imgsz": args.imgsz}
    return write_detection_project(
        work,
        name="image_bench",
        classes={c: c for c in class_names},
        labelers=[{**labeler, "batch": args.batch, "device": args.device}],
        file="bench.yaml",
    )


if __name__ == "__main__":
    main()
