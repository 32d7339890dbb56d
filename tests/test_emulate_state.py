"""Test that ``joinsim serve`` never loses acknowledged state: journal, snapshot, restarts, kill -9."""

from __future__ import annotations

import json
import os
import random
import selectors
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from sim.control.store import Store
from sim.emulate.pkidir import PkiDir
from sim.emulate.server_thread import ServerThread
from sim.emulate.state import StateDir, StateLocked
from sim.protocol import kubeconfig
from sim.protocol.objects import configmap
from tests.serve_support import CSR_PATH, HttpsClient, Served, csr_object, options, token_secret

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
CM = "/api/v1/namespaces/default/configmaps"


def store_with(count: int) -> Store:
    store = Store(random.Random(1))
    for i in range(count):
        store.create("configmaps", configmap(f"cm-{i}", "default", {"k": str(i)}), NOW)
    return store


# --- the journal and the snapshot -------------------------------------------------------------

def test_the_journal_replays_onto_the_snapshot(tmp_path: Path) -> None:
    store = store_with(3)
    state = StateDir(str(tmp_path))
    state.compact(store)
    seen = store.revision
    store.update("configmaps", dict(store.get("configmaps", "default", "cm-0") or {}, data={"k": "changed"}))
    store.delete("configmaps", "default", "cm-1")
    store.create("configmaps", configmap("cm-new", "default", {}), NOW)
    state.append(store.events_since(seen))
    state.close()

    objects, revision = StateDir(str(tmp_path)).load()
    restored = Store.restore(random.Random(2), objects, revision)
    assert revision == store.revision
    assert [o["metadata"]["name"] for o in restored.iter("configmaps")] == ["cm-0", "cm-2", "cm-new"]
    for name in ("cm-0", "cm-2", "cm-new"):
        assert restored.get("configmaps", "default", name) == store.get("configmaps", "default", name)
    created = restored.create("configmaps", configmap("after", "default", {}), NOW)
    assert created["metadata"]["resourceVersion"] == str(store.revision + 1)


@pytest.mark.parametrize("tail, dropped", [
    (b'{"rv": 99, "type": "ADDED", "resource": "configmaps", "obj', 1),
    (b"\x00\x00\x00", 1),
    (b"", 0),
], ids=["invalid: torn JSON line", "invalid: zero bytes", "valid: clean end"])
def test_a_torn_journal_tail_is_dropped(tmp_path: Path, tail: bytes, dropped: int) -> None:
    store = store_with(2)
    state = StateDir(str(tmp_path))
    state.compact(store)
    store.create("configmaps", configmap("last", "default", {}), NOW)
    state.append(store.events_since(store.revision - 1))
    state.close()
    with open(state.journal_path, "ab") as handle:
        handle.write(tail)

    loader = StateDir(str(tmp_path))
    objects, revision = loader.load()
    assert (revision, loader.dropped_lines) == (store.revision, dropped)
    assert {o["metadata"]["name"] for _, o in objects} == {"cm-0", "cm-1", "last"}


def test_replay_skips_lines_the_snapshot_already_holds(tmp_path: Path) -> None:
    """A crash between writing the snapshot and emptying the journal must not apply old lines again."""
    store = store_with(1)
    state = StateDir(str(tmp_path))
    state.compact(store)
    before = store.revision
    store.delete("configmaps", "default", "cm-0")
    state.append(store.events_since(before))
    journal = Path(state.journal_path).read_bytes()
    store.create("configmaps", configmap("cm-0", "default", {"k": "again"}), NOW)
    state.compact(store)
    Path(state.journal_path).write_bytes(journal)  # the stale DELETED line survives the "crash"
    state.close()

    objects, revision = StateDir(str(tmp_path)).load()
    assert revision == store.revision
    assert [o["data"] for _, o in objects] == [{"k": "again"}]


def test_an_append_writes_only_the_changed_objects(tmp_path: Path) -> None:
    store = store_with(1000)
    state = StateDir(str(tmp_path))
    state.compact(store)
    snapshot = os.stat(state.snapshot_path)
    before = store.revision
    store.create("configmaps", configmap("one-more", "default", {"k": "v"}), NOW)
    assert state.append(store.events_since(before)) is False
    state.close()
    assert os.path.getsize(state.journal_path) < 1024
    assert os.stat(state.snapshot_path).st_mtime_ns == snapshot.st_mtime_ns
    assert snapshot.st_size > 100 * 1024


