"""Sample images with their boxes drawn, as one PNG for asset metadata (PIL only: no fonts
or assets are downloaded)."""

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

_PALETTE = ("#e45756", "#4c78a8", "#54a24b", "#f58518", "#b279a2", "#72b7b2", "#eeca3b")


def sample_boxes_png(
    paths: Sequence[str],
    box_sets: Sequence[Sequence[dict[str, Any]]],
    class_names: Sequence[str],
    *,
    tile: int = 256,
    columns: int = 3,
) -> bytes:
    """A grid of thumbnails (``tile`` px on the long side) with boxes and class names."""
    if len(paths) != len(box_sets):
        raise ValueError(f"{len(paths)} images but {len(box_sets)} box sets")
    rows = max(1, -(-len(paths) // columns))
    sheet = Image.new("RGB", (columns * tile, rows * tile), "white")
    color = {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(class_names)}
    for n, (path, boxes) in enumerate(zip(paths, box_sets, strict=True)):
        with Image.open(Path(path)) as image:
            thumb = image.convert("RGB")
            thumb.thumbnail((tile, tile))
        draw = ImageDraw.Draw(thumb)
        w, h = thumb.size
        for box in boxes:
            xy = (box["x1"] * w, box["y1"] * h, box["x2"] * w, box["y2"] * h)
            c = color.get(str(box["label"]), "#000000")
            draw.rectangle(xy, outline=c, width=2)
            text = f"{box['label']} {box.get('confidence', 1.0):.2f}"
            draw.text((xy[0] + 2, xy[1] + 1), text, fill=c)
        sheet.paste(thumb, ((n % columns) * tile, (n // columns) * tile))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
