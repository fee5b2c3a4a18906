"""Image ingestion: a folder of images → batches → readable items plus a quarantine.

A batch is the set of images directly inside the source folder (key: the folder's name) or
inside one of its sub-folders (key: the sub-folder's name, its own sub-folders included).
Item id = content hash of the file's bytes. Every file with an image suffix is counted:
``seen == kept + duplicates + quarantined``. Quarantined, with the reason: empty files,
files over the byte limit, files that are not images, images whose header promises more
pixels than the limit (the decompression-bomb guard: checked before any pixel is decoded),
and truncated or corrupt images; hidden files and symbolic links that lead out of the source
folder are quarantined without being opened.
"""

import hashlib
import io
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from PIL import Image, UnidentifiedImageError

from labelgate.errors import SourceError
from labelgate.ids import ITEM_ID_LENGTH
from labelgate.images.spec import IMAGE_FORMATS, ImageSourceSpec
from labelgate.ingest import FirstCopies, IngestResult, batch_key
from labelgate.source_guard import clean_reason, file_problem, has_lone_surrogate, safe_text

EXIF_ORIENTATION = 0x0112
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height
IMAGE_ITEM_COLUMNS = [
    "item_id",
    "path",
    "width",
    "height",
    "format",
    "batch",
    "source_file",
    "source_row",
    "source_id",
]
QUARANTINE_COLUMNS = ["batch", "source_file", "source_row", "reason", "excerpt"]


@dataclass(frozen=True)
class ImageBatch:
    key: str
    folder: Path
    files: tuple[Path, ...]
    # files that must not be opened, with the reason (hidden, a link out of the source)
    refused: tuple[tuple[Path, str], ...] = field(default=())


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 50 * 2**20
    max_pixels: int = 40_000_000

    @classmethod
    def of(cls, source: ImageSourceSpec) -> "ImageLimits":
        return cls(max_bytes=source.max_bytes, max_pixels=source.max_pixels)


def image_item_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:ITEM_ID_LENGTH]


def _image_files(folder: Path, suffixes: frozenset[str], *, recursive: bool) -> list[Path]:
    """Files with an image suffix, hidden ones included (they are refused, not skipped)."""
    pattern = "**/*" if recursive else "*"
    return sorted(
        p for p in folder.glob(pattern) if p.suffix.lower() in suffixes and not p.is_dir()
    )


def _batch(key: str, folder: Path, root: Path, files: list[Path]) -> ImageBatch:
    problems = {path: file_problem(path, root) for path in files}
    return ImageBatch(
        key,
        folder,
        tuple(p for p in files if problems[p] is None),
        tuple((p, reason) for p, reason in problems.items() if reason is not None),
    )


def discover_image_batches(
    folder: Path, formats: Iterable[str] = IMAGE_FORMATS
) -> list[ImageBatch]:
    """Batches of the source folder, in key order; folders without images are skipped."""
    if not folder.is_dir():
        raise SourceError(f"source folder {folder} does not exist or is not a folder")
    suffixes = frozenset(f".{f.lower()}" for f in formats)
    batches = []
    top = _image_files(folder, suffixes, recursive=False)
    if top:
        batches.append(_batch(batch_key(folder), folder, folder, top))
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = _image_files(sub, suffixes, recursive=True)
        if files:
            batches.append(_batch(batch_key(sub), sub, folder, files))
    keys = [b.key for b in batches]
    clashes = sorted({k for k in keys if keys.count(k) > 1})
    if clashes:
        raise SourceError(f"image folders map to the same batch key(s) {clashes}; rename them")
    return sorted(batches, key=lambda b: b.key)


