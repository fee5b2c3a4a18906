"""The shape of a project's governance jobs (decide, trace): one op, tagged as governance."""

import dagster as dg

GOVERNANCE_TAGS = {"labelgate/kind": "governance"}


def governance_job(name: str, op: dg.OpDefinition, description: str) -> dg.JobDefinition:
    """A job named ``name`` that runs ``op`` alone; its config is the op's."""

    @dg.job(name=name, description=description, tags=GOVERNANCE_TAGS)
    def job() -> None:
        op()

    return job
