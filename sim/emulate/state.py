"""Persist ``joinsim serve``'s object store: an append-only journal of store events plus a snapshot.

How this works: like etcd's WAL and snapshots. Every change the store makes
(``Store.events_since``: ADDED, MODIFIED, DELETED with the object after it and
its resourceVersion) is appended to ``DIR/state/journal.jsonl`` as one JSON line
and the file is fsync'd before the server answers the request that caused it,
so an acknowledged change survives ``kill -9``. A request therefore costs one
append of the objects it touched, not a rewrite of the store. At start-up
``load`` reads ``snapshot.json`` and replays the journal lines newer than it;
a torn last line (a write cut short by a crash, never acknowledged) is
dropped. ``compact`` then writes a fresh snapshot atomically (temporary file,
fsync, rename, directory fsync) and starts an empty journal; it also runs when
the journal grows past ``compact_bytes``. A crash between the two steps is
harmless: replay skips lines the snapshot already holds. An advisory lock
(``flock`` on ``DIR/state/lock``) keeps two servers off one directory.
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import IO, Any, Iterable

from sim.control.resources import RESOURCES
from sim.control.store import Store, WatchEvent
from sim.fileutil import write_atomic
from sim.protocol.objects import Obj

__all__ = ["StateDir", "StateLocked"]

SNAPSHOT_FORMAT = 1
DEFAULT_COMPACT_BYTES = 16 * 1024 * 1024


class StateLocked(RuntimeError):
    """Refuse to open a state directory another server holds."""


def _key(resource: str, obj: Obj) -> tuple[str, str, str]:
    md = obj.get("metadata") or {}
    namespace = md.get("namespace", "") if RESOURCES[resource].namespaced else ""
    return resource, namespace, md.get("name", "")


class StateDir:
    """Own one server's snapshot, journal and lock under ``DIR/state``."""

    def __init__(self, root: str, *, compact_bytes: int = DEFAULT_COMPACT_BYTES) -> None:
        self.path = os.path.join(os.path.abspath(root), "state")
        self.snapshot_path = os.path.join(self.path, "snapshot.json")
        self.journal_path = os.path.join(self.path, "journal.jsonl")
        self.compact_bytes = compact_bytes
        self.revision = 0
        """The newest resourceVersion on disk."""
        self.dropped_lines = 0
        """Journal lines ``load`` could not use (a torn tail after a crash)."""
        self._journal: IO[bytes] | None = None
        self._lock: int | None = None

    def lock(self) -> None:
        """Take the directory's lock, or raise ``StateLocked``."""
        os.makedirs(self.path, exist_ok=True)
        fd = os.open(os.path.join(self.path, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StateLocked(f"{self.path} is in use by another joinsim serve") from None
        self._lock = fd

    def exists(self) -> bool:
        """Tell whether anything was ever persisted here."""
        return os.path.exists(self.snapshot_path) or os.path.exists(self.journal_path)

    def load(self) -> tuple[list[tuple[str, Obj]], int]:
        """Return the persisted ``(resource, object)`` pairs and the resourceVersion counter."""
        objects: dict[tuple[str, str, str], tuple[str, Obj]] = {}
        revision = 0
        if os.path.exists(self.snapshot_path):
            with open(self.snapshot_path, encoding="utf-8") as handle:
                snapshot = json.load(handle)
            if snapshot.get("format") != SNAPSHOT_FORMAT:
                raise ValueError(f"{self.snapshot_path}: unknown snapshot format {snapshot.get('format')!r}")
            revision = int(snapshot["revision"])
            for entry in snapshot["objects"]:
                objects[_key(entry["resource"], entry["object"])] = (entry["resource"], entry["object"])
        self.dropped_lines = 0
        for record in self._journal_records(after=revision):
            key = _key(record["resource"], record["object"])
            if record["type"] == "DELETED":
                objects.pop(key, None)
            else:
                objects[key] = (record["resource"], record["object"])
            revision = max(revision, record["rv"])
        self.revision = revision
        return list(objects.values()), revision

    def _journal_records(self, *, after: int) -> Iterable[dict[str, Any]]:
        """Yield the journal's records newer than ``after``, stopping at the first line that does not decode."""
        if not os.path.exists(self.journal_path):
            return
        with open(self.journal_path, "rb") as handle:
            lines = handle.read().split(b"\n")
        for index, line in enumerate(lines):
            if not line:
                continue
            try:
                record = json.loads(line)
                if record["resource"] not in RESOURCES or record["type"] not in ("ADDED", "MODIFIED", "DELETED"):
                    raise ValueError(record["type"])
                record["rv"] = int(record["rv"])
            except (ValueError, KeyError, TypeError):
                self.dropped_lines = sum(1 for rest in lines[index:] if rest)
                return
            if record["rv"] > after:
                yield record

    def compact(self, store: Store) -> None:
        """Write the whole store as the new snapshot, then start an empty journal."""
        objects = [{"resource": resource, "object": obj} for resource in sorted(RESOURCES)
                   for obj in store.iter(resource)]
        data = json.dumps({"format": SNAPSHOT_FORMAT, "revision": store.revision, "objects": objects},
                          separators=(",", ":")).encode()
        write_atomic(self.snapshot_path, data, 0o600)
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        write_atomic(self.journal_path, b"", 0o600)
        self._fsync_dir()
        self.revision = store.revision
        self._open_journal()

    def append(self, events: Iterable[WatchEvent]) -> bool:
        """Append events to the journal and fsync it; return True when the journal should be compacted."""
        fresh = [e for e in events if e.resource_version > self.revision]
        if not fresh:
            return False
        lines = [json.dumps({"rv": e.resource_version, "type": e.type, "resource": e.resource, "object": e.object},
                            separators=(",", ":")).encode() + b"\n" for e in fresh]
        journal = self._open_journal()
        journal.write(b"".join(lines))
        journal.flush()
        os.fsync(journal.fileno())
        self.revision = fresh[-1].resource_version
        return journal.tell() > self.compact_bytes

    def close(self) -> None:
        """Close the journal and release the lock (everything appended is already on disk)."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _open_journal(self) -> IO[bytes]:
        if self._journal is None:
            os.makedirs(self.path, exist_ok=True)
            fd = os.open(self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._journal = os.fdopen(fd, "ab")
        return self._journal

    def _fsync_dir(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
