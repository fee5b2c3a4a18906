"""Throughput and memory of labelgate's text labeling vs the bare ``SentenceTransformer``.

1. Throughput, one process, same device, same torch threads, same texts, same batch size:
   * bare: ``SentenceTransformer(<the local all-MiniLM-L6-v2>).encode(texts, batch_size=64)``
     on exactly the ``raw_items`` texts the pipeline read: what a user would run instead;
   * ``candidate_labels``: the asset materialized through Dagster with the real definitions
     and resources (``build_definitions``) on an ephemeral instance, with a FRESH embedding
     cache (new storage folder; afterwards it must hold exactly one vector per item, so every
     item was really encoded). Rate = the asset's ``items_per_second`` metadata (its
     streaming loop: read chunk, cache lookup, encode, cache write, rows, Parquet, ledger
     rows), and the whole step (labeler build included);
   * whole run: ``labelgate run`` of the same project (``run_project``: import reviews, ingest,
     candidate labels, auto labels, Great Expectations checks, gate, review queue, label
     set, ledger) in a fresh store on a fresh instance, in this already warm process.
   Texts: the first ``--items`` of banking77 (``../shared/data/banking77/train.csv``), else
   synthetic bank messages. Both sides are warmed up first (model load and first calls out of
   both); rounds (``--repeats``) alternate which side goes first; medians, with CPU-time
   ratios beside the wall-clock ones (steadier when other processes share the CPU). The
   vectors are compared.
2. Peak RSS of labeling 20k and 200k items (``--rss-sizes``) through the same asset, each in a
   fresh subprocess reporting its own VmHWM (see ``peak_rss_mib``). ``raw_items`` is ingested
   in an earlier subprocess, so the measured one runs ``candidate_labels`` alone.

Run from the repository root: ``.venv/bin/python bench/text_throughput.py --help``.
"""

# ruff: noqa: E402  (the environment must be set before transformers is imported)

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Any, TypeVar

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import dagster as dg
import numpy as np
import pandas as pd
import psutil
import torch
import yaml
from rich.console import Console
from rich.table import Table

from labelgate.build import embedding_cache_path
from labelgate.embeddings import default_minilm_path, resolve_device
from labelgate.ingest import batch_key
from labelgate.project import CANDIDATE_LABELS, RAW_ITEMS, REVIEWED_LABELS
from labelgate.spec import ProjectSpec, load_project
from labelgate.synth.bank_messages import generate_messages
from labelgate_cli.runner import run_project
from pipelines.definitions import build_definitions
from resources.encoder import TextEncoderResource

DEMO_PROJECT = REPO / "projects" / "complaints.yaml"
BANKING77 = REPO.parent / "shared" / "data" / "banking77" / "train.csv"
PROJECT = "bench"
MAX_LENGTH = 256  # MiniLMEncoder's default truncation; the bare model uses the same
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
console = Console(width=140)
T = TypeVar("T")


# --- inputs and projects ----------------------------------------------------------------


def write_messages(path: Path, n: int, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    generate_messages(n, seed=seed)[["message_id", "text"]].to_parquet(path, index=False)
    return path


def write_banking77(path: Path, n: int) -> Path | None:
    """The first ``n`` distinct banking77 texts, or None where the data set is absent."""
    if not BANKING77.is_file():
        return None
    texts = pd.read_csv(BANKING77)["text"].drop_duplicates().head(n)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"message_id": [f"b{i:05d}" for i in range(len(texts))], "text": texts})
    frame.to_parquet(path, index=False)
    return path


def write_project(folder: Path, inbox: Path) -> ProjectSpec:
    """The demo project with only its ``embedding`` labeler, reading ``inbox``, storing in
    ``folder`` (so a new folder means an empty embedding cache)."""
    data = yaml.safe_load(DEMO_PROJECT.read_text(encoding="utf-8"))
    data["name"] = PROJECT
    data["source"].update({"path": str(inbox), "text_column": "text", "id_column": "message_id"})
    data["labelers"] = [labeler for labeler in data["labelers"] if labeler["type"] == "embedding"]
    data["storage"] = str(folder / "store")
    data["review"]["folder"] = str(folder / "reviews")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "project.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_project(path)


def source_partition(spec: ProjectSpec) -> str:
    (source,) = sorted(spec.source.path.glob("*.parquet"))
    return batch_key(source)


# --- Dagster ------------------------------------------------------------------------------


