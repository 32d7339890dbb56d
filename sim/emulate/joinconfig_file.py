"""Read a ``kubeadm join --config`` file (JoinConfiguration ``kubeadm.k8s.io/v1beta4``) into join settings.

How this works: the YAML may hold several documents; the one of kind
``JoinConfiguration`` is decoded field by field, each checked for its Go type
(``json: cannot unmarshal <kind> into Go struct field <Struct>.<path> of type
<type>``, the text kubeadm's decoder prints); unknown fields become warnings,
as kubeadm's strict decoding only warns. The result is a dict of
``JoinConfiguration`` keyword arguments; validation of the values themselves
(token form, hashes, endpoint) stays in ``sim.protocol.joinconfig``.
Upstream: cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go,
cmd/kubeadm/app/util/config/joinconfiguration.go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from sim.emulate.goduration import parse_duration
from sim.protocol.errors import ValidationError, go_quote

API_VERSION = "kubeadm.k8s.io/v1beta4"
KIND = "JoinConfiguration"
GROUP = "kubeadm.k8s.io"
_OLD_VERSIONS = ("kubeadm.k8s.io/v1alpha1", "kubeadm.k8s.io/v1alpha2", "kubeadm.k8s.io/v1alpha3",
                 "kubeadm.k8s.io/v1beta1", "kubeadm.k8s.io/v1beta2")
_JSON_KIND = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}
# v1beta4 Timeouts field -> JoinConfiguration keyword
_TIMEOUTS = {"discovery": "discovery_timeout", "tlsBootstrap": "tls_bootstrap_timeout",
             "kubeletHealthCheck": "kubelet_health_check_timeout", "kubernetesAPICall": "kubernetes_api_call_timeout"}
_OTHER_TIMEOUTS = ("controlPlaneComponentHealthCheck", "etcdAPICall", "upgradeManifests")
# Each struct: field -> (Go type, nested struct name or None)
_STRUCTS: dict[str, dict[str, tuple[str, str | None]]] = {
    "JoinConfiguration": {
        "apiVersion": ("string", None), "kind": ("string", None), "dryRun": ("bool", None),
        "nodeRegistration": ("v1beta4.NodeRegistrationOptions", "NodeRegistrationOptions"),
        "caCertPath": ("string", None), "discovery": ("v1beta4.Discovery", "Discovery"),
        "controlPlane": ("v1beta4.JoinControlPlane", "JoinControlPlane"), "skipPhases": ("[]string", None),
        "patches": ("v1beta4.Patches", "Patches"), "timeouts": ("v1beta4.Timeouts", "Timeouts"),
    },
    "NodeRegistrationOptions": {
        "name": ("string", None), "criSocket": ("string", None), "taints": ("[]v1.Taint", None),
        "kubeletExtraArgs": ("[]v1beta4.Arg", None), "ignorePreflightErrors": ("[]string", None),
        "imagePullPolicy": ("v1.PullPolicy", None), "imagePullSerial": ("bool", None),
    },
    "Discovery": {
        "bootstrapToken": ("v1beta4.BootstrapTokenDiscovery", "BootstrapTokenDiscovery"),
        "file": ("v1beta4.FileDiscovery", "FileDiscovery"), "tlsBootstrapToken": ("string", None),
    },
    "BootstrapTokenDiscovery": {
        "token": ("string", None), "apiServerEndpoint": ("string", None), "caCertHashes": ("[]string", None),
        "unsafeSkipCAVerification": ("bool", None),
    },
    "FileDiscovery": {"kubeConfigPath": ("string", None)},
    "JoinControlPlane": {
        "localAPIEndpoint": ("v1beta4.APIEndpoint", "APIEndpoint"), "certificateKey": ("string", None),
    },
    "APIEndpoint": {"advertiseAddress": ("string", None), "bindPort": ("int32", None)},
    "Patches": {"directory": ("string", None)},
    "Timeouts": {name: ("*v1.Duration", None) for name in (*_TIMEOUTS, *_OTHER_TIMEOUTS)},
}
_PY_TYPE: dict[str, type] = {"string": str, "bool": bool, "int32": int, "[]string": list, "[]v1.Taint": list,
                             "[]v1beta4.Arg": list, "v1.PullPolicy": str, "*v1.Duration": str}


@dataclass(slots=True)
class FileSettings:
    """Hold what a config file sets: ``JoinConfiguration`` keywords, plus warnings and ``dryRun``."""

    values: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False


def _type_error(value: Any, struct: str, path: str, go_type: str) -> ValidationError:
    kind = _JSON_KIND.get(type(value), "string")
    return ValidationError(f"json: cannot unmarshal {kind} into Go struct field {struct}.{path} of type {go_type}")


def _decode(obj: Any, struct: str, path: str, out: dict[str, Any], warnings: list[str]) -> None:
    """Type-check one struct's fields into ``out`` (keyed by dotted path), recursing into nested structs."""
    if not isinstance(obj, dict):
        raise _type_error(obj, struct, path, f"v1beta4.{struct}")
    schema = _STRUCTS[struct]
    for key, value in obj.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in schema:
            warnings.append(unknown_field_warning(f"strict decoding error: unknown field {go_quote(where)}"))
            continue
        go_type, nested = schema[key]
        if value is None:
            continue
        if nested is not None:
            if not isinstance(value, dict):
                raise _type_error(value, struct, where, go_type)
            out[where] = True
            _decode(value, nested, where, out, warnings)
            continue
        want = _PY_TYPE[go_type]
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise _type_error(value, struct, where, go_type)
        if isinstance(value, list) and go_type == "[]string":
            bad = [item for item in value if not isinstance(item, str)]
            if bad:
                raise _type_error(bad[0], struct, where, "string")
        out[where] = value


