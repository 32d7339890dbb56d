"""Check the kubeconfig writer against client-go's bytes and the reader against clientcmd.Load."""

from __future__ import annotations

import base64

import pytest

from sim.protocol import kubeconfig as kc
from sim.protocol.errors import KubeconfigError

SERVER = "https://10.0.0.1:6443"
CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
CA_B64 = base64.b64encode(CA_PEM).decode()

CLUSTER_INFO_GOLDEN = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {CA_B64}
    server: https://10.0.0.1:6443
  name: ""
contexts: null
current-context: ""
kind: Config
users: null
"""

TOKEN_GOLDEN = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {CA_B64}
    server: https://10.0.0.1:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: tls-bootstrap-token-user
  name: tls-bootstrap-token-user@kubernetes
current-context: tls-bootstrap-token-user@kubernetes
kind: Config
users:
- name: tls-bootstrap-token-user
  user:
    token: abcdef.0123456789abcdef
"""

KUBELET_GOLDEN = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {CA_B64}
    server: https://10.0.0.1:6443
  name: default-cluster
contexts:
- context:
    cluster: default-cluster
    namespace: default
    user: default-auth
  name: default-context
current-context: default-context
kind: Config
users:
- name: default-auth
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
"""

ADMIN_GOLDEN = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {CA_B64}
    server: https://10.0.0.1:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
"""


@pytest.mark.parametrize("text, golden", [
    (kc.cluster_info_kubeconfig(SERVER, CA_PEM), CLUSTER_INFO_GOLDEN),
    (kc.token_kubeconfig(SERVER, CA_PEM, "abcdef.0123456789abcdef"), TOKEN_GOLDEN),
    (kc.kubelet_kubeconfig(SERVER, CA_PEM), KUBELET_GOLDEN),
    (kc.cert_kubeconfig(SERVER, CA_PEM, cert_pem=b"CERT", key_pem=b"KEY"), ADMIN_GOLDEN),
], ids=["valid: cluster-info", "valid: bootstrap-kubelet.conf", "valid: kubelet.conf", "valid: admin.conf"])
def test_writer_matches_client_go_bytes(text: str, golden: str) -> None:
    assert text == golden
    assert kc.load(text).to_yaml() == golden
    assert kc.load(text.encode()) == kc.load(text)


def test_loaded_cluster_info() -> None:
    config = kc.load(CLUSTER_INFO_GOLDEN)
    assert config.clusters == {"": kc.Cluster(server=SERVER, ca_data=CA_PEM)}
    assert (config.contexts, config.users, config.current_context) == ({}, {}, "")
    assert config.current_cluster().ca_data == CA_PEM
    assert config.current_user() is None and not config.has_credentials()


def test_other_fields_render_sorted_and_round_trip() -> None:
    config = kc.Kubeconfig(
        clusters={"b": kc.Cluster(server="https://b:6443", insecure=True, ca_file="/etc/ca.crt"),
                  "a": kc.Cluster(server="https://a:6443")},
        users={"anon": kc.User()}, contexts={"x": kc.Context("a", "anon", "kube-system")}, current_context="x")
    text = config.to_yaml()
    assert "  name: a\n- cluster:\n    certificate-authority: /etc/ca.crt\n    insecure-skip-tls-verify: true\n" \
           "    server: https://b:6443\n" in text
    assert "- name: anon\n  user: {}\n" in text
    assert kc.load(text) == config


@pytest.mark.parametrize("text, message", [
    ("a: b: c", "yaml: line 1: mapping values are not allowed in this context"),
    ("clusters:\n\t- x", "yaml: line 2: found character that cannot start any token"),
    ("just a string", "couldn't get version/kind; json parse error: json: cannot unmarshal string into Go value"),
    ("clusters: 5", "json: cannot unmarshal number into Go struct field Config.clusters of type []v1.NamedCluster"),
    ("clusters: [1]", "json: cannot unmarshal number into Go struct field Config.clusters of type v1.NamedCluster"),
    ("clusters:\n- name: 5", "json: cannot unmarshal number into Go struct field NamedCluster.clusters.name of type "
                             "string"),
    ("clusters:\n- cluster:\n    server: 6443",
     "json: cannot unmarshal number into Go struct field Cluster.clusters.cluster.server of type string"),
    ("clusters:\n- cluster:\n    certificate-authority-data: '%%%'", "illegal base64 data at input byte 0"),
    ("users:\n- user:\n    token: [a]", "json: cannot unmarshal array into Go struct field AuthInfo.users.user.token "
                                         "of type string"),
    ("current-context: yes", "json: cannot unmarshal bool into Go struct field Config.current-context of type string"),
], ids=["invalid: yaml syntax", "invalid: tab", "invalid: not a mapping", "invalid: clusters not a list",
        "invalid: cluster entry not a mapping", "invalid: name not a string", "invalid: server not a string",
        "invalid: CA data not base64", "invalid: token not a string", "invalid: yes is a bool"])
