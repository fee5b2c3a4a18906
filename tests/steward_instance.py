"""A demo-sized project run end to end on a persistent Dagster instance (a temp
``DAGSTER_HOME``), as `make demo` leaves it for `make ui`: the synthetic corpus with its fake
PII recorded, review rounds, a refused and a signed approval through the decide job, the
release, a trace run and the model round."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from labelgate.spec import ProjectSpec, load_project
from labelgate_cli.demo import DemoReport, run_demo
from labelgate_cli.instance import get_instance
from resources.encoder import TextEncoderResource
from tests.conftest import write_project
from tests.test_pii import record_generated_pii

IDENTITIES = Path(__file__).resolve().parent.parent / "projects" / "identities" / "complaints.yaml"
# Runs launched from the UI start at once (no daemon needed to dequeue them).
INSTANCE_CONFIG = """telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""
MESSAGES = 1500  # demo-sized: every asset, check and job of the demo runs; 1,500 keep it quick


@dataclass
class StewardInstance:
    spec: ProjectSpec
    home: Path
    instance: dg.DagsterInstance
    pii: dict[str, set[str]]
    report: DemoReport
    steps: list[str]
    env: dict[str, str]  # what a webserver on this instance needs


@contextmanager
def steward_instance(folder: Path) -> Iterator[StewardInstance]:
    home = folder / "dagster_home"
    inbox = folder / "corpus" / "inbox"
    spec = load_project(
        write_project(
            folder,
            inbox,
            governance={"identities": str(IDENTITIES), "pii": "redact"},
            review={"calibration_size": 400, "uncertain_size": 100},  # as the demo project
        )
    )
    env = {
        "DAGSTER_HOME": str(home),
        "LABELGATE_PROJECTS": str(spec.spec_path),
        "LABELGATE_ENCODER": "hashing",
    }
    steps: list[str] = []
    with pytest.MonkeyPatch.context() as environment:
        for name, value in env.items():
            environment.setenv(name, value)
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text(INSTANCE_CONFIG, encoding="utf-8")
        instance = get_instance()
        try:
            with pytest.MonkeyPatch.context() as generator:
                pii = record_generated_pii(generator)
                report = run_demo(
                    spec,
                    instance=instance,
                    encoder=TextEncoderResource(kind="hashing"),
                    messages=MESSAGES,
                    batches=3,
                    rounds=1,
                    on_step=steps.append,
                )
            yield StewardInstance(spec, home, instance, dict(pii), report, steps, env)
        finally:
            instance.dispose()
