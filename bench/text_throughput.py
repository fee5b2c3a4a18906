"""Throughput and memory of the ``candidate_labels`` asset for an ``embedding``-only project.

1. Throughput, one process, same device, same torch threads, same texts, same batch size:
   * pipeline: ``candidate_labels`` materialized through Dagster with the real definitions
     and resources (``build_definitions``) on an ephemeral instance, with a FRESH embedding
     cache (new storage folder; afterwards it must hold exactly one vector per item, so every
     item was really encoded). Rate = the asset's ``items_per_second`` metadata, i.e. its
     streaming loop (read chunk, cache lookup, encode, cache write, rows, Parquet);
   * bare: plain ``AutoTokenizer`` + ``AutoModel`` from the same local MiniLM folder, mean
     pooling + L2 norm, ``torch.inference_mode()``, batches in input order, on exactly the
     ``raw_items`` texts the pipeline read, same ``max_length``.
   Fair because both are warmed up first (the pipeline on a separate small project and store,
   which loads the model and makes its first calls; bare on the same warm-up texts), so model
   load and first-call costs are out of both, and the output vectors are compared. The pipeline
   sorts texts by length per 2048-item chunk (less padding), bare does not; the row "bare,
   pipeline's batches" runs bare over the pipeline's exact batches, so pipeline / that row is
   the pure Dagster + cache + Parquet overhead. Rounds (``--repeats``) alternate which side
   goes first; the table shows medians, with CPU-time ratios beside the wall-clock ones
   (steadier when other processes share the CPU).
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
import yaml
from rich.console import Console
from rich.table import Table

from assets.labels import CHUNK_SIZE
from labelgate.build import embedding_cache_path
from labelgate.embeddings import default_minilm_path, resolve_device
from labelgate.ingest import batch_key
from labelgate.project import CANDIDATE_LABELS, RAW_ITEMS, REVIEWED_LABELS
from labelgate.spec import ProjectSpec, load_project
from labelgate.synth.bank_messages import generate_messages
from pipelines.definitions import build_definitions
from resources.encoder import TextEncoderResource

DEMO_PROJECT = REPO / "projects" / "complaints.yaml"
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


class BareMiniLM:
    """Plain AutoTokenizer + AutoModel: what the pipeline's encoder costs at the minimum."""

    def __init__(self, device: str) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = default_minilm_path()
        self.torch = torch
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval().to(device)
        self.dim = int(self.model.config.hidden_size)

    def encode(self, texts: list[str], batches: list[np.ndarray]) -> np.ndarray:
        """Rows in input order; ``batches`` are the row indices of each model call."""
        torch = self.torch
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for index in batches:
                batch = self.tokenizer(
                    [texts[i] for i in index],
                    padding=True,
                    truncation=True,
                    max_length=MAX_LENGTH,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[index] = torch.nn.functional.normalize(pooled, dim=1).cpu().numpy()
        return out


def input_order_batches(n: int, batch_size: int) -> list[np.ndarray]:
    return [np.arange(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]


def pipeline_batches(texts: list[str], batch_size: int) -> list[np.ndarray]:
    """The batches MiniLMEncoder makes: per CHUNK_SIZE chunk, stable sort by length."""
    batches = []
    for start in range(0, len(texts), CHUNK_SIZE):
        chunk = texts[start : start + CHUNK_SIZE]
        order = np.argsort([len(t) for t in chunk], kind="stable") + start
        batches += [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    return batches


def cached_vectors(spec: ProjectSpec, item_ids: list[str]) -> np.ndarray:
    with sqlite3.connect(embedding_cache_path(spec)) as db:
        rows = dict(db.execute("SELECT item_id, vector FROM embedding").fetchall())
    return np.stack([np.frombuffer(rows[i], dtype=np.float32) for i in item_ids])


# --- part 1: throughput -------------------------------------------------------------------


@dataclass
class Round:
    """One timed round. CPU seconds are the process's (all threads): unlike wall time they do
    not count time spent waiting for a CPU that other processes hold, so on a busy machine
    their ratio is the steadier one. The pipeline's CPU covers the whole dg.materialize call
    (Dagster run machinery and labeler build included), so it slightly favours bare."""

    items: int
    pipeline: float  # items/s, the asset's items_per_second metadata
    pipeline_step_s: float  # wall seconds of the whole candidate_labels step
    pipeline_cpu_s: float
    bare_s: float
    bare_cpu_s: float
    matched_s: float | None = None  # bare over the pipeline's batches
    matched_cpu_s: float | None = None


def measure(fn: Callable[..., T], *args: Any) -> tuple[T, float, float]:
    """``fn(*args)``, its wall seconds and this process's CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args)
    return value, time.perf_counter() - wall, time.process_time() - cpu


def throughput(args: argparse.Namespace, root: Path) -> list[Round]:
    device = resolve_device(args.device)
    encoder = TextEncoderResource(kind="minilm", device=args.device, batch_size=args.batch_size)
    console.rule(f"[bold]1. throughput: {args.items:,} messages, MiniLM on {device}")
    inbox = root / "throughput" / "inbox"
    source = write_messages(inbox / "messages.parquet", args.items, seed=1)
    console.print(
        f"input: {args.items:,} messages, {source.stat().st_size / 2**20:.2f} MiB Parquet"
    )
    warm_inbox = root / "warmup" / "inbox"
    write_messages(warm_inbox / "warmup.parquet", args.warmup, seed=2)

    # Warm-up: the pipeline in its own store (so the timed store's cache stays empty) ...
    warm_spec = write_project(root / "warmup" / "project", warm_inbox)
    ingest(warm_spec, encoder)
    warm_run, warm_s, _ = measure(label, warm_spec, encoder)
    warm_texts = pd.read_parquet(raw_items_path(warm_spec))["text"].tolist()
    # ... and the bare model on the same warm-up texts.
    bare, load_s, _ = measure(BareMiniLM, device)
    _, bare_warm_s, _ = measure(
        bare.encode, warm_texts, input_order_batches(len(warm_texts), args.batch_size)
    )
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
        in_order = input_order_batches(len(texts), args.batch_size)
        # Odd rounds time bare first, so a drifting machine favours neither side.
        if repeat % 2:
            vectors, bare_s, bare_cpu = measure(bare.encode, texts, in_order)
        run, _, pipeline_cpu = measure(label, spec, encoder)
        if repeat % 2 == 0:
            vectors, bare_s, bare_cpu = measure(bare.encode, texts, in_order)
        if len(texts) != run.items:
            raise RuntimeError(f"pipeline labeled {run.items} items, raw_items has {len(texts)}")
        this = Round(
            run.items, run.items_per_second, run.step_seconds, pipeline_cpu, bare_s, bare_cpu
        )
        if args.matched_reference:
            matched = pipeline_batches(texts, args.batch_size)
            _, this.matched_s, this.matched_cpu_s = measure(bare.encode, texts, matched)
        busiest = max(busiest, os.getloadavg()[0])
        rounds.append(this)
        n = this.items
        line = (
            f"round {repeat + 1}/{args.repeats}: pipeline {this.pipeline:.1f} items/s (asset loop "
            f"{n / this.pipeline:.1f}s, step {this.pipeline_step_s:.1f}s, {pipeline_cpu:.0f} "
            f"CPU-s, {run.cached_vectors:,} vectors cached); bare {n / bare_s:.1f} items/s "
            f"({bare_s:.1f}s, {bare_cpu:.0f} CPU-s)"
        )
        if this.matched_s is not None:
            line += (
                f"; bare, pipeline's batches {n / this.matched_s:.1f} items/s "
                f"({this.matched_s:.1f}s, {this.matched_cpu_s:.0f} CPU-s)"
            )
        console.print(line)
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
    """Print the results table and the headline ratio; return the pipeline's items/s."""
    items = rounds[0].items
    pipe_rate = median(r.pipeline for r in rounds)
    pipe_cpu = median(r.pipeline_cpu_s / r.items * 1000 for r in rounds)
    table = Table(
        title=f"candidate_labels throughput: {items:,} items, MiniLM, batch {args.batch_size}, "
        f"{device}, median of {len(rounds)} round(s)"
    )
    for column in ("what", "items/s", "pipeline/this", "CPU ms/item", "pipeline/this by CPU"):
        table.add_column(column, justify="left" if column == "what" else "right")
    table.add_row("pipeline: candidate_labels asset", f"{pipe_rate:.1f}", "", f"{pipe_cpu:.1f}")
    table.add_row(
        "pipeline: whole Dagster step (incl. labeler build)",
        f"{median(r.items / r.pipeline_step_s for r in rounds):.1f}",
    )
    ratio = median(r.pipeline * r.bare_s / r.items for r in rounds)
    cpu_ratio = median(r.bare_cpu_s / r.pipeline_cpu_s for r in rounds)
    table.add_row(
        "bare transformers, input order",
        f"{median(r.items / r.bare_s for r in rounds):.1f}",
        f"[bold]{ratio:.3f}[/bold]",
        f"{median(r.bare_cpu_s / r.items * 1000 for r in rounds):.1f}",
        f"{cpu_ratio:.3f}",
    )
    matched = [
        (r.items, r.pipeline, r.pipeline_cpu_s, r.matched_s, r.matched_cpu_s)
        for r in rounds
        if r.matched_s is not None and r.matched_cpu_s is not None
    ]
    if matched:
        table.add_row(
            "bare transformers, the pipeline's length-sorted batches",
            f"{median(n / wall for n, _, _, wall, _ in matched):.1f}",
            f"{median(rate * wall / n for n, rate, _, wall, _ in matched):.3f}",
            f"{median(cpu / n * 1000 for n, _, _, _, cpu in matched):.1f}",
            f"{median(cpu / pipe_cpu for _, _, pipe_cpu, _, cpu in matched):.3f}",
        )
    console.print(table)
    verdict = "OK" if ratio >= 0.9 else "BELOW TARGET"
    console.print(
        f"[bold]ratio pipeline/bare = {ratio:.3f}[/bold] (items/s, wall clock; target >= 0.9: "
        f"{verdict}); by CPU time {cpu_ratio:.3f}"
    )
    return pipe_rate


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
    parser.add_argument("--items", type=int, default=5000, help="throughput items (5000)")
    parser.add_argument("--warmup", type=int, default=256, help="warm-up items per side (256)")
    parser.add_argument(
        "--repeats", type=int, default=1, help="throughput rounds, median reported (1)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="encoder batch size (64)")
    parser.add_argument("--device", default="auto", help="torch device (auto: cuda if present)")
    parser.add_argument(
        "--no-matched-reference",
        dest="matched_reference",
        action="store_false",
        help="skip the bare run over the pipeline's length-sorted batches",
    )
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
