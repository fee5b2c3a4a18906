"""Blocking governance checks: releases (and training) use approved, intact label sets only;
an export that still holds PII fails.

``approved_label_set_check`` works for any asset whose materialization records the version
it used under ``labelgate/label_set_version`` (or ``label_set_version``, as the models'
``trained_model`` does: training is held to the same rule).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg

from assets.common import ProjectAssets
from labelgate.governance.metadata import LABEL_SET_VERSION_KEY
from labelgate.governance.release_checks import approval_problems, export_pii

APPROVED_CHECK = "uses_approved_label_set"
NO_PII_CHECK = "no_pii"


def _latest_metadata(context: dg.AssetCheckExecutionContext, key: dg.AssetKey) -> dict[str, Any]:
    event = context.instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event is not None else None
    if materialization is None:
        return {}
    return {name: value.value for name, value in materialization.metadata.items()}


def _blocking_check(
    asset_key: dg.AssetKey, name: str, description: str
) -> Callable[[Callable[..., dg.AssetCheckResult]], dg.AssetChecksDefinition]:
    """A check on ``asset_key`` whose failure (severity ERROR) stops what depends on it."""
    return dg.asset_check(asset=asset_key, name=name, blocking=True, description=description)


def approved_label_set_check(
    project: ProjectAssets, asset_key: dg.AssetKey
) -> dg.AssetChecksDefinition:
    @_blocking_check(
        asset_key,
        APPROVED_CHECK,
        "The label set this materialization used is approved by a steward who "
        "reviewed none of its labels, and its files match the ledger.",
    )
    def uses_approved_label_set(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        metadata = _latest_metadata(context, asset_key)
        version = metadata.get(LABEL_SET_VERSION_KEY, metadata.get("label_set_version"))
        problems = approval_problems(project.spec, version)
        return dg.AssetCheckResult(
            passed=not problems,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(problems) or f"label set v{version} is approved and intact",
            metadata={"label_set_version": int(version or 0), "problems": len(problems)},
        )

    return uses_approved_label_set


def no_pii_check(project: ProjectAssets, asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @_blocking_check(
        asset_key,
        NO_PII_CHECK,
        "The exported file holds no detectable PII (emails, phones, card numbers, "
        "IBANs, SSNs, dates of birth, cued names).",
    )
    def no_pii(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        path = _latest_metadata(context, asset_key).get("path")
        if not path or not Path(path).is_file():
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                description=f"export file {path!r} is missing",
            )
        report = export_pii(Path(path))
        return dg.AssetCheckResult(
            passed=report.total == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                "no PII found"
                if report.total == 0
                else f"{report.texts} exported text(s) still hold PII: {report.as_dict()}"
            ),
            metadata={"pii_found": dg.MetadataValue.json(report.as_dict()), "path": path},
        )

    return no_pii


def build_release_checks(
    project: ProjectAssets, export_asset: str
) -> list[dg.AssetChecksDefinition]:
    """The export uses an approved, intact set; exports that carry text hold no PII."""
    key = project.key(export_asset)
    checks = [approved_label_set_check(project, key)]
    if project.modality.item_kind == "text":
        checks.append(no_pii_check(project, key))
    return checks