def test_a_large_journal_asks_for_compaction(tmp_path: Path) -> None:
    store = store_with(0)
    state = StateDir(str(tmp_path), compact_bytes=2048)
    state.compact(store)
    asked = []
    for i in range(30):
        store.create("configmaps", configmap(f"cm-{i}", "default", {"k": "x" * 50}), NOW)
        asked.append(state.append(store.events_since(store.revision - 1)))
    assert asked[0] is False and asked[-1] is True
    state.compact(store)
    state.close()
    assert os.path.getsize(state.journal_path) == 0
    assert StateDir(str(tmp_path)).load()[1] == store.revision


def test_one_directory_serves_one_server(tmp_path: Path) -> None:
    first = StateDir(str(tmp_path))
    first.lock()
    try:
        with pytest.raises(StateLocked, match="in use by another joinsim serve"):
            StateDir(str(tmp_path)).lock()
    finally:
        first.close()
    second = StateDir(str(tmp_path))
    second.lock()
    second.close()


# --- restarts of a server ---------------------------------------------------------------------

def start(directory: Path, **overrides: Any) -> tuple[ServerThread, Served]:
    thread = ServerThread(options(directory, **overrides))
    thread.start()
    return thread, Served(thread)


def snapshot_of(served: Served) -> dict[str, Any]:
    """Return what a restart must keep: the token Secrets, CSRs and nodes, with their resourceVersions."""
    secrets = served.request("GET", "/api/v1/namespaces/kube-system/secrets", admin=True)[1]["items"]
    csrs = served.request("GET", CSR_PATH, admin=True)[1]["items"]
    nodes = served.request("GET", "/api/v1/nodes", admin=True)[1]["items"]
    return {"secrets": secrets, "csrs": csrs, "nodes": nodes}


def test_a_killed_server_restarts_with_every_acknowledged_object(tmp_path: Path) -> None:
    thread, served = start(tmp_path)
    assert served.request("POST", "/api/v1/namespaces/kube-system/secrets",
                          token_secret("restrt.0123456789abcdef"), admin=True)[0] == 201
    assert served.request("POST", CSR_PATH, csr_object("before-crash"), token="restrt.0123456789abcdef")[0] == 201
    code, cm = served.request("POST", CM, {"metadata": {"name": "last-write"}, "data": {"a": "b"}}, admin=True)
    assert code == 201
    before = snapshot_of(served)
    first = (served.server.endpoint, served.server.token, served.server.ca_pin)
    thread.kill()

    thread, served = start(tmp_path)
    try:
        assert snapshot_of(served) == before
        assert served.request("GET", f"{CM}/last-write", admin=True)[1] == cm
        assert (served.server.token, served.server.ca_pin) == first[1:]
        assert served.server.endpoint != first[0] and served.server.init_lines == []
        assert any("cluster-info" in note for note in served.server.notes)
        assert served.request("GET", f"{CSR_PATH}/before-crash", token="restrt.0123456789abcdef")[0] == 200
        code, created = served.request("POST", CM, {"metadata": {"name": "after"}}, admin=True)
        assert int(created["metadata"]["resourceVersion"]) > int(cm["metadata"]["resourceVersion"])
        conf = kubeconfig.load(Path(served.server.admin_conf).read_bytes())
        assert conf.current_cluster().server == served.server.url
        info = served.request("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info")[1]
        assert kubeconfig.load(info["data"]["kubeconfig"]).current_cluster().server == served.server.url
    finally:
        thread.stop()