def _documents(text: str) -> list[Any]:
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ValidationError(f"yaml: line {line}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ValidationError(f"yaml: {exc}") from None


def _pick(docs: list[Any], warnings: list[str]) -> dict[str, Any]:
    """Return the JoinConfiguration document, checking apiVersion and kind of every document."""
    found: dict[str, Any] | None = None
    for doc in docs:
        if not isinstance(doc, dict):
            raise ValidationError(f"invalid configuration: expected a YAML mapping, got {_JSON_KIND.get(type(doc), 'string')}")
        version, kind = str(doc.get("apiVersion") or ""), str(doc.get("kind") or "")
        if not kind:
            raise ValidationError("invalid configuration for GroupVersionKind /, Kind=: kind and apiVersion is mandatory "
                                  "information that must be specified")
        if kind != KIND:
            warnings.append(f"[config] WARNING: Ignored configuration document with GroupVersionKind {version}, Kind={kind}")
            continue
        if version in _OLD_VERSIONS:
            raise ValidationError(
                f"your configuration file uses an old API spec: {go_quote(version)} (kind: {go_quote(kind)}). "
                "Please use kubeadm v1.22 instead and run 'kubeadm config migrate --old-config old.yaml "
                "--new-config new.yaml', which will write the new, similar spec using a newer API version.")
        if version != API_VERSION:
            raise ValidationError(f"no kind {go_quote(kind)} is registered for version {go_quote(version)} in scheme "
                                  f"\"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31\" "
                                  f"(joinsim reads {API_VERSION} only)")
        found = doc
    if found is None:
        raise ValidationError(f"no {KIND} found in the supplied config")
    return found


def _node_labels(args: list[Any]) -> tuple[tuple[str, str], ...]:
    """Read ``--node-labels`` from ``nodeRegistration.kubeletExtraArgs`` (a list of name/value pairs in v1beta4)."""
    labels: list[tuple[str, str]] = []
    for arg in args:
        if not isinstance(arg, dict):
            raise _type_error(arg, "NodeRegistrationOptions", "nodeRegistration.kubeletExtraArgs", "v1beta4.Arg")
        if arg.get("name") == "node-labels":
            for pair in str(arg.get("value") or "").split(","):
                if pair:
                    key, _, value = pair.partition("=")
                    labels.append((key, value))
    return tuple(labels)


def load_join_configuration(text: str) -> FileSettings:
    """Decode a JoinConfiguration file into ``JoinConfiguration`` keywords (see the module docstring)."""
    settings = FileSettings()
    doc = _pick(_documents(text), settings.warnings)
    flat: dict[str, Any] = {}
    _decode(doc, "JoinConfiguration", "", flat, settings.warnings)
    v = settings.values
    renames = {
        "caCertPath": "ca_cert_path", "nodeRegistration.name": "node_name", "nodeRegistration.criSocket": "cri_socket",
        "discovery.bootstrapToken.apiServerEndpoint": "api_server_endpoint", "discovery.bootstrapToken.token": "token",
        "discovery.bootstrapToken.unsafeSkipCAVerification": "unsafe_skip_ca_verification",
        "discovery.file.kubeConfigPath": "discovery_file", "discovery.tlsBootstrapToken": "tls_bootstrap_token",
        "controlPlane.certificateKey": "certificate_key",
        "controlPlane.localAPIEndpoint.advertiseAddress": "advertise_address",
        "controlPlane.localAPIEndpoint.bindPort": "bind_port",
    }
    for path, name in renames.items():
        if path in flat:
            v[name] = flat[path]
    if "discovery.bootstrapToken.caCertHashes" in flat:
        v["ca_cert_hashes"] = tuple(flat["discovery.bootstrapToken.caCertHashes"])
    if "nodeRegistration.ignorePreflightErrors" in flat:
        v["ignore_preflight_errors"] = tuple(flat["nodeRegistration.ignorePreflightErrors"])
    if "nodeRegistration.kubeletExtraArgs" in flat:
        v["node_labels"] = _node_labels(flat["nodeRegistration.kubeletExtraArgs"])
    if "controlPlane" in flat:
        v["control_plane"] = True
    for key, name in _TIMEOUTS.items():
        raw = flat.get(f"timeouts.{key}")
        if raw is not None:
            try:
                v[name] = parse_duration(raw)
            except ValidationError as err:
                raise ValidationError(f"timeouts.{key}: {err}") from None
    for key in _OTHER_TIMEOUTS:
        raw = flat.get(f"timeouts.{key}")
        if raw is not None:
            try:
                parse_duration(raw)
            except ValidationError as err:
                raise ValidationError(f"timeouts.{key}: {err}") from None
    settings.dry_run = bool(flat.get("dryRun", False))
    return settings


def unknown_field_warning(message: str) -> str:
    """Render a strict-decoding warning as kubeadm logs it."""
    gvk = f'schema.GroupVersionKind{{Group:"{GROUP}", Version:"v1beta4", Kind:"{KIND}"}}'
    return f"error unmarshaling configuration {gvk}: {message}"


def read_join_configuration(path: str) -> FileSettings:
    """Read and decode a config file, wrapping a read failure as kubeadm does."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as err:
        reason = (err.strerror or str(err)).lower()
        raise ValidationError(f"unable to read config from {go_quote(path)} : open {path}: {reason}") from None
    return load_join_configuration(text)
