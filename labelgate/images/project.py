"""An image project's data on disk: items, reviews (box sets or class labels), batches.

Extends :class:`labelgate.project.ProjectData` (same tables, same folders); detection
projects keep reviewed box sets in a :class:`BoxReviewStore` beside the text review store.
"""

import hashlib
from functools import cached_property
from pathlib import Path

import pandas as pd

from labelgate.errors import LabelgateError
from labelgate.images.reviews import (
    BoxImportResult,
    BoxReviewStore,
    content_sha256,
    read_box_answers,
)
from labelgate.images.spec import is_image_modality
from labelgate.project import RAW_ITEMS, ProjectData
from labelgate.spec import ProjectSpec

GOLD_REVIEWER = "gold"


def source_batch_keys(spec: ProjectSpec) -> list[str]:
    """The batch (partition) keys of a project's source, for any modality."""
    from labelgate.modalities import modality_for  # the modalities build on this module

    return [batch.key for batch in modality_for(spec).batches()]


class ImageProjectData(ProjectData):
    @property
    def detection(self) -> bool:
        return self.spec.modality == "image_detection"

    @cached_property
    def box_reviews(self) -> BoxReviewStore:
        return BoxReviewStore(self.spec.project_dir / "box_reviews")

    def image_items(self) -> pd.DataFrame:
        """``item_id, path, width, height, source_id`` of every ingested image."""
        columns = ["item_id", "path", "width", "height", "source_id"]
        frame = self.tables.read_all(RAW_ITEMS)
        if frame.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        return frame.drop_duplicates("item_id").reindex(columns=columns)

    def reviewed(self) -> pd.DataFrame:
        return self.box_reviews.reviewed_labels() if self.detection else super().reviewed()

    def import_review_file(self, path: Path, reviewer: str | None = None) -> object:
        """Import answers: detection takes Label Studio JSON, a YOLO-txt folder or COCO JSON;
        classification takes what text takes (CSV or Label Studio JSON with choices)."""
        if not self.detection:
            return super().import_review_file(path)
        from labelgate.governance.identities_pin import reviewer_resolver

        answers = read_box_answers(
            path,
            items=self.image_items(),
            class_names=self.spec.class_names,
            reviewer=reviewer,
            reviewers=reviewer_resolver(self.spec),
        )
        return self.box_reviews.import_answers(path, answers, purposes=self.queue_purposes())

    def import_gold(self) -> BoxImportResult | None:
        """Import the source's existing labels (``source.labels``) for the items ingested so
        far, as reviewer 'gold' (purpose ``gold``: they do not enter the gate's sample).
        None when there are none or these were imported already."""
        labels = getattr(self.spec.source, "labels", None)
        if labels is None or not self.detection:
            return None
        answers = read_box_answers(
            labels.path,
            items=self.image_items(),
            class_names=self.spec.class_names,
            reviewer=GOLD_REVIEWER,
            names=labels.names,
            skip_unmatched=True,
        )
        matched = ",".join(sorted(answers["item_id"]))
        sha = hashlib.sha256(f"{content_sha256(labels.path)}:{matched}".encode()).hexdigest()
        if answers.empty or self.box_reviews.has_import(sha):
            return None
        return self.box_reviews.import_answers(
            labels.path, answers, purposes={}, default_purpose="gold", sha256=sha
        )


def image_project_data(spec: ProjectSpec) -> ImageProjectData:
    if not is_image_modality(spec.modality):
        raise LabelgateError(f"project {spec.name} has modality {spec.modality!r}, not images")
    return ImageProjectData(spec)


def project_data(spec: ProjectSpec) -> ProjectData:
    """The project's data access for its modality."""
    return ImageProjectData(spec) if is_image_modality(spec.modality) else ProjectData(spec)
