"""Keyword / regex rules per class (weak supervision). An item abstains when no class or more
than one class matches, so a rule never has to be right about everything."""

import hashlib
import json
import re
from collections.abc import Sequence

import numpy as np

from labelgate.labelers.base import LabelerOutput
from labelgate.spec import RulesLabelerSpec

RULE_CONFIDENCE = 0.9


class RulesLabeler:
    soft = False  # constant scores: the label model learns how far to trust its votes

    def __init__(self, spec: RulesLabelerSpec, class_names: list[str]) -> None:
        flags = re.IGNORECASE if spec.ignore_case else 0
        self.name = spec.name
        self.class_names = class_names
        self.patterns = {
            class_names.index(label): [re.compile(p, flags) for p in patterns]
            for label, patterns in spec.rules.items()
        }
        canonical = json.dumps(
            {"rules": spec.rules, "ignore_case": spec.ignore_case}, sort_keys=True
        )
        self.version = "rules-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def predict(self, item_ids: Sequence[str], texts: Sequence[str]) -> LabelerOutput:
        k = len(self.class_names)
        probs = np.full((len(texts), k), np.nan)
        off = (1.0 - RULE_CONFIDENCE) / (k - 1)
        for row, text in enumerate(texts):
            hits = [c for c, pats in self.patterns.items() if any(p.search(text) for p in pats)]
            if len(hits) == 1:
                probs[row] = off
                probs[row, hits[0]] = RULE_CONFIDENCE
        return LabelerOutput(self.name, self.version, probs)