@dataclass
class LabelRun:
    items: int
    items_per_second: float  # the asset's own metadata (streaming loop only)
    step_seconds: float  # STEP_START → STEP_SUCCESS of the candidate_labels step
    cached_vectors: int  # rows in the (fresh) embedding cache afterwards
    run_seconds: float  # the whole dg.materialize call


def materialize(
    spec: ProjectSpec, encoder: TextEncoderResource, names: list[str], partition: str | None
) -> tuple[dg.ExecuteInProcessResult, dg.DagsterInstance]:
    defs = build_definitions([spec], encoder=encoder)
    keys = [dg.AssetKey([spec.name, name]) for name in names]
    instance = dg.DagsterInstance.ephemeral()
    if partition is not None:
        partitions_def = defs.resolve_assets_def(keys[0]).partitions_def
        assert isinstance(partitions_def, dg.DynamicPartitionsDefinition)
        instance.add_dynamic_partitions(str(partitions_def.name), [partition])
    result = dg.materialize(
        list(defs.assets or []),
        resources=defs.resources,
        selection=keys,
        partition_key=partition,
        instance=instance,
        run_config=QUIET,
    )
    return result, instance


def ingest(spec: ProjectSpec, encoder: TextEncoderResource) -> int:
    """``reviewed_labels`` (empty: no reviews) and ``raw_items``; returns the item count."""
    materialize(spec, encoder, [REVIEWED_LABELS], None)
    partition = source_partition(spec)
    materialize(spec, encoder, [RAW_ITEMS], partition)
    return len(pd.read_parquet(raw_items_path(spec), columns=["item_id"]))


def raw_items_path(spec: ProjectSpec) -> Path:
    return spec.project_dir / "tables" / RAW_ITEMS / f"{source_partition(spec)}.parquet"


def cache_rows(spec: ProjectSpec) -> int:
    path = embedding_cache_path(spec)
    if not path.is_file():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM embedding").fetchone()[0])


def label(spec: ProjectSpec, encoder: TextEncoderResource) -> LabelRun:
    """Materialize ``candidate_labels`` alone (``raw_items`` must exist) on a fresh cache."""
    if cache_rows(spec):
        raise RuntimeError(f"embedding cache {embedding_cache_path(spec)} is not empty")
    started = time.perf_counter()
    result, instance = materialize(spec, encoder, [CANDIDATE_LABELS], source_partition(spec))
    run_seconds = time.perf_counter() - started
    key = dg.AssetKey([spec.name, CANDIDATE_LABELS])
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    metadata = event.materialization.metadata
    stamps = {
        entry.dagster_event_type: entry.timestamp
        for entry in instance.all_logs(result.run_id)
        if entry.step_key == event.step_key
        and entry.dagster_event_type
        in (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS)
    }
    run = LabelRun(
        items=int(metadata["items"].value),
        items_per_second=float(metadata["items_per_second"].value),
        step_seconds=stamps[dg.DagsterEventType.STEP_SUCCESS]
        - stamps[dg.DagsterEventType.STEP_START],
        cached_vectors=cache_rows(spec),
        run_seconds=run_seconds,
    )
    if run.cached_vectors != run.items:
        raise RuntimeError(f"{run.items} items but {run.cached_vectors} cached vectors")
    return run


# --- bare model ---------------------------------------------------------------------------


class BareSentenceTransformer:
    """``SentenceTransformer.encode``: what a user would run instead of the pipeline."""

    def __init__(self, device: str, batch_size: int) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(default_minilm_path()), device=device)
        self.model.max_seq_length = MAX_LENGTH
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )


def whole_run(spec: ProjectSpec, encoder: TextEncoderResource) -> None:
    """``labelgate run``'s work (``run_project``) on a fresh ephemeral instance."""
    run_project(spec, instance=dg.DagsterInstance.ephemeral(), encoder=encoder)


def cached_vectors(spec: ProjectSpec, item_ids: list[str]) -> np.ndarray:
    with sqlite3.connect(embedding_cache_path(spec)) as db:
        rows = dict(db.execute("SELECT item_id, vector FROM embedding").fetchall())
    return np.stack([np.frombuffer(rows[i], dtype=np.float32) for i in item_ids])


# --- part 1: throughput -------------------------------------------------------------------


