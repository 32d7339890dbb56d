"""Write kubeconfig files byte for byte as client-go does, and read them back.

How this works: the cluster-info JWS signs the exact kubeconfig bytes, so the
writer emits the text itself instead of trusting a YAML library's layout. It
follows client-go's ``clientcmd.Write``: the v1 list form, map entries sorted by
name, JSON field names as keys in sorted order (sigs.k8s.io/yaml over go-yaml
v2), ``omitempty`` fields dropped, empty lists as ``null`` and no
``preferences`` line. The reader uses PyYAML and mirrors ``clientcmd.Load`` plus
kubeadm's helpers (cmd/kubeadm/app/util/kubeconfig/kubeconfig.go).

Upstream: staging/src/k8s.io/client-go/tools/clientcmd/api/v1/types.go (field
names), .../clientcmd/api/v1/conversion.go (sorted lists),
pkg/kubelet/certificate/bootstrap/bootstrap.go (kubelet.conf layout).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from .constants import DEFAULT_CLUSTER_NAME, KUBELET_CLIENT_CURRENT_PATH, TLS_BOOTSTRAP_TOKEN_USER
from .errors import KubeconfigError, go_quote

# pkg/kubelet/certificate/bootstrap/bootstrap.go writeKubeconfigFromBootstrapping
KUBELET_CLUSTER_NAME = "default-cluster"
KUBELET_USER_NAME = "default-auth"
KUBELET_CONTEXT_NAME = "default-context"
KUBELET_CONTEXT_NAMESPACE = "default"
# cmd/kubeadm/app/util/kubeconfig/kubeconfig.go CreateWithCerts default admin user
ADMIN_USER = "kubernetes-admin"


@dataclass(frozen=True)
class Cluster:
    """Hold one ``clusters[].cluster`` entry."""

    server: str = ""
    ca_data: bytes = b""
    insecure: bool = False
    ca_file: str = ""


@dataclass(frozen=True)
class User:
    """Hold one ``users[].user`` entry (the credentials kubeadm and the kubelet use)."""

    token: str = ""
    client_cert_data: bytes = b""
    client_key_data: bytes = b""
    client_cert_path: str = ""
    client_key_path: str = ""


@dataclass(frozen=True)
class Context:
    """Hold one ``contexts[].context`` entry."""

    cluster: str = ""
    user: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class Kubeconfig:
    """Hold a parsed kubeconfig: entries by name plus the current context."""

    clusters: Mapping[str, Cluster] = field(default_factory=dict)
    users: Mapping[str, User] = field(default_factory=dict)
    contexts: Mapping[str, Context] = field(default_factory=dict)
    current_context: str = ""

    def current_cluster(self) -> Cluster:
        """Return the cluster kubeadm would use (GetClusterFromKubeConfig): the unnamed one, else the context's."""
        if "" in self.clusters:
            return self.clusters[""]
        context = self.contexts.get(self.current_context)
        if context is None:
            raise KubeconfigError(f"no context found for the current context {go_quote(self.current_context)}")
        cluster = self.clusters.get(context.cluster)
        if cluster is None:
            raise KubeconfigError(f"no cluster found for the context cluster {go_quote(context.cluster)}")
        return cluster

    def current_user(self) -> User | None:
        """Return the current context's user, or None when any link is missing (getCurrentAuthInfo)."""
        context = self.contexts.get(self.current_context) if self.current_context else None
        if context is None or not context.user:
            return None
        return self.users.get(context.user)

    def has_credentials(self) -> bool:
        """Report whether the current user can authenticate (HasAuthenticationCredentials)."""
        user = self.current_user()
        if user is None:
            return False
        has_cert = bool(user.client_cert_path or user.client_cert_data)
        return bool(user.token) or (has_cert and bool(user.client_key_path or user.client_key_data))

    def to_yaml(self) -> str:
        """Render this kubeconfig as client-go's ``clientcmd.Write`` would."""
        return render(self)


# --- writer ---------------------------------------------------------------------------------

_YAML11_EXTRA_BOOLS = frozenset({"y", "Y", "n", "N"})  # go-yaml v2 booleans PyYAML's resolver lacks
_RESOLVER = yaml.resolver.Resolver()
# PyYAML's wording of common scanner/parser problems, in go-yaml v2's words (yaml.v2 scannerc.go).
_GO_YAML_PROBLEMS = {
    "mapping values are not allowed here": "mapping values are not allowed in this context",
    "found character '\\t' that cannot start any token": "found character that cannot start any token",
}


def _resolves_to_str(text: str) -> bool:
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag == "tag:yaml.org,2002:str"


