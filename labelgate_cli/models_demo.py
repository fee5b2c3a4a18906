"""The demo's model round: distill the approved label set, promote, re-label, gate again."""

from collections.abc import Callable

import dagster as dg
import pandas as pd

from labelgate.project import ACCEPTED_LABELS, ProjectData
from labelgate.spec import ProjectSpec
from labelgate.synth.evaluate import Realized, realized
from labelgate_cli.model_runs import run_relabel, run_training
from resources.encoder import TextEncoderResource


def model_round(
    spec: ProjectSpec,
    *,
    instance: dg.DagsterInstance,
    encoder: TextEncoderResource,
    truth: pd.Series,
    on_step: Callable[[str], None] = lambda _: None,
) -> Realized | None:
    """Returns the accepted labels' realized quality after the champion re-labeled, or None
    when the project trains no models or has no approved label set."""
    if spec.training is None:
        on_step("no training: section in the project file: no model round")
        return None
    from labelgate.label_sets import LabelSetStore

    if LabelSetStore(spec).latest(status="approved") is None:
        on_step("no approved label set: no model round")
        return None
    on_step(f"model round: training a {spec.training.method} model on the approved label set")
    training = run_training(spec, instance=instance, encoder=encoder)
    evaluation, decision = training.evaluation, training.decision
    on_step(
        f"model {training.trained.get('model_id')}: accuracy {evaluation.get('accuracy', 0):.3f}, "
        f"macro-F1 {evaluation.get('macro_f1', 0):.3f} on {evaluation.get('n_eval')} held-out "
        f"reviewed items; {'promoted' if decision.get('promoted') else 'not promoted'} "
        f"({decision.get('reason')}); {training.label_issues} suspected human errors to re-check"
    )
    relabel = run_relabel(spec, instance=instance, encoder=encoder)
    on_step(
        f"re-labeled with champion {relabel.plan.champion}: {relabel.rescored} items scored, "
        f"{relabel.flipped} labels flipped, {relabel.sent_to_review} human labels sent to review"
    )
    again = run_relabel(spec, instance=instance, encoder=encoder)
    on_step(f"re-label again with nothing changed: {again.plan.to_score} items to score")
    data = ProjectData(spec)
    accepted = data.tables.read(ACCEPTED_LABELS)
    return realized(accepted, truth, items=len(data.items(["item_id"])))
