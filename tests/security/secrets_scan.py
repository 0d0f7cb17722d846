"""The secrets scanner's tools: the forms a secret can take when it leaks, and collectors of everything a run
wrote (responses, log records, database rows, Redis values, files), as (where, text) pairs to search.

A secret leaks in more shapes than its own letters: inside a Basic ``Authorization`` header (base64 of
``key:secret``), in a query string or a form body (URL-encoded), in a JSON string (escaped), in a Celery
message (base64 of its JSON body) and in an XLSX (zipped XML). ``needles`` spells out each shape and
``Corpus.add`` unpacks zips and decodes what it can, so a plain substring search finds them all.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import redis
from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder

from core.logging import ContextFilter, JsonFormatter

# Shorter than this, a base64 fragment is too likely to occur by chance.
MIN_FRAGMENT = 12
SNIPPET = 60


def _b64_fragments(value: bytes, encode) -> set[str]:
    """The base64 text of ``value`` wherever it starts in a longer byte string: at each of the three offsets
    modulo 3, the characters that depend on ``value``'s bytes only (neither neighbour)."""
    found = set()
    for offset in range(3):
        encoded = encode(b"\0" * offset + value).decode()
        start = 0 if offset == 0 else (offset * 4 + 2) // 3 + 1
        end = (len(value) + offset) // 3 * 4  # the last full group: no padding, no following byte mixed in
        fragment = encoded[start:end]
        if len(fragment) >= MIN_FRAGMENT:
            found.add(fragment)
    return found


def needles(secret: str) -> dict[str, str]:
    """Every text the secret may show as, by the name of its form."""
    raw = secret.encode()
    forms = {
        "raw": secret,
        "url-encoded": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
        "json-escaped": json.dumps(secret)[1:-1],
        "hex": raw.hex(),
    }
    for i, fragment in enumerate(sorted(_b64_fragments(raw, base64.b64encode))):
        forms[f"base64#{i}"] = fragment
    for i, fragment in enumerate(sorted(_b64_fragments(raw, base64.urlsafe_b64encode))):
        forms[f"base64url#{i}"] = fragment
    return forms


@dataclass
class Leak:
    source: str
    where: str
    secret: str
    form: str
    context: str

    def __str__(self) -> str:
        return f"{self.source} {self.where}: {self.secret} ({self.form}) in …{self.context}…"


@dataclass
class Corpus:
    """Texts by source ("responses", "logs", …), each with where it came from."""

    texts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def add(self, source: str, where: str, data: bytes | str) -> None:
        if isinstance(data, bytes):
            if data[:4] == b"PK\x03\x04":  # XLSX, a zip of XML parts
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    for name in archive.namelist():
                        self.add(source, f"{where}!{name}", archive.read(name))
                return
            data = data.decode("utf-8", errors="replace")
        self.texts.setdefault(source, []).append((where, data))

    def count(self, source: str) -> int:
        return len(self.texts.get(source, []))

    def scan(self, source: str, secrets: dict[str, str]) -> list[Leak]:
        """Every occurrence of any form of any secret (named by ``secrets``' keys) in the source's texts."""
        searched = [(name, form, text) for name, value in secrets.items() for form, text in needles(value).items()]
        leaks = []
        for where, text in self.texts.get(source, []):
            for name, form, needle in searched:
                at = text.find(needle)
                if at >= 0:
                    context = text[max(0, at - SNIPPET) : at + len(needle) + SNIPPET].replace("\n", " ")
                    leaks.append(Leak(source, where, name, form, context))
        return leaks


def response_text(response) -> bytes:
    """What a client received: status line, headers, cookies and the body (streamed ones read to the end)."""
    head = [f"{response.status_code}"]
    head += [f"{key}: {value}" for key, value in response.items()]
    head += [f"Set-Cookie: {morsel.OutputString()}" for morsel in response.cookies.values()]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return "\n".join(head).encode() + b"\n\n" + body


class RecordingHandler(logging.Handler):
    """Keeps every record as production writes it: the context filter's fields, one JSON object a line."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.addFilter(ContextFilter())
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def recording_logs() -> Iterator[RecordingHandler]:
    """Every record any logger emits while the block runs, caught at the root (levels lowered to DEBUG)."""
    root = logging.getLogger()
    handler = RecordingHandler()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def database_rows() -> Iterator[tuple[str, bytes | str]]:
    """Every row of every model the current schema (and public) holds, as JSON text, by model label; binary
    values (stored files) beside it, as they are (a zip is opened by ``Corpus.add``)."""
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        rows = list(model.objects.all().values())
        blobs: list[bytes] = []

        def binary(value, blobs=blobs):
            if isinstance(value, memoryview | bytes | bytearray):
                blobs.append(bytes(value))
                return f"<{len(value)} bytes>"
            return value

        rows = [{key: binary(value) for key, value in row.items()} for row in rows]
        if rows:
            yield model._meta.label, json.dumps(rows, cls=DjangoJSONEncoder, ensure_ascii=False)
        for i, blob in enumerate(blobs):
            yield f"{model._meta.label} (binary {i})", blob


def redis_values(url: str) -> Iterator[tuple[str, bytes]]:
    """Every key and value of a Redis database (strings, lists, hashes, sets, sorted sets), Celery messages'
    base64 bodies decoded beside their raw text."""
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(count=500):
        kind = client.type(key).decode()
        if kind == "string":
            values = [client.get(key)]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "hash":
            values = [k + b"=" + v for k, v in client.hgetall(key).items()]
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = [member for member, _score in client.zrange(key, 0, -1, withscores=True)]
        else:
            continue
        for value in values:
            if value is None:
                continue
            yield key.decode(errors="replace"), value
            yield from ((f"{key.decode(errors='replace')} (body)", body) for body in _message_bodies(value))


def _message_bodies(value: bytes) -> Iterable[bytes]:
    try:
        message = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return []
    found = []
    for part in message if isinstance(message, list) else [message]:
        if isinstance(part, dict) and isinstance(part.get("body"), str):
            try:
                found.append(base64.b64decode(part["body"]))
            except ValueError:
                found.append(part["body"].encode())
    return found


def files_written_since(roots: Iterable[Path], since: float, *, skip: Iterable[Path] = ()) -> Iterator[Path]:
    """Regular files under ``roots`` modified at or after ``since`` (a time.time()), outside ``skip``."""
    skipped = [p.resolve() for p in skip]
    for root in roots:
        if not root.exists():
            continue
        for directory, subdirs, names in os.walk(root):
            here = Path(directory).resolve()
            subdirs[:] = [d for d in subdirs if (here / d) not in skipped]
            for name in names:
                path = here / name
                try:
                    if path.is_file() and path.stat().st_mtime >= since:
                        yield path
                except OSError:  # removed while walking
                    continue