def test_load_errors(text: str, message: str) -> None:
    with pytest.raises(KubeconfigError) as err:
        kc.load(text)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("text", ["", "   \n", "# comment only\n"], ids=["valid: empty", "valid: blank",
                                                                       "valid: comment"])
def test_empty_input_is_an_empty_config(text: str) -> None:
    assert kc.load(text) == kc.Kubeconfig()


def _with(clusters: dict[str, kc.Cluster], contexts: dict[str, kc.Context], current: str) -> kc.Kubeconfig:
    return kc.Kubeconfig(clusters=clusters, contexts=contexts, current_context=current)


A, B = kc.Cluster(server="https://a"), kc.Cluster(server="https://b")


@pytest.mark.parametrize("config, expected", [
    (_with({"": A, "b": B}, {"c": kc.Context("b")}, "c"), A),
    (_with({"a": A, "b": B}, {"c": kc.Context("b")}, "c"), B),
    (_with({}, {}, ""), 'no context found for the current context ""'),
    (_with({"a": A}, {"c": kc.Context("a")}, "missing"), 'no context found for the current context "missing"'),
    (_with({"a": A}, {"c": kc.Context("zzz")}, "c"), 'no cluster found for the context cluster "zzz"'),
], ids=["valid: unnamed cluster wins", "valid: current context's cluster", "invalid: empty config",
        "invalid: unknown current context", "invalid: context names a missing cluster"])
def test_current_cluster(config: kc.Kubeconfig, expected: kc.Cluster | str) -> None:
    if isinstance(expected, kc.Cluster):
        assert config.current_cluster() == expected
    else:
        with pytest.raises(KubeconfigError, match=f"^{expected}$"):
            config.current_cluster()


def _user_config(user: kc.User, *, current: str = "c", context_user: str = "u") -> kc.Kubeconfig:
    return kc.Kubeconfig(clusters={"k": A}, users={"u": user}, contexts={"c": kc.Context("k", context_user)},
                         current_context=current)


@pytest.mark.parametrize("config, expected", [
    (_user_config(kc.User(token="t")), True),
    (_user_config(kc.User(client_cert_data=b"c", client_key_data=b"k")), True),
    (_user_config(kc.User(client_cert_path="/c", client_key_path="/k")), True),
    (_user_config(kc.User(client_cert_path="/c", client_key_data=b"k")), True),
    (_user_config(kc.User(client_cert_data=b"c")), False),
    (_user_config(kc.User()), False),
    (_user_config(kc.User(token="t"), current=""), False),
    (_user_config(kc.User(token="t"), context_user=""), False),
    (_user_config(kc.User(token="t"), context_user="nobody"), False),
], ids=["valid: token", "valid: embedded cert and key", "valid: cert and key files", "valid: mixed file and data",
        "invalid: cert without key", "invalid: no credentials", "invalid: no current context",
        "invalid: context without user", "invalid: context names a missing user"])
def test_has_credentials(config: kc.Kubeconfig, expected: bool) -> None:
    assert config.has_credentials() is expected


@pytest.mark.parametrize("value, emitted", [
    ("", '""'), ("abc", "abc"), ("https://x:6443", "https://x:6443"), ("tls-user@kubernetes", "tls-user@kubernetes"),
    ("yes", '"yes"'), ("y", '"y"'), ("null", '"null"'), ("123", '"123"'), ("1.5", '"1.5"'),
    ("2001-12-14", '"2001-12-14"'), ("- a", "'- a'"), ("a: b", "'a: b'"), ("#x", "'#x'"), ("@x", "'@x'"),
    (" a", "' a'"), ("it's: x", "'it''s: x'"),
], ids=["valid: empty quoted", "valid: plain", "valid: url plain", "valid: at sign inside",
        "valid: bool word quoted", "valid: yaml 1.1 y quoted", "valid: null quoted", "valid: int quoted",
        "valid: float quoted", "valid: date quoted", "valid: dash single", "valid: colon space single",
        "valid: hash single", "valid: at start single", "valid: leading space single", "valid: quote doubled"])
def test_scalar_quoting_like_go_yaml(value: str, emitted: str) -> None:
    assert kc._scalar(value) == emitted
    text = kc.render(kc.Kubeconfig(clusters={value: A}))
    assert kc.load(text).clusters == {value: A}
