"""Any local transformers sequence-classification model folder, mapped onto project classes.

``label_map`` maps the model's label names (its ``id2label``) to project classes; model labels
left out are dropped and the remaining probability mass is renormalized. With an empty map, model
labels that equal a project class name map to it. An item whose mapped mass is zero abstains.
"""

from collections.abc import Sequence

import numpy as np

from labelgate.embeddings import model_folder_version, resolve_device
from labelgate.errors import ProjectSpecError
from labelgate.labelers.base import LabelerOutput
from labelgate.spec import HFClassifierLabelerSpec


class HFClassifierLabeler:
    soft = True

    def __init__(
        self, spec: HFClassifierLabelerSpec, class_names: list[str], *, device: str = "auto"
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if not spec.path.is_dir():
            raise ProjectSpecError(f"labelers.{spec.name}.path: folder {spec.path} does not exist")
        self.spec = spec
        self.name = spec.name
        self.class_names = class_names
        self.device = resolve_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(spec.path, local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            spec.path, local_files_only=True
        )
        self.model.eval().to(self.device)
        id2label = {int(i): str(name) for i, name in self.model.config.id2label.items()}
        mapping = spec.label_map or {n: n for n in id2label.values() if n in class_names}
        unknown = sorted(set(mapping) - set(id2label.values()))
        if unknown:
            raise ProjectSpecError(
                f"labelers.{spec.name}.label_map: model {spec.path} has no labels {unknown}; "
                f"it has {sorted(id2label.values())}"
            )
        if not mapping:
            raise ProjectSpecError(
                f"labelers.{spec.name}.label_map: none of the model's labels "
                f"{sorted(id2label.values())} map to a project class"
            )
        # (model labels) x (K classes) 0/1 matrix summing model probabilities into classes.
        self.projection = np.zeros((len(id2label), len(class_names)))
        for index, model_label in id2label.items():
            if model_label in mapping:
                self.projection[index, class_names.index(mapping[model_label])] = 1.0
        self.version = f"hf-{model_folder_version(spec.path)}-{len(mapping)}map"
        self._torch = torch

    def predict(self, item_ids: Sequence[str], texts: Sequence[str]) -> LabelerOutput:
        torch = self._torch
        probs = np.empty((len(texts), len(self.class_names)))
        with torch.inference_mode():
            for start in range(0, len(texts), self.spec.batch_size):
                batch = self.tokenizer(
                    list(texts[start : start + self.spec.batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=self.spec.max_length,
                    return_tensors="pt",
                ).to(self.device)
                model_probs = torch.softmax(self.model(**batch).logits.float(), dim=-1)
                mapped = model_probs.cpu().numpy() @ self.projection
                mass = mapped.sum(axis=1, keepdims=True)
                with np.errstate(invalid="ignore", divide="ignore"):
                    probs[start : start + len(mapped)] = np.where(mass > 0, mapped / mass, np.nan)
        return LabelerOutput(self.name, self.version, probs)
