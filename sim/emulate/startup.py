"""Bring ``joinsim serve``'s cluster up from its directory: ``kubeadm init`` once, a restore ever after.

How this works: a directory without ``cluster.json`` gets a fresh
``kubeadm init`` (``ControlPlane.bootstrap``) whose key material, admin
kubeconfigs and store snapshot are written before ``cluster.json`` marks the
init finished. A directory with it is restored: the store from the snapshot
and journal, the keys from ``pki/`` and ``admin.conf``, and the plane is
reassembled with ``ControlPlane.restore`` (init never runs twice, so the CA,
tokens, CSRs and nodes are the same). When the address changed (a new port),
admin.conf follows it and the ``kube-public/cluster-info`` ConfigMap's server
is updated, as an admin would edit it, so joins keep working; the
bootstrapsigner re-signs it. The join token printed is ``--token`` (created if
missing), else the last printed token while it is still valid, else a new one
(``kubeadm token create``). ``--kubernetes-version``, ``--ca-key``,
``--no-autoapprove`` and ``--no-public-cluster-info`` only shape a fresh init.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sim.control.kubeadm_token import create_token
from sim.control.plane import ControlPlane
from sim.control.profile import profile as profile_named
from sim.control.store import Store
from sim.emulate.pkidir import ClusterMeta, PkiDir
from sim.emulate.state import StateDir
from sim.protocol import kubeconfig, tokens
from sim.protocol.constants import (
    BOOTSTRAP_TOKEN_SECRET_KEY, CLUSTER_INFO_KUBECONFIG_KEY, CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE,
    KUBE_SYSTEM_NAMESPACE,
)
from sim.protocol.errors import TokenError, go_quote
from sim.protocol.objects import secret_data
from sim.protocol.rng import Rng
from sim.protocol.tokens import BootstrapToken

if TYPE_CHECKING:
    from sim.emulate.server import ServeOptions

__all__ = ["Startup", "init_or_restore"]


@dataclass(slots=True, kw_only=True)
class Startup:
    """Hold the plane a start produced and what to tell the user about it."""

    plane: ControlPlane
    token: str
    init_lines: list[str]
    notes: list[str]
    history_floor: int
    """The resourceVersion the store's event history starts after (watches from before it get 410)."""


def init_or_restore(options: ServeOptions, pkidir: PkiDir, state: StateDir, endpoint: str, now: datetime,
                    rng: Rng) -> Startup:
    """Initialise the cluster in a fresh directory, or restore it; see the module docstring."""
    if pkidir.initialized():
        return _restore(options, pkidir, state, endpoint, now, rng)
    return _init(options, pkidir, state, endpoint, now, rng)


def _init(options: ServeOptions, pkidir: PkiDir, state: StateDir, endpoint: str, now: datetime,
          rng: Rng) -> Startup:
    profile = profile_named(options.kubernetes_version or "current")
    key_type = options.ca_key_type or "rsa"
    token = BootstrapToken.from_string(options.token or tokens.generate_bootstrap_token(rng), ttl=options.ttl)
    plane, made, lines = ControlPlane.bootstrap(
        now=now, rng=rng, endpoint=endpoint, profile=profile, ca_key_type=key_type, token=token,
        public_cluster_info=options.public_cluster_info, autoapprove=options.autoapprove,
        token_cache_ttl=options.token_cache_ttl,
        # As 'kubeadm init --control-plane-endpoint <this address>': more control planes may join.
        control_plane_endpoint=endpoint)
    pkidir.save_secrets(plane.secrets, plane.serving)
    pkidir.write_admin_conf(plane.secrets)
    pkidir.write_super_admin_conf(plane.secrets, now, _key_rng(options, rng), key_type)
    state.compact(plane.store)
    pkidir.write_meta(ClusterMeta(profile=profile.name, ca_key_type=key_type, name=plane.name,
                                  join_token=made.token, control_plane_endpoint=endpoint))
    return Startup(plane=plane, token=made.token, init_lines=lines, notes=[], history_floor=0)