def _scalar(text: str) -> str:
    """Quote a string as go-yaml v2 does: double quotes if it would resolve to a non-string, single
    quotes if the plain style is not allowed, else plain."""
    if not text or text in _YAML11_EXTRA_BOOLS or not _resolves_to_str(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    plain_ok = (text[0] not in "#,[]{}&*!|>'\"%@`" and not re.match(r"[-?:](\s|$)", text)
                and ": " not in text and " #" not in text and not text.endswith(":")
                and text == text.strip() and text[:3] not in ("---", "...") and text.isprintable())
    return text if plain_ok else "'" + text.replace("'", "''") + "'"


def _lines(mapping: Mapping[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    for key in sorted(mapping):
        value = mapping[key]
        if value is None:
            out.append(f"{pad}{key}: null")
        elif isinstance(value, bool):
            out.append(f"{pad}{key}: {'true' if value else 'false'}")
        elif isinstance(value, str):
            out.append(f"{pad}{key}: {_scalar(value)}")
        elif isinstance(value, list):
            out.append(f"{pad}{key}:")
            for item in value:
                sub = _lines(item, indent + 2)
                out.append(f"{pad}- {sub[0].lstrip()}")
                out.extend(sub[1:])
        elif value:
            out.append(f"{pad}{key}:")
            out.extend(_lines(value, indent + 2))
        else:
            out.append(f"{pad}{key}: {{}}")
    return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _cluster_json(c: Cluster) -> dict[str, Any]:
    out: dict[str, Any] = {"server": c.server}
    if c.ca_file:
        out["certificate-authority"] = c.ca_file
    if c.ca_data:
        out["certificate-authority-data"] = _b64(c.ca_data)
    if c.insecure:
        out["insecure-skip-tls-verify"] = True
    return out


def _user_json(u: User) -> dict[str, Any]:
    pairs = {"client-certificate": u.client_cert_path, "client-certificate-data": _b64(u.client_cert_data),
             "client-key": u.client_key_path, "client-key-data": _b64(u.client_key_data), "token": u.token}
    return {k: v for k, v in pairs.items() if v}


def _context_json(c: Context) -> dict[str, Any]:
    out = {"cluster": c.cluster, "user": c.user}
    if c.namespace:
        out["namespace"] = c.namespace
    return out


def render(config: Kubeconfig) -> str:
    """Return the exact text client-go writes for ``config`` (entries sorted by name)."""
    doc: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config", "current-context": config.current_context,
        "clusters": [{"name": n, "cluster": _cluster_json(config.clusters[n])} for n in sorted(config.clusters)]
        or None,
        "contexts": [{"name": n, "context": _context_json(config.contexts[n])} for n in sorted(config.contexts)]
        or None,
        "users": [{"name": n, "user": _user_json(config.users[n])} for n in sorted(config.users)] or None,
    }
    return "\n".join(_lines(doc, 0)) + "\n"


def cluster_info_kubeconfig(server: str, ca_pem: bytes) -> str:
    """Return the cluster-info ``kubeconfig`` value: one unnamed cluster, no contexts, no users."""
    return render(Kubeconfig(clusters={"": Cluster(server=server, ca_data=ca_pem)}))


def _basic(server: str, ca_pem: bytes, cluster_name: str, user_name: str, user: User) -> str:
    """Build kubeadm's CreateBasic layout: context ``<user>@<cluster>``, set as current."""
    context = f"{user_name}@{cluster_name}"
    return render(Kubeconfig(clusters={cluster_name: Cluster(server=server, ca_data=ca_pem)},
                             users={user_name: user}, contexts={context: Context(cluster_name, user_name)},
                             current_context=context))


@functools.lru_cache(maxsize=64)
def token_kubeconfig(server: str, ca_pem: bytes, token: str, *, cluster_name: str = DEFAULT_CLUSTER_NAME,
                     user: str = TLS_BOOTSTRAP_TOKEN_USER) -> str:
    """Return a bearer-token kubeconfig such as bootstrap-kubelet.conf (kubeadm CreateWithToken)."""
    return _basic(server, ca_pem, cluster_name, user, User(token=token))


def cert_kubeconfig(server: str, ca_pem: bytes, *, cert_pem: bytes, key_pem: bytes,
                    cluster_name: str = DEFAULT_CLUSTER_NAME, user: str = ADMIN_USER) -> str:
    """Return a client-certificate kubeconfig with embedded data, such as admin.conf (CreateWithCerts)."""
    return _basic(server, ca_pem, cluster_name, user, User(client_cert_data=cert_pem, client_key_data=key_pem))


@functools.lru_cache(maxsize=64)
def kubelet_kubeconfig(server: str, ca_pem: bytes) -> str:
    """Return the kubelet.conf the kubelet writes after bootstrapping, pointing at the rotating cert file."""
    return render(Kubeconfig(
        clusters={KUBELET_CLUSTER_NAME: Cluster(server=server, ca_data=ca_pem)},
        users={KUBELET_USER_NAME: User(client_cert_path=KUBELET_CLIENT_CURRENT_PATH,
                                       client_key_path=KUBELET_CLIENT_CURRENT_PATH)},
        contexts={KUBELET_CONTEXT_NAME: Context(KUBELET_CLUSTER_NAME, KUBELET_USER_NAME, KUBELET_CONTEXT_NAMESPACE)},
        current_context=KUBELET_CONTEXT_NAME))


@functools.lru_cache(maxsize=256)
def file_bytes(text: str) -> bytes:
    """Return a file's text as bytes, one shared object for every node that writes the same text.

    Thousands of simulated nodes write the same bootstrap-kubelet.conf,
    kubelet.conf and kubelet configuration; bytes are immutable, so sharing
    them changes nothing but the memory they take.
    """
    return text.encode()


# --- reader ---------------------------------------------------------------------------------

_JSON_KIND = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}


def _field(obj: Mapping[str, Any], key: str, want: type, go_type: str, struct: str, path: str) -> Any:
    """Fetch one field, failing with encoding/json's type-mismatch text when the kind is wrong."""
    value = obj.get(key)
    if value is None:
        return want()
    if not isinstance(value, want) or (want is int and isinstance(value, bool)):
        kind = _JSON_KIND.get(type(value), "string")
        where = f"{path}.{key}" if path else key
        raise KubeconfigError(f"json: cannot unmarshal {kind} into Go struct field {struct}.{where} of type {go_type}")
    return value


def _bytes(obj: Mapping[str, Any], key: str, struct: str, path: str) -> bytes:
    text = _field(obj, key, str, "[]uint8", struct, path)
    try:
        return base64.b64decode(text.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError):
        bad = next((i for i, ch in enumerate(text) if not re.match(r"[A-Za-z0-9+/=\r\n]", ch)), len(text))
        raise KubeconfigError(f"illegal base64 data at input byte {bad}") from None


def _entries(doc: Mapping[str, Any], key: str, inner: str, named: str, inner_type: str) -> list[tuple[str, Any]]:
    """Return the (name, body) pairs of one v1 list, e.g. clusters as NamedCluster{name, cluster}."""
    out = []
    for item in _field(doc, key, list, f"[]v1.{named}", "Config", ""):
        if not isinstance(item, dict):
            raise KubeconfigError(f"json: cannot unmarshal {_JSON_KIND.get(type(item), 'string')} into Go struct "
                                  f"field Config.{key} of type v1.{named}")
        name = _field(item, "name", str, "string", named, key)
        out.append((name, _field(item, inner, dict, f"v1.{inner_type}", named, key)))
    return out


@functools.lru_cache(maxsize=256)
def _parse_yaml(text: str | bytes) -> Any:
    """Parse YAML once per distinct text: every node of a cluster loads the same few kubeconfigs.

    ``load`` only reads the document, so sharing the cached value is safe;
    errors are not cached and are raised again on every call.
    """
    return yaml.safe_load(text)


def load(text: str | bytes) -> Kubeconfig:
    """Parse a kubeconfig as ``clientcmd.Load`` does; empty input gives an empty config.

    A workflow reads the same few files again and again (kubeadm polls
    kubelet.conf every second), so results are remembered per text; the
    result is frozen and never changed by its readers. Errors are raised anew.
    """
    return _load(text)


@functools.lru_cache(maxsize=1024)
def _load(text: str | bytes) -> Kubeconfig:
    try:
        doc = _parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        problem = _GO_YAML_PROBLEMS.get(str(exc.problem), str(exc.problem))
        raise KubeconfigError(f"yaml: line {line}: {problem}") from exc
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"yaml: {exc}") from exc
    if doc is None:
        return Kubeconfig()
    if not isinstance(doc, dict):
        raise KubeconfigError(
            "couldn't get version/kind; json parse error: json: cannot unmarshal "
            f"{_JSON_KIND.get(type(doc), 'string')} into Go value of type struct "
            '{ APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }')
    clusters = {}
    for name, c in _entries(doc, "clusters", "cluster", "NamedCluster", "Cluster"):
        path = "clusters.cluster"
        clusters[name] = Cluster(
            server=_field(c, "server", str, "string", "Cluster", path),
            ca_data=_bytes(c, "certificate-authority-data", "Cluster", path),
            insecure=_field(c, "insecure-skip-tls-verify", bool, "bool", "Cluster", path),
            ca_file=_field(c, "certificate-authority", str, "string", "Cluster", path))
    users = {}
    for name, u in _entries(doc, "users", "user", "NamedAuthInfo", "AuthInfo"):
        path = "users.user"
        users[name] = User(
            token=_field(u, "token", str, "string", "AuthInfo", path),
            client_cert_data=_bytes(u, "client-certificate-data", "AuthInfo", path),
            client_key_data=_bytes(u, "client-key-data", "AuthInfo", path),
            client_cert_path=_field(u, "client-certificate", str, "string", "AuthInfo", path),
            client_key_path=_field(u, "client-key", str, "string", "AuthInfo", path))
    contexts = {}
    for name, c in _entries(doc, "contexts", "context", "NamedContext", "Context"):
        path = "contexts.context"
        contexts[name] = Context(
            cluster=_field(c, "cluster", str, "string", "Context", path),
            user=_field(c, "user", str, "string", "Context", path),
            namespace=_field(c, "namespace", str, "string", "Context", path))
    current = _field(doc, "current-context", str, "string", "Config", "")
    return Kubeconfig(clusters=clusters, users=users, contexts=contexts, current_context=current)
