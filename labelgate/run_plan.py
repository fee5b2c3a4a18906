"""Which batches of a text project a run must label, and whether it must publish again.

``plan_run`` compares what each batch's labels depend on with ``RunState`` (see
``labelgate.run_state``); it hashes each input file (size and modification time can repeat
for other content), so a re-run with nothing changed costs one
read per batch instead of labeling everything again.
"""

from dataclasses import dataclass, field
from pathlib import Path

from labelgate.ingest import discover_batches
from labelgate.project import BATCH_TABLES, PUBLISH_TABLES, REVIEWED_LABELS, ProjectData
from labelgate.run_state import PUBLISH, RunState, content_stamp, digest
from labelgate.spec import ProjectSpec


@dataclass
class RunPlan:
    """``inputs`` maps every batch key (and ``PUBLISH``) to the fingerprint of its inputs."""

    state: RunState
    data: ProjectData
    batches: list[str]
    inputs: dict[str, str] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)
    publish: bool = True

    def batch_outputs(self, key: str) -> list[Path]:
        return [self.data.tables.path(name, key) for name in BATCH_TABLES]

    def publish_outputs(self) -> list[Path]:
        return [self.data.tables.path(name) for name in PUBLISH_TABLES]

    def record_batch(self, key: str) -> None:
        self.state.record(key, self.inputs[key], self.batch_outputs(key))
        self.state.save()

    def record_publish(self) -> None:
        self.state.record(PUBLISH, self.inputs[PUBLISH], self.publish_outputs())
        self.state.save()


def encoder_id(kind: str, model_path: str | None = None) -> str:
    return f"{kind}:{model_path or ''}"


def up_to_date(spec: ProjectSpec, *, encoder: str) -> bool:
    """True when a run would label no batch and publish nothing (text projects only)."""
    if spec.modality != "text" or not ProjectData(spec).tables.exists(REVIEWED_LABELS):
        return False
    plan = plan_run(spec, encoder=encoder)
    return bool(plan.batches) and not plan.stale and not plan.publish


def plan_run(spec: ProjectSpec, *, encoder: str, force: bool = False) -> RunPlan:
    """The batches to label (all of them with ``force``) and whether to publish."""
    data = ProjectData(spec)
    state = RunState(spec.project_dir)
    if force:
        state.forget()
    batches = discover_batches(spec.source)  # type: ignore[arg-type]  # text projects only
    shared = {
        "spec": spec.model_dump_json(),
        "encoder": encoder,
        "reviewed": content_stamp(data.tables.path(REVIEWED_LABELS)),
        "champion": content_stamp(spec.project_dir / "models" / "champion.json"),
    }
    plan = RunPlan(state=state, data=data, batches=[b.key for b in batches])
    for batch in batches:
        source = {"path": str(batch.path.resolve()), "stamp": content_stamp(batch.path)}
        plan.inputs[batch.key] = digest({**shared, "source": source})
        if not state.is_current(batch.key, plan.inputs[batch.key], plan.batch_outputs(batch.key)):
            plan.stale.append(batch.key)
    plan.inputs[PUBLISH] = digest({**shared, "batches": plan.inputs})
    plan.publish = bool(plan.stale) or not state.is_current(
        PUBLISH, plan.inputs[PUBLISH], plan.publish_outputs()
    )
    return plan
