"""Scale of a whole ``labelgate run``: wall time, CPU, peak RSS, store and ledger size.

The model is not the cost here: the demo project's keyword rules plus its embedding labeler
on the deterministic hashing encoder (``--encoder hashing``). Every text is unique (a
synthetic bank message with a reference number), so nothing is dropped as a duplicate.

Scenarios (``--scenarios``), each in a fresh storage folder and a fresh SQLite Dagster
instance, each ``labelgate run`` in its own process measured by ``/usr/bin/time``:

- ``100k/10``, ``1M/10``: 100,000 and 1,000,000 items as 10 Parquet files;
- ``100k/1``, ``1M/1``: the same as one file;
- ``30k/300``, ``30k/30``, ``30k/1``: 300 files of 100 items, 30 of 1,000, one of 30,000
  (the difference is the per-batch overhead: one Dagster run per batch);
- every scenario is run a second time with nothing changed (``rerun``).

Targets (issue 14): peak RSS of ``1M/10`` within 1.1x of ``100k/10``; time(1M) <= 10.5x
time(100k); a re-run with nothing changed <= 5% of the first run.

Run from the repository root, e.g. ``nice .venv/bin/python bench/scale.py --scenarios
100k/10,30k/300,30k/1``.
"""

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from labelgate.synth.bank_messages import generate_messages  # noqa: E402

DEMO_PROJECT = REPO / "projects" / "complaints.yaml"
SCENARIOS = {
    "100k/10": (100_000, 10),
    "100k/1": (100_000, 1),
    "1M/10": (1_000_000, 10),
    "1M/1": (1_000_000, 1),
    "30k/300": (30_000, 300),
    "30k/30": (30_000, 30),
    "30k/1": (30_000, 1),
    "10k/10": (10_000, 10),  # a quick smoke run
}
console = Console(width=150)


@dataclass
class Measured:
    scenario: str
    run: str  # "first" or "rerun"
    items: int
    files: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    store_mib: float
    ledger_mib: float

    @property
    def per_batch_s(self) -> float:
        return self.wall_s / self.files


def write_sources(inbox: Path, n: int, files: int, seed: int = 0) -> None:
    """``n`` unique messages as ``files`` Parquet files (``batch_0001.parquet`` ...)."""
    inbox.mkdir(parents=True, exist_ok=True)
    pool = generate_messages(5000, seed=seed)
    texts = pool["text"].to_numpy(dtype=object)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(texts), size=n)
    bounds = np.linspace(0, n, files + 1).astype(int)
    for index, (start, stop) in enumerate(itertools.pairwise(bounds)):
        ids = np.arange(start, stop)
        frame = pd.DataFrame(
            {
                "message_id": [f"m{i:07d}" for i in ids],
                "text": [f"{texts[picks[i]]} (ref {i:07d})" for i in ids],
            }
        )
        frame.to_parquet(inbox / f"batch_{index + 1:04d}.parquet", index=False)


def write_project(folder: Path, inbox: Path) -> Path:
    data = yaml.safe_load(DEMO_PROJECT.read_text(encoding="utf-8"))
    data["name"] = "scale"
    data["source"]["path"] = str(inbox)
    data["storage"] = str(folder / "store")
    data["review"]["folder"] = str(folder / "reviews")
    data.pop("training", None)
    path = folder / "scale.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def folder_mib(path: Path, pattern: str = "*") -> float:
    return sum(f.stat().st_size for f in path.rglob(pattern) if f.is_file()) / 2**20


def measure_run(project: Path, home: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one ``labelgate run`` process."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "LABELGATE_EXECUTOR": "in_process",
    }
    env.pop("LABELGATE_LEDGER_URL", None)
    cli = [sys.executable, "-c", "from labelgate_cli.app import app; app()"]
    cmd = ["/usr/bin/time", "-f", "%e %U %S %M", *cli, "run", str(project), "--encoder", "hashing"]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"labelgate run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    _, user, system, max_kib = done.stderr.strip().splitlines()[-1].split()
    return wall, float(user) + float(system), int(max_kib) / 1024


def run_scenario(name: str, work: Path) -> list[Measured]:
    n, files = SCENARIOS[name]
    folder = work / name.replace("/", "_")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    write_sources(folder / "inbox", n, files)
    project = write_project(folder, folder / "inbox")
    home = folder / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    rows = []
    for run in ("first", "rerun"):
        wall, cpu, rss = measure_run(project, home)
        store = folder / "store" / "scale"
        rows.append(
            Measured(
                name,
                run,
                n,
                files,
                round(wall, 1),
                round(cpu, 1),
                round(rss),
                round(folder_mib(store / "tables"), 1),
                round(folder_mib(store, "ledger.sqlite*"), 1),
            )
        )
        console.print(asdict(rows[-1]))
    shutil.rmtree(folder / "inbox")
    shutil.rmtree(folder / "store")
    return rows


def print_tables(rows: list[Measured]) -> None:
    table = Table(title="labelgate run at scale (rules + embedding on the hashing encoder)")
    for column in ("scenario", "run", "items", "files", "wall s", "CPU s", "peak RSS MiB"):
        table.add_column(column, justify="right")
    for column in ("store MiB", "ledger MiB", "wall s / batch", "rerun / first"):
        table.add_column(column, justify="right")
    first = {r.scenario: r for r in rows if r.run == "first"}
    for r in rows:
        ratio = f"{r.wall_s / first[r.scenario].wall_s:.1%}" if r.run == "rerun" else ""
        table.add_row(
            r.scenario,
            r.run,
            f"{r.items:,}",
            str(r.files),
            f"{r.wall_s:.1f}",
            f"{r.cpu_s:.1f}",
            f"{r.peak_rss_mib:.0f}",
            f"{r.store_mib:.1f}",
            f"{r.ledger_mib:.1f}",
            f"{r.per_batch_s:.2f}",
            ratio,
        )
    console.print(table)
    targets = Table(title="targets")
    for column in ("what", "measured", "target", "met"):
        targets.add_column(column)

    def add(what: str, value: float, limit: float, unit: str = "x") -> None:
        targets.add_row(what, f"{value:.2f}{unit}", f"<= {limit}{unit}", str(value <= limit))

    for size in ("10", "1"):
        small, big = first.get(f"100k/{size}"), first.get(f"1M/{size}")
        if small and big:
            add(f"peak RSS 1M/{size} vs 100k/{size}", big.peak_rss_mib / small.peak_rss_mib, 1.1)
            add(f"wall time 1M/{size} vs 100k/{size}", big.wall_s / small.wall_s, 10.5)
            add(f"CPU time 1M/{size} vs 100k/{size}", big.cpu_s / small.cpu_s, 10.5)
    for r in rows:
        if r.run == "rerun":
            add(f"re-run {r.scenario} (CPU)", 100 * r.cpu_s / first[r.scenario].cpu_s, 5, "%")
    one_file = first.get("30k/1")
    for many in ("30k/300", "30k/30"):
        small_files = first.get(many)
        if small_files and one_file:
            extra = small_files.files - 1
            wall = (small_files.wall_s - one_file.wall_s) / extra
            cpu = (small_files.cpu_s - one_file.cpu_s) / extra
            measured = f"{wall:.2f} s wall, {cpu:.2f} s CPU"
            targets.add_row(f"per-batch overhead ({many} vs 30k/1)", measured, "", "")
    console.print(targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="100k/10,1M/10,30k/300,30k/1")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: tmp)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    names = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; choose from {sorted(SCENARIOS)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="labelgate_scale_"))
    rows = [row for name in names for row in run_scenario(name, work)]
    print_tables(rows)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