@dataclass
class Round:
    """One timed round. CPU seconds are the process's (all threads): unlike wall time they do
    not count time spent waiting for a CPU that other processes hold, so on a busy machine
    their ratio is the steadier one."""

    items: int
    pipeline: float  # items/s, the candidate_labels asset's items_per_second metadata
    pipeline_step_s: float  # wall seconds of the whole candidate_labels step
    pipeline_cpu_s: float  # CPU seconds of the dg.materialize call of candidate_labels
    whole_s: float  # wall seconds of the whole run_project
    whole_cpu_s: float
    bare_s: float
    bare_cpu_s: float


def measure(fn: Callable[..., T], *args: Any) -> tuple[T, float, float]:
    """``fn(*args)``, its wall seconds and this process's CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args)
    return value, time.perf_counter() - wall, time.process_time() - cpu


def throughput(args: argparse.Namespace, root: Path) -> list[Round]:
    device = resolve_device(args.device)
    encoder = TextEncoderResource(kind="minilm", device=args.device, batch_size=args.batch_size)
    inbox = root / "throughput" / "inbox"
    source = write_banking77(inbox / "banking77.parquet", args.items)
    data = "banking77"
    if source is None:
        console.print(f"[yellow]{BANKING77} is absent: synthetic messages instead")
        source, data = write_messages(inbox / "messages.parquet", args.items, seed=1), "synthetic"
    console.rule(f"[bold]1. throughput: {args.items:,} {data} texts, MiniLM on {device}")
    console.print(
        f"input: {source.stat().st_size / 2**20:.2f} MiB Parquet; torch threads: "
        f"{torch.get_num_threads()}"
    )
    warm_inbox = root / "warmup" / "inbox"
    write_messages(warm_inbox / "warmup.parquet", args.warmup, seed=2)

    # Warm-up: the pipeline in its own store (so the timed stores' caches stay empty) ...
    warm_spec = write_project(root / "warmup" / "project", warm_inbox)
    ingest(warm_spec, encoder)
    warm_run, warm_s, _ = measure(label, warm_spec, encoder)
    warm_texts = pd.read_parquet(raw_items_path(warm_spec))["text"].tolist()
    # ... and the bare model on the same warm-up texts.
    bare, load_s, _ = measure(BareSentenceTransformer, device, args.batch_size)
    _, bare_warm_s, _ = measure(bare.encode, warm_texts)
    console.print(
        f"warm-up: pipeline {warm_run.items} items in {warm_s:.1f}s (incl. model load); "
        f"bare: model load {load_s:.1f}s, {len(warm_texts)} items in {bare_warm_s:.1f}s"
    )

    rounds: list[Round] = []
    busiest = os.getloadavg()[0]
    for repeat in range(args.repeats):
        spec = write_project(root / "throughput" / f"run{repeat}", inbox)
        ingest(spec, encoder)  # not timed
        items = pd.read_parquet(raw_items_path(spec), columns=["item_id", "text"])
        texts, ids = items["text"].tolist(), items["item_id"].tolist()
        whole_spec = write_project(root / "throughput" / f"whole{repeat}", inbox)
        # Odd rounds time bare first, so a drifting machine favours neither side.
        if repeat % 2:
            vectors, bare_s, bare_cpu = measure(bare.encode, texts)
        run, _, pipeline_cpu = measure(label, spec, encoder)
        _, whole_s, whole_cpu = measure(whole_run, whole_spec, encoder)
        if repeat % 2 == 0:
            vectors, bare_s, bare_cpu = measure(bare.encode, texts)
        if len(texts) != run.items:
            raise RuntimeError(f"pipeline labeled {run.items} items, raw_items has {len(texts)}")
        this = Round(
            run.items,
            run.items_per_second,
            run.step_seconds,
            pipeline_cpu,
            whole_s,
            whole_cpu,
            bare_s,
            bare_cpu,
        )
        busiest = max(busiest, os.getloadavg()[0])
        rounds.append(this)
        n = this.items
        console.print(
            f"round {repeat + 1}/{args.repeats}: candidate_labels {this.pipeline:.1f} items/s "
            f"(asset loop {n / this.pipeline:.1f}s, step {this.pipeline_step_s:.1f}s, "
            f"{pipeline_cpu:.0f} CPU-s); whole run {whole_s:.1f}s ({whole_cpu:.0f} CPU-s); "
            f"bare encode {n / bare_s:.1f} items/s ({bare_s:.1f}s, {bare_cpu:.0f} CPU-s)"
        )
        diff = np.abs(cached_vectors(spec, ids) - vectors).max()
        console.print(f"  same vectors: max |pipeline - bare| = {diff:.1e}")
    cores = os.cpu_count() or 1
    if busiest > 0.8 * cores:
        console.print(
            f"[yellow]note: load average up to {busiest:.1f} on {cores} cores while timing: "
            "other processes shared the CPU, so wall-clock rates are noisy; the CPU-time ratio "
            "is the steadier one (more --repeats, or a quiet machine, for better numbers)"
        )
    return rounds


def print_throughput(rounds: list[Round], args: argparse.Namespace, device: str) -> float:
    """Print the results table and the headline ratios; return the pipeline's items/s."""
    items = rounds[0].items
    table = Table(
        title=f"throughput vs SentenceTransformer.encode: {items:,} items, MiniLM, batch "
        f"{args.batch_size}, {device}, median of {len(rounds)} round(s)"
    )
    for column in ("what", "items/s", "this/bare", "CPU ms/item", "this/bare by CPU", "target"):
        table.add_column(column, justify="left" if column == "what" else "right")
    bare_rate = median(r.items / r.bare_s for r in rounds)
    table.add_row(
        "bare SentenceTransformer.encode",
        f"{bare_rate:.1f}",
        "1",
        f"{median(r.bare_cpu_s / r.items * 1000 for r in rounds):.1f}",
        "1",
        "",
    )
    rows = (
        ("candidate_labels asset (streaming loop)", lambda r: r.items / r.pipeline, None, 1.0),
        (
            "candidate_labels step (labeler build incl.)",
            lambda r: r.pipeline_step_s,
            lambda r: r.pipeline_cpu_s,
            None,
        ),
        ("whole labelgate run (warm process)", lambda r: r.whole_s, lambda r: r.whole_cpu_s, 0.8),
    )
    ratios = {}
    for what, seconds, cpu, target in rows:
        ratio = median(r.bare_s / seconds(r) for r in rounds)
        ratios[what] = ratio
        cpu_ratio = median(r.bare_cpu_s / cpu(r) for r in rounds) if cpu else None
        cpu_ms = median(cpu(r) / r.items * 1000 for r in rounds) if cpu else None
        table.add_row(
            what,
            f"{median(r.items / seconds(r) for r in rounds):.1f}",
            f"[bold]{ratio:.3f}[/bold]",
            "" if cpu_ms is None else f"{cpu_ms:.1f}",
            "" if cpu_ratio is None else f"{cpu_ratio:.3f}",
            "" if target is None else f">= {target} ({'met' if ratio >= target else 'NOT met'})",
        )
    console.print(table)
    return median(r.pipeline for r in rounds)


