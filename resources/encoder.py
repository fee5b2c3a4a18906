"""Text encoder resources: the real MiniLM, or a deterministic hashing encoder for tests.

The model is loaded once per process in ``setup_for_execution`` and kept in a private
attribute, never by mutating the (frozen) resource config.
"""

from typing import Literal

import dagster as dg
from pydantic import PrivateAttr

from labelgate.embeddings import HashingEncoder, MiniLMEncoder, TextEncoder

_LOADED: dict[tuple[str, str, int], TextEncoder] = {}


class TextEncoderResource(dg.ConfigurableResource):
    """``kind="minilm"`` loads the local all-MiniLM-L6-v2 (or ``model_path``)."""

    kind: Literal["minilm", "hashing"] = "minilm"
    model_path: str | None = None
    device: str = "auto"
    batch_size: int = 64
    _encoder: TextEncoder | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._encoder = None

    def get(self) -> TextEncoder:
        if self._encoder is None:
            key = (self.kind, self.model_path or "", self.batch_size)
            if key not in _LOADED:  # one load per process, shared by every asset in the run
                _LOADED[key] = (
                    HashingEncoder()
                    if self.kind == "hashing"
                    else MiniLMEncoder(
                        self.model_path, device=self.device, batch_size=self.batch_size
                    )
                )
            self._encoder = _LOADED[key]
        return self._encoder
