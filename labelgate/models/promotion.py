"""Champion/challenger: a new model replaces the champion only when it is measurably better
on the same evaluation split."""

from dataclasses import asdict, dataclass

from labelgate.models.metrics import Metrics


@dataclass(frozen=True)
class Decision:
    promote: bool
    challenger: str
    champion: str | None
    metric: str
    challenger_score: float
    champion_score: float | None
    margin: float
    n_eval: int
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def decide(
    challenger: str,
    challenger_metrics: Metrics,
    champion: str | None,
    champion_metrics: Metrics | None,
    *,
    metric: str,
    margin: float,
    challenger_stale: bool = False,
) -> Decision:
    """Promote iff the challenger's score >= the champion's + ``margin`` on the same split.

    The first model of a project has no champion to beat and is promoted; a stale model
    (trained on erased items) never is.
    """
    score = challenger_metrics.score(metric)
    if champion_metrics is not None and champion_metrics.n != challenger_metrics.n:
        raise ValueError(
            f"champion scored on {champion_metrics.n} items, challenger on "
            f"{challenger_metrics.n}: they must be evaluated on the same split"
        )
    common = {
        "challenger": challenger,
        "champion": champion,
        "metric": metric,
        "challenger_score": round(score, 6),
        "margin": margin,
        "n_eval": challenger_metrics.n,
    }
    if challenger_stale:
        return Decision(False, champion_score=None, reason="challenger is stale", **common)
    if champion is None or champion_metrics is None:
        return Decision(True, champion_score=None, reason="no champion yet", **common)
    if champion == challenger:
        return Decision(
            False, champion_score=round(score, 6), reason="already the champion", **common
        )
    best = champion_metrics.score(metric)
    if score >= best + margin:
        reason = f"{metric} {score:.4f} >= champion {best:.4f} + margin {margin}"
        return Decision(True, champion_score=round(best, 6), reason=reason, **common)
    reason = f"{metric} {score:.4f} < champion {best:.4f} + margin {margin}"
    return Decision(False, champion_score=round(best, 6), reason=reason, **common)