@pytest.mark.parametrize("change, token, note", [
    ("none", None, None),
    ("new --token", "newtok.0123456789abcdef", 'created bootstrap token "newtok"'),
    ("join token deleted", None, "created bootstrap token"),
], ids=["valid: the last join token is reused", "valid: --token is created", "valid: a lost token is replaced"])
def test_the_join_token_after_a_restart(tmp_path: Path, change: str, token: str | None, note: str | None) -> None:
    thread, served = start(tmp_path)
    first = served.server.token
    if change == "join token deleted":
        path = f"/api/v1/namespaces/kube-system/secrets/bootstrap-token-{first.split('.')[0]}"
        assert served.request("DELETE", path, admin=True)[0] == 200
    thread.stop()
    thread, served = start(tmp_path, token=token)
    try:
        notes = [n for n in served.server.notes if "token" in n]
        if note is None:
            assert (served.server.token, notes) == (first, [])
        else:
            assert served.server.token != first and len(notes) == 1 and notes[0].startswith(note)
            assert token is None or served.server.token == token
        whoami = served.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                                token=served.server.token)
        assert whoami[0] == 201
    finally:
        thread.stop()


def test_a_new_bind_address_gets_a_new_serving_certificate_from_the_same_ca(tmp_path: Path) -> None:
    thread, served = start(tmp_path)
    pin = served.server.ca_pin
    thread.stop()
    thread, served = start(tmp_path, bind="127.0.0.2")
    try:
        assert served.server.endpoint.startswith("127.0.0.2:") and served.server.ca_pin == pin
        assert "re-issued the API server certificate for 127.0.0.2:" in " ".join(served.server.notes)
        assert served.request("GET", "/version")[0] == 200  # verified against the CA, for the new address
    finally:
        thread.stop()


def test_a_watch_from_before_a_restart_is_told_its_resource_version_is_too_old(tmp_path: Path) -> None:
    thread, served = start(tmp_path)
    old = served.request("GET", CSR_PATH, admin=True)[1]["metadata"]["resourceVersion"]
    assert served.request("POST", CM, {"metadata": {"name": "bump"}}, admin=True)[0] == 201
    thread.stop()
    thread, served = start(tmp_path)
    try:
        code, body = served.request("GET", f"{CSR_PATH}?watch=1&resourceVersion={old}&timeoutSeconds=5", admin=True)
    finally:
        thread.stop()
    event = json.loads(body) if isinstance(body, str) else body
    assert code == 200 and event["type"] == "ERROR"
    assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
    assert event["object"]["message"].startswith(f"too old resource version: {old} (")


# --- a real process, SIGKILL and SIGTERM ---------------------------------------------------------

SERVE = ("import argparse, sys\n"
         "from sim.emulate import serve_cli\n"
         "parser = argparse.ArgumentParser(prog='joinsim')\n"
         "serve_cli.add_parsers(parser.add_subparsers(dest='command'))\n"
         "sys.exit(serve_cli.run(parser.parse_args(sys.argv[1:])))\n")


def spawn(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``joinsim serve`` in a process; return it and the join command it printed."""
    argv = [sys.executable, "-c", SERVE, "serve", "--dir", str(directory), "--port", "0", "--ca-key", "ecdsa"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline, line = time.monotonic() + 30, b""
    while not line.endswith(b"\n") and time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
    selector.close()
    if not line.endswith(b"\n"):
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"joinsim serve did not print a join command: {err.decode()}")
    return proc, line.decode().rstrip("\n")


def remote(directory: Path, endpoint: str) -> HttpsClient:
    """Return HTTPS helpers for a server running in another process on ``directory``."""
    pkidir = PkiDir(str(directory))
    return HttpsClient(endpoint, pkidir.ca_file(), pkidir.admin_conf)


def test_a_sigkilled_process_keeps_its_state_and_sigterm_stops_it_cleanly(tmp_path: Path) -> None:
    proc, join = spawn(tmp_path)
    try:
        words = join.split()
        assert words[:2] == ["kubeadm", "join"] and words[3] == "--token" and words[5] == \
            "--discovery-token-ca-cert-hash" and join.endswith(" ")
        code, created = remote(tmp_path, words[2]).request("POST", CSR_PATH, csr_object("survivor"), token=words[4])
        assert code == 201
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)

        proc, again = spawn(tmp_path)
        assert again.split()[4:7] == words[4:7]
        code, found = remote(tmp_path, again.split()[2]).request("GET", f"{CSR_PATH}/survivor", admin=True)
        assert code == 200 and found["metadata"]["uid"] == created["metadata"]["uid"]
        assert int(found["metadata"]["resourceVersion"]) >= int(created["metadata"]["resourceVersion"])
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0 and err.decode().rstrip().endswith("[serve] Stopped")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
