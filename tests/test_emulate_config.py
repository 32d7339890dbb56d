"""Test reading ``kubeadm join --config`` files and Go durations for the real join client."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.emulate.goduration import parse_duration
from sim.emulate.joinconfig_file import load_join_configuration, read_join_configuration
from sim.protocol.errors import ValidationError
from sim.protocol.joinconfig import JoinConfiguration

HEADER = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n"


@pytest.mark.parametrize("text, seconds", [
    pytest.param("24h0m0s", 86400.0, id="valid: kubeadm's default ttl"),
    pytest.param("1.5h", 5400.0, id="valid: fraction"),
    pytest.param("90s", 90.0, id="valid: seconds"),
    pytest.param("0", 0.0, id="valid: bare zero"),
    pytest.param("-1m", -60.0, id="valid: negative"),
    pytest.param("500ms", 0.5, id="valid: milliseconds"),
])
def test_go_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text, message", [
    pytest.param("bogus", 'time: invalid duration "bogus"', id="invalid: no number"),
    pytest.param("5", 'time: missing unit in duration "5"', id="invalid: no unit"),
    pytest.param("5x", 'time: unknown unit "x" in duration "5x"', id="invalid: unknown unit"),
    pytest.param("", 'time: invalid duration ""', id="invalid: empty"),
])
def test_go_duration_errors(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_duration(text)
    assert str(err.value) == message


def test_a_full_v1beta4_document_maps_to_join_settings() -> None:
    text = HEADER + """caCertPath: /etc/kubernetes/pki/other-ca.crt
discovery:
  bootstrapToken:
    apiServerEndpoint: 10.0.0.1:6443
    token: abcdef.0123456789abcdef
    caCertHashes: ["sha256:aa", "sha256:bb"]
    unsafeSkipCAVerification: false
  tlsBootstrapToken: ghijkl.0123456789abcdef
nodeRegistration:
  name: worker-1
  criSocket: unix:///run/crio/crio.sock
  ignorePreflightErrors: [Swap]
  kubeletExtraArgs:
  - name: node-labels
    value: zone=a,tier=web
controlPlane:
  certificateKey: "00ff"
  localAPIEndpoint:
    advertiseAddress: 10.0.0.2
    bindPort: 6444
timeouts:
  discovery: 1m30s
  tlsBootstrap: 2m
  kubeletHealthCheck: 10s
  kubernetesAPICall: 30s
  etcdAPICall: 2m
"""
    settings = load_join_configuration(text)
    cfg = JoinConfiguration(**settings.values)
    assert cfg == JoinConfiguration(
        node_name="worker-1", api_server_endpoint="10.0.0.1:6443", token="abcdef.0123456789abcdef",
        tls_bootstrap_token="ghijkl.0123456789abcdef", ca_cert_hashes=("sha256:aa", "sha256:bb"),
        control_plane=True, certificate_key="00ff", advertise_address="10.0.0.2", bind_port=6444,
        ignore_preflight_errors=("Swap",), ca_cert_path="/etc/kubernetes/pki/other-ca.crt",
        cri_socket="unix:///run/crio/crio.sock", discovery_timeout=90.0, tls_bootstrap_timeout=120.0,
        kubelet_health_check_timeout=10.0, kubernetes_api_call_timeout=30.0,
        node_labels=(("zone", "a"), ("tier", "web")))
    assert settings.warnings == [] and not settings.dry_run


def test_file_discovery_and_other_documents() -> None:
    text = ("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n---\n" + HEADER
            + "dryRun: true\ndiscovery:\n  file:\n    kubeConfigPath: https://example.test/discovery.conf\n"
              "  bogus: 1\n")
    settings = load_join_configuration(text)
    assert settings.values == {"discovery_file": "https://example.test/discovery.conf"} and settings.dry_run
    assert settings.warnings == [
        "[config] WARNING: Ignored configuration document with GroupVersionKind kubeadm.k8s.io/v1beta4, "
        "Kind=ClusterConfiguration",
        'error unmarshaling configuration schema.GroupVersionKind{Group:"kubeadm.k8s.io", Version:"v1beta4", '
        'Kind:"JoinConfiguration"}: strict decoding error: unknown field "discovery.bogus"']


@pytest.mark.parametrize("text, message", [
    pytest.param(HEADER + "discovery:\n  bootstrapToken:\n    caCertHashes: sha256:aa\n",
                 "json: cannot unmarshal string into Go struct field BootstrapTokenDiscovery.discovery.bootstrapToken."
                 "caCertHashes of type []string", id="invalid: a list given as a string"),
    pytest.param(HEADER + "controlPlane:\n  localAPIEndpoint:\n    bindPort: six\n",
                 "json: cannot unmarshal string into Go struct field APIEndpoint.controlPlane.localAPIEndpoint.bindPort "
                 "of type int32", id="invalid: a port given as text"),
    pytest.param(HEADER + "nodeRegistration: worker\n",
                 "json: cannot unmarshal string into Go struct field JoinConfiguration.nodeRegistration of type "
                 "v1beta4.NodeRegistrationOptions", id="invalid: a struct given as a string"),
    pytest.param(HEADER + "timeouts:\n  discovery: soon\n", 'timeouts.discovery: time: invalid duration "soon"',
                 id="invalid: a timeout that is no duration"),
    pytest.param("apiVersion: kubeadm.k8s.io/v1beta2\nkind: JoinConfiguration\n",
                 'your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta2"', id="invalid: old API"),
    pytest.param("apiVersion: kubeadm.k8s.io/v9\nkind: JoinConfiguration\n",
                 'no kind "JoinConfiguration" is registered for version "kubeadm.k8s.io/v9"', id="invalid: unknown API"),
    pytest.param("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n",
                 "no JoinConfiguration found in the supplied config", id="invalid: no JoinConfiguration"),
    pytest.param("discovery: [\n", "yaml: line 2:", id="invalid: not YAML"),
])
def test_config_errors_name_the_field(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        load_join_configuration(text)
    assert str(err.value).startswith(message)


def test_a_missing_config_file_is_reported_as_kubeadm_does(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ValidationError) as err:
        read_join_configuration(str(path))
    assert str(err.value) == f'unable to read config from "{path}" : open {path}: no such file or directory'