def _restore(options: ServeOptions, pkidir: PkiDir, state: StateDir, endpoint: str, now: datetime,
             rng: Rng) -> Startup:
    meta = pkidir.read_meta()
    if meta.control_plane_endpoint is not None:  # the served address, wherever the server listens now
        meta = dataclasses.replace(meta, control_plane_endpoint=endpoint)
    notes: list[str] = []
    for flag, wanted, kept in (("--kubernetes-version", options.kubernetes_version, meta.profile),
                               ("--ca-key", options.ca_key_type, meta.ca_key_type)):
        if wanted is not None and wanted != kept:
            notes.append(f"{pkidir.root} was initialised with {flag} {kept}; keeping it")
    objects, revision = state.load()
    if state.dropped_lines:
        notes.append(f"dropped {state.dropped_lines} incomplete journal line(s) (writes never acknowledged)")
    store = Store.restore(rng, objects, revision)
    secrets, serving = pkidir.load_secrets(meta, endpoint)
    fresh = pkidir.ensure_serving(secrets, serving, meta, now, _key_rng(options, rng))
    if fresh is not serving:
        notes.append(f"re-issued the API server certificate for {endpoint}")
    plane = ControlPlane.restore(store=store, secrets=secrets, serving=fresh, rng=rng,
                                 token_cache_ttl=options.token_cache_ttl, name=meta.name)
    if _point_cluster_info(store, secrets.server, now):
        notes.append(f"updated the server in {CLUSTER_INFO_NAMESPACE}/{CLUSTER_INFO_NAME} to {secrets.server}")
    token, created = _join_token(store, options, meta, now, rng)
    if created:
        notes.append(f"created bootstrap token {go_quote(token.split('.')[0])}")
    pkidir.write_admin_conf(secrets)
    pkidir.write_super_admin_conf(secrets, now, _key_rng(options, rng), meta.ca_key_type)
    state.compact(store)
    pkidir.write_meta(dataclasses.replace(meta, join_token=token))
    return Startup(plane=plane, token=token, init_lines=[], notes=notes, history_floor=revision)


def _key_rng(options: ServeOptions, rng: Rng) -> Rng | None:
    """Return the rng for keys made outside init: the seeded one in tests, else None (OpenSSL's, much faster)."""
    return rng if options.seed is not None else None


def _point_cluster_info(store: Store, server: str, now: datetime) -> bool:
    """Make cluster-info's kubeconfig name ``server``; return whether it changed."""
    current = store.get("configmaps", CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_NAME)
    if current is None:
        return False
    data = dict(current.get("data") or {})
    try:
        cluster = kubeconfig.load(data.get(CLUSTER_INFO_KUBECONFIG_KEY, "")).current_cluster()
    except Exception:  # noqa: BLE001 - an edited, unreadable cluster-info is left alone
        return False
    if cluster.server == server:
        return False
    data[CLUSTER_INFO_KUBECONFIG_KEY] = kubeconfig.cluster_info_kubeconfig(server, cluster.ca_data)
    store.update("configmaps", dict(current, data=data))
    return True


def _usable(store: Store, token: str, now: datetime) -> bool | None:
    """Tell whether a token's Secret exists with this secret and has not expired (None: no such Secret)."""
    token_id, token_secret = tokens.parse_token(token)
    found = store.peek("secrets", KUBE_SYSTEM_NAMESPACE, tokens.secret_name(token_id))
    if found is None:
        return None
    data = secret_data(found)
    return data.get(BOOTSTRAP_TOKEN_SECRET_KEY) == token_secret and not tokens.has_expired(data, now)


def _join_token(store: Store, options: ServeOptions, meta: ClusterMeta, now: datetime, rng: Rng) -> tuple[str, bool]:
    """Return the token for the join command and whether it had to be created."""
    if options.token:
        usable = _usable(store, options.token, now)
        if usable:
            return options.token, False
        token = BootstrapToken.from_string(options.token, ttl=options.ttl)
        if usable is False:
            raise TokenError(f"a token with id {go_quote(token.token_id)} already exists")
        create_token(store, now, token)
        return token.token, True
    if meta.join_token and _usable(store, meta.join_token, now):
        return meta.join_token, False
    token = BootstrapToken.from_string(tokens.generate_bootstrap_token(rng), ttl=options.ttl)
    create_token(store, now, token)
    return token.token, True