def inspect_image(path: Path, data: bytes, limits: ImageLimits) -> tuple[int, int, str]:
    """(width, height, format) of a fully decodable image; ``ValueError`` says why not.

    Width and height are as displayed: an EXIF orientation that rotates the image by 90
    degrees swaps them (detectors see the rotated image, so box coordinates refer to it).
    """
    if not data:
        raise ValueError("empty file")
    if len(data) > limits.max_bytes:
        raise ValueError(f"file larger than {limits.max_bytes} bytes ({len(data)})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _pil_open(io.BytesIO(data)) as image:
                width, height = image.size  # from the header: no pixel decoded yet
                if width * height > limits.max_pixels:
                    raise ValueError(
                        f"image of {width}x{height} = {width * height} pixels is over the "
                        f"limit of {limits.max_pixels} (decompression-bomb guard)"
                    )
                image.load()  # decode every pixel: truncated or corrupt data fails here
                if image.getexif().get(EXIF_ORIENTATION, 1) in _ROTATED:
                    width, height = height, width
                return width, height, str(image.format or path.suffix.lstrip(".")).lower()
    except UnidentifiedImageError:
        raise ValueError("not a readable image: no image format recognizes it") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(clean_reason(f"decompression-bomb guard: {exc}")) from None
    except (OSError, SyntaxError) as exc:
        raise ValueError(clean_reason(f"truncated or corrupt image: {exc}")) from None


def _pil_open(fp: io.BytesIO) -> Image.Image:
    """PIL's own ``Image.open``. Importing ultralytics replaces it process-wide with a wrapper
    that, on an unidentified file, tries to install a HEIF plugin: offline that raises
    ``ModuleNotFoundError`` instead of ``UnidentifiedImageError``, and it must never install
    anything at run time."""
    opener = Image.open
    module = sys.modules.get(getattr(opener, "__module__", "") or "")
    original = getattr(module, "_image_open", None) if module is not Image else None
    return (original or opener)(fp)


def ingest_image_batch(batch: ImageBatch, limits: ImageLimits | None = None) -> IngestResult:
    """Read one batch of images into items (with size and format) and a quarantine."""
    limits = limits or ImageLimits()
    kept = FirstCopies()
    quarantine: list[dict[str, object]] = []
    digest = hashlib.sha256()
    for row, path in enumerate(batch.files):
        if has_lone_surrogate(str(path)):
            quarantine.append(_reject(batch, path, row, "file name is not valid UTF-8"))
            continue
        try:
            size = path.stat().st_size
            if size > limits.max_bytes:  # refuse before reading it into memory
                quarantine.append(
                    _reject(batch, path, row, f"file larger than {limits.max_bytes} bytes ({size})")
                )
                continue
            data = path.read_bytes()
        except OSError as exc:
            quarantine.append(_reject(batch, path, row, f"unreadable file: {exc}"))
            continue
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(data).digest())
        try:
            width, height, fmt = inspect_image(path, data, limits)
        except ValueError as exc:
            quarantine.append(_reject(batch, path, row, str(exc)))
            continue
        kept.add(
            {
                "item_id": image_item_id(data),
                "path": str(path.resolve()),
                "width": width,
                "height": height,
                "format": fmt,
                "batch": batch.key,
                "source_file": str(path),
                "source_row": row,
                "source_id": path.relative_to(batch.folder).as_posix(),
            }
        )
    for row, (path, reason) in enumerate(batch.refused, start=len(batch.files)):
        quarantine.append(_reject(batch, path, row, reason))
    frame = pd.DataFrame(kept.items, columns=IMAGE_ITEM_COLUMNS).astype(
        {"width": "int64", "height": "int64", "source_row": "int64"}
    )
    quarantine_frame = pd.DataFrame(quarantine, columns=QUARANTINE_COLUMNS).astype(
        {"source_row": "int64"}
    )
    result = IngestResult(
        items=frame,
        quarantine=quarantine_frame,
        seen=len(batch.files) + len(batch.refused),
        kept=len(frame),
        duplicates=kept.duplicates,
        source_sha256=digest.hexdigest(),
    )
    assert result.seen == result.kept + result.duplicates + result.quarantined
    return result


def _reject(batch: ImageBatch, path: Path, row: int, reason: str) -> dict[str, object]:
    return {
        "batch": batch.key,
        "source_file": safe_text(str(path)),
        "source_row": row,
        "reason": clean_reason(reason),
        "excerpt": safe_text(path.name[:80]),
    }
