"""Label Studio pieces the text and image review exchanges share: the labeling config and
which annotations of an exported task count."""

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

FROM_NAME = "label"  # the control's name: where an exported answer says it came from


def labeling_config(
    data: str, control: str, option: str, class_names: Sequence[str], *, single: bool = False
) -> str:
    """A config with one ``data`` object (``Text`` or ``Image``, named and filled by its
    lowercase name) and one ``control`` listing each class as an ``option`` tag
    (``single``: one choice only)."""
    name = data.lower()
    options = "\n".join(f"    <{option} value={quoteattr(c)}/>" for c in class_names)
    choice = ' choice="single"' if single else ""
    return (
        "<View>\n"
        f'  <{data} name="{name}" value="${name}"/>\n'
        f'  <{control} name="{FROM_NAME}" toName="{name}"{choice}>\n'
        f"{options}\n"
        f"  </{control}>\n"
        "</View>\n"
    )


def completed_annotations(task: dict[str, Any]) -> list[dict[str, Any]]:
    """A task's annotations that were not cancelled, in order (the last one is the answer)."""
    return [
        a
        for a in task.get("annotations") or []
        if isinstance(a, dict) and not a.get("was_cancelled")
    ]