# --- part 2: peak RSS ---------------------------------------------------------------------


def peak_rss_mib() -> float:
    """This process's peak RSS: VmHWM, the high-water mark of its own address space.

    Not ``getrusage``: on Linux a fork+exec child's ``ru_maxrss`` starts at the parent's peak
    (the kernel carries the pre-exec maximum over), so a child of a 1.5 GiB parent "peaks" at
    1.5 GiB whatever it does, and RUSAGE_CHILDREN is a maximum over all children besides.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # macOS: bytes


def run_child(mode: str, spec: ProjectSpec, args: argparse.Namespace, work: Path) -> dict:
    """Run this script as a fresh child process; return what it reports (incl. its peak)."""
    result, log = work / f"{mode}.json", work / f"{mode}.log"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        mode,
        "--spec",
        str(spec.spec_path),
        "--result",
        str(result),
        "--rss-encoder",
        args.rss_encoder,
        "--device",
        args.device,
        "--batch-size",
        str(args.batch_size),
    ]
    started = time.perf_counter()
    with log.open("w") as handle:
        child = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, cwd=REPO)
    if child.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{mode} child failed ({child.returncode}):\n{tail}")
    payload = json.loads(result.read_text(encoding="utf-8"))
    payload["wall_seconds"] = time.perf_counter() - started
    return payload


def child_main(args: argparse.Namespace) -> None:
    spec = load_project(args.spec)
    encoder = TextEncoderResource(
        kind=args.rss_encoder, device=args.device, batch_size=args.batch_size
    )
    payload: dict[str, Any] = {"rss_before_mib": psutil.Process().memory_info().rss / 2**20}
    if args.child == "ingest":
        payload["items"] = ingest(spec, encoder)
    else:
        payload.update(asdict(label(spec, encoder)))
    payload["peak_rss_mib"] = peak_rss_mib()
    Path(args.result).write_text(json.dumps(payload), encoding="utf-8")


def memory(args: argparse.Namespace, root: Path, rate: float | None) -> None:
    sizes = sorted(args.rss_sizes)
    console.rule(f"[bold]2. peak RSS: {', '.join(f'{n:,}' for n in sizes)} items")
    if rate and args.rss_encoder == "minilm":
        minutes = sum(sizes) / rate / 60
        console.print(f"estimated labeling time at {rate:.1f} items/s: {minutes:.0f} min")
    inputs = root / "inputs"
    everything, seconds, _ = measure(lambda: generate_messages(max(sizes), seed=3))
    console.print(f"generated {len(everything):,} messages in {seconds:.1f}s")
    table = Table(title=f"peak RSS, candidate_labels alone, encoder={args.rss_encoder}")
    for column in (
        "items in",
        "raw items",
        "input Parquet",
        "text MiB",
        "ingest peak RSS",
        "label peak RSS",
        "label RSS at start",
        "label items/s",
        "label wall",
    ):
        table.add_column(column, justify="right")
    peaks: dict[int, float] = {}
    for n in sizes:
        inbox = inputs / f"inbox_{n}"
        source = inbox / "messages.parquet"
        inbox.mkdir(parents=True)
        everything.iloc[:n][["message_id", "text"]].to_parquet(source, index=False)
        text_mib = everything["text"].iloc[:n].str.len().sum() / 2**20
        spec = write_project(root / f"rss_{n}", inbox)
        work = root / f"rss_{n}"
        ingested = run_child("ingest", spec, args, work)
        labeled = run_child("label", spec, args, work)
        peaks[n] = labeled["peak_rss_mib"]
        console.print(
            f"{n:,}: ingest {ingested['wall_seconds']:.0f}s, label {labeled['wall_seconds']:.0f}s"
            f" (asset loop {labeled['items'] / labeled['items_per_second']:.0f}s)"
        )
        table.add_row(
            f"{n:,}",
            f"{labeled['items']:,}",
            f"{source.stat().st_size / 2**20:.1f} MiB",
            f"{text_mib:.1f}",
            f"{ingested['peak_rss_mib']:.0f} MiB",
            f"[bold]{labeled['peak_rss_mib']:.0f} MiB[/bold]",
            f"{labeled['rss_before_mib']:.0f} MiB",
            f"{labeled['items_per_second']:.1f}",
            f"{labeled['wall_seconds']:.0f}s",
        )
    console.print(table)
    small, large = sizes[0], sizes[-1]
    console.print(
        f"label peak RSS {large:,} / {small:,} items = {peaks[large] / peaks[small]:.3f} "
        f"({peaks[large]:.0f} MiB vs {peaks[small]:.0f} MiB, {large / small:.0f}x the items)"
    )


# --- main ---------------------------------------------------------------------------------


def sizes_list(value: str) -> list[int]:
    sizes = [int(part) for part in value.split(",") if part.strip()]
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError("need at least two positive sizes, e.g. 20000,200000")
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=3000, help="throughput items (3000)")
    parser.add_argument("--warmup", type=int, default=256, help="warm-up items per side (256)")
    parser.add_argument(
        "--repeats", type=int, default=1, help="throughput rounds, median reported (1)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="encoder batch size (64)")
    parser.add_argument("--device", default="auto", help="torch device (auto: cuda if present)")
    parser.add_argument(
        "--rss-sizes",
        type=sizes_list,
        default=[20_000, 200_000],
        help="items per memory run, comma-separated (20000,200000)",
    )
    parser.add_argument(
        "--rss-encoder",
        choices=("minilm", "hashing"),
        default="minilm",
        help="encoder of the memory runs (minilm; hashing is far faster on CPU)",
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--child", choices=("ingest", "label"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        child_main(args)
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="labelgate-bench-") as tmp:
        root = Path(tmp)
        rate = None
        if not args.skip_throughput:
            rounds = throughput(args, root)
            rate = print_throughput(rounds, args, resolve_device(args.device))
        part1 = time.perf_counter() - started
        if rate is not None:
            console.print(f"part 1 took {part1:.0f}s")
        if not args.skip_rss:
            memory(args, root, rate)
            console.print(f"part 2 took {time.perf_counter() - started - part1:.0f}s")
    console.print(f"total {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
