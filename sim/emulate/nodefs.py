"""Keep an emulated node's files in a directory tree, so a join leaves what kubeadm leaves on disk.

How this works: the workflows name absolute node paths (``/etc/kubernetes/
kubelet.conf``); ``NodeFS`` maps each under ``root`` and writes atomically
(``sim.fileutil.write_atomic``), so a crash never leaves half a kubeconfig.
``snapshot`` returns every file as ``NodeFacts.files`` expects, for preflight
and for ``kubeadm reset``'s plan. A few paths may be *host paths* (a
``--discovery-file`` the user named): those are read from the real
filesystem, as kubeadm would read them.
"""

from __future__ import annotations

import os
from typing import Iterable

from sim.fileutil import write_atomic


class NodeFS:
    """Read and write a node's absolute paths under a root directory."""

    def __init__(self, root: str, *, host_paths: Iterable[str] = ()) -> None:
        self.root = os.path.abspath(root)
        self.host_paths = frozenset(host_paths)

    def real_path(self, path: str) -> str:
        """Return where a node path lives on this machine (host paths stay where they are)."""
        if path in self.host_paths:
            return path
        if not path.startswith("/"):
            raise ValueError(f"node paths are absolute: {path!r}")
        normalized = os.path.normpath(path)
        return os.path.join(self.root, normalized.lstrip("/"))

    def read(self, path: str) -> bytes | None:
        """Return a file's contents, or None when it is missing (or is a directory)."""
        try:
            with open(self.real_path(path), "rb") as handle:
                return handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def write(self, path: str, data: bytes, mode: int = 0o600) -> None:
        """Write a file atomically with the mode kubeadm uses for it."""
        write_atomic(self.real_path(path), data, mode)

    def remove(self, path: str) -> None:
        """Remove a file if present (a missing file is not an error, as for os.RemoveAll)."""
        try:
            os.unlink(self.real_path(path))
        except FileNotFoundError:
            pass

    def snapshot(self) -> dict[str, bytes]:
        """Return every file under the root, keyed by its absolute node path."""
        files: dict[str, bytes] = {}
        if not os.path.isdir(self.root):
            return files
        for directory, _, names in os.walk(self.root):
            for name in names:
                if name.startswith(".tmp-"):
                    continue  # an interrupted atomic write, never a node file
                real = os.path.join(directory, name)
                node_path = "/" + os.path.relpath(real, self.root).replace(os.sep, "/")
                try:
                    with open(real, "rb") as handle:
                        files[node_path] = handle.read()
                except OSError:
                    continue
        return files
