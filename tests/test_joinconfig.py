"""Check JoinConfiguration defaults and validation against kubeadm's ValidateDiscovery texts."""

from __future__ import annotations

import pytest

from sim.protocol import constants as C
from sim.protocol.errors import ValidationError
from sim.protocol.joinconfig import (
    UNSAFE_SKIP_MESSAGE, JoinConfiguration, field_invalid, node_registration_errors, validate, validation_errors,
)

TOKEN = "abcdef.0123456789abcdef"
OTHER_TOKEN = "ghijkl.0123456789abcdef"
ENDPOINT = "10.0.0.1:6443"
PIN = "sha256:" + "ab" * 32
UNSAFE = f'discovery.bootstrapToken.caCertHashes: Invalid value: "": {UNSAFE_SKIP_MESSAGE}'

# A real `kubeadm join pqrstu.abcdef1234567890` (the token given where the endpoint goes, no --token, no hashes).
REAL_KUBEADM_OUTPUT = (
    '[discovery.bootstrapToken.caCertHashes: Invalid value: "": using token-based discovery without caCertHashes '
    "can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass "
    "--discovery-token-unsafe-skip-ca-verification flag to continue, discovery.bootstrapToken.token: Invalid value: "
    '"": the bootstrap token is invalid, discovery.bootstrapToken.apiServerEndpoint: Invalid value: '
    '"pqrstu.abcdef1234567890": address pqrstu.abcdef1234567890: missing port in address, '
    'discovery.tlsBootstrapToken: Invalid value: "": the bootstrap token is invalid]'
)
REAL_ERRORS = [
    UNSAFE,
    'discovery.bootstrapToken.token: Invalid value: "": the bootstrap token is invalid',
    'discovery.bootstrapToken.apiServerEndpoint: Invalid value: "pqrstu.abcdef1234567890": address '
    'pqrstu.abcdef1234567890: missing port in address',
    'discovery.tlsBootstrapToken: Invalid value: "": the bootstrap token is invalid',
]


def config(**fields: object) -> JoinConfiguration:
    return JoinConfiguration(node_name="node-1", **fields)  # type: ignore[arg-type]


def test_unsafe_skip_message_is_kubeadms() -> None:
    assert UNSAFE_SKIP_MESSAGE == (
        "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in "
        "your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue")


def test_field_invalid_quotes_the_value_as_go_does() -> None:
    assert field_invalid("a.b", 'x"y\\z', "bad") == 'a.b: Invalid value: "x\\"y\\\\z": bad'


VALID = [
    pytest.param(dict(token=TOKEN, api_server_endpoint=ENDPOINT, ca_cert_hashes=(PIN,)), id="valid: token with a pin"),
    pytest.param(dict(token=TOKEN, api_server_endpoint=ENDPOINT, unsafe_skip_ca_verification=True),
                 id="valid: token with unsafe skip"),
    pytest.param(dict(token=TOKEN, api_server_endpoint=ENDPOINT, ca_cert_hashes=("aaaa",)),
                 id="valid: hash formats are checked later, in discovery (upstream join test)"),
    pytest.param(dict(token=TOKEN, api_server_endpoint="[fd00::1]:6443", ca_cert_hashes=(PIN,)),
                 id="valid: a bracketed IPv6 endpoint"),
    pytest.param(dict(token=TOKEN, api_server_endpoint="cp.example.test:", ca_cert_hashes=(PIN,)),
                 id="valid: SplitHostPort accepts an empty port"),
    pytest.param(dict(token=TOKEN, tls_bootstrap_token=OTHER_TOKEN, api_server_endpoint=ENDPOINT, ca_cert_hashes=(PIN,)),
                 id="valid: a separate TLS bootstrap token"),
    pytest.param(dict(discovery_file="/etc/kubernetes/discovery.conf"),
                 id="valid: a discovery file, no TLS bootstrap token"),
    pytest.param(dict(discovery_file="/etc/kubernetes/discovery.conf", tls_bootstrap_token=TOKEN),
                 id="valid: a discovery file with a TLS bootstrap token"),
    pytest.param(dict(discovery_file="https://discovery.example.test/cluster.conf"), id="valid: an HTTPS URL"),
    pytest.param(dict(discovery_file="file:///etc/kubernetes/discovery.conf"),
                 id="valid: a file:// URL is a path"),
    pytest.param(dict(token=TOKEN, discovery_file="/etc/kubernetes/discovery.conf"),
                 id="valid: --token with --discovery-file is file discovery"),
]


@pytest.mark.parametrize("fields", VALID)
def test_valid_configurations(fields: dict[str, object]) -> None:
    cfg = config(**fields)
    assert validation_errors(cfg) == []
    validate(cfg)


INVALID = [
    pytest.param(dict(), ['discovery: Invalid value: "": bootstrapToken or file must be set'],
                 id="invalid: neither token nor file"),
    pytest.param(dict(token=TOKEN, api_server_endpoint=ENDPOINT), [UNSAFE],
                 id="invalid: no pins and no unsafe skip"),
    pytest.param(dict(token="abcdef.0123456789ABCDEF", api_server_endpoint=ENDPOINT, ca_cert_hashes=(PIN,)), [
        'discovery.bootstrapToken.token: Invalid value: "abcdef.0123456789ABCDEF": the bootstrap token is invalid',
        'discovery.tlsBootstrapToken: Invalid value: "abcdef.0123456789ABCDEF": the bootstrap token is invalid',
    ], id="invalid: a bad --token is reported for discovery and, through the default, for the TLS bootstrap"),
    pytest.param(dict(token=TOKEN, tls_bootstrap_token="nope", api_server_endpoint=ENDPOINT, ca_cert_hashes=(PIN,)),
                 ['discovery.tlsBootstrapToken: Invalid value: "nope": the bootstrap token is invalid'],
                 id="invalid: a bad --tls-bootstrap-token alone"),
    pytest.param(dict(token=TOKEN, api_server_endpoint="10.0.0.1", ca_cert_hashes=(PIN,)), [
        'discovery.bootstrapToken.apiServerEndpoint: Invalid value: "10.0.0.1": address 10.0.0.1: missing port in address',
    ], id="invalid: an endpoint without a port"),
    pytest.param(dict(token=TOKEN, api_server_endpoint="fd00::1:6443", ca_cert_hashes=(PIN,)), [
        'discovery.bootstrapToken.apiServerEndpoint: Invalid value: "fd00::1:6443": address fd00::1:6443: too many '
        'colons in address',
    ], id="invalid: an unbracketed IPv6 endpoint"),
    pytest.param(dict(token="bad", api_server_endpoint="10.0.0.1"), [
        UNSAFE,
        'discovery.bootstrapToken.token: Invalid value: "bad": the bootstrap token is invalid',
        'discovery.bootstrapToken.apiServerEndpoint: Invalid value: "10.0.0.1": address 10.0.0.1: missing port in address',
        'discovery.tlsBootstrapToken: Invalid value: "bad": the bootstrap token is invalid',
    ], id="invalid: every token-discovery problem, in ValidateDiscovery's order"),
    pytest.param(dict(discovery_file="http://discovery.example.test/cluster.conf"), [
        'discovery.file.kubeConfigPath: Invalid value: "http://discovery.example.test/cluster.conf": if a URL is '
        'used, the scheme must be https',
    ], id="invalid: a plain-HTTP discovery URL"),
    pytest.param(dict(discovery_file="/etc/kubernetes/discovery.conf", tls_bootstrap_token="nope"),
                 ['discovery.tlsBootstrapToken: Invalid value: "nope": the bootstrap token is invalid'],
                 id="invalid: a bad TLS bootstrap token with a discovery file"),
    pytest.param(dict(api_server_endpoint="pqrstu.abcdef1234567890"), REAL_ERRORS,
                 id="invalid: a real kubeadm run with the token where the endpoint goes"),
]


@pytest.mark.parametrize("fields, errors", INVALID)
def test_invalid_configurations(fields: dict[str, object], errors: list[str]) -> None:
    cfg = config(**fields)
    assert validation_errors(cfg) == errors
    with pytest.raises(ValidationError) as info:
        validate(cfg)
    expected = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
    assert str(info.value) == expected


def test_a_single_error_is_not_bracketed_and_several_are() -> None:
    with pytest.raises(ValidationError) as one:
        validate(config(token=TOKEN, api_server_endpoint=ENDPOINT))
    assert str(one.value) == UNSAFE
    with pytest.raises(ValidationError) as two:
        validate(config(token=TOKEN, api_server_endpoint="10.0.0.1"))
    assert str(two.value).startswith("[" + UNSAFE + ", discovery.bootstrapToken.apiServerEndpoint: ")
    assert str(two.value).endswith("missing port in address]")


def test_the_real_output_is_the_aggregate_of_its_errors() -> None:
    """Pin how the real run's message splits into the errors the case above expects."""
    assert "[" + ", ".join(REAL_ERRORS) + "]" == REAL_KUBEADM_OUTPUT


@pytest.mark.parametrize("fields, expected", [
    pytest.param(dict(token=TOKEN), TOKEN, id="valid: defaults to the discovery token (SetDefaults_Discovery)"),
    pytest.param(dict(token=TOKEN, tls_bootstrap_token=OTHER_TOKEN), OTHER_TOKEN, id="valid: an explicit one wins"),
    pytest.param(dict(discovery_file="/x", tls_bootstrap_token=OTHER_TOKEN), OTHER_TOKEN,
                 id="valid: with a discovery file"),
    pytest.param(dict(discovery_file="/x"), "", id="valid: none for a file that carries credentials"),
])
def test_tls_bootstrap_token_default(fields: dict[str, object], expected: str) -> None:
    assert config(**fields).effective_tls_bootstrap_token == expected


def test_defaults_are_kubeadms() -> None:
    cfg = config(token=TOKEN, api_server_endpoint=ENDPOINT)
    assert cfg.discovery_timeout == C.DISCOVERY_TIMEOUT == 300
    assert cfg.tls_bootstrap_timeout == C.TLS_BOOTSTRAP_TIMEOUT == 300
    assert cfg.bind_port == 6443
    assert cfg.ca_cert_path == "/etc/kubernetes/pki/ca.crt"
    assert cfg.uses_token_discovery and not config(discovery_file="/x").uses_token_discovery


SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


@pytest.mark.parametrize(
    "name, errors",
    [
        pytest.param("node-1", [], id="valid: a DNS label"),
        pytest.param("worker-7.example.com", [], id="valid: a DNS subdomain"),
        pytest.param("Node_1", [f'nodeRegistration.name: Invalid value: "Node_1": {SUBDOMAIN_MESSAGE}'],
                     id="invalid: upper case and underscore"),
        pytest.param("a" * 254, ["nodeRegistration.name: Invalid value: \"" + "a" * 254
                                 + '": must be no more than 253 characters'], id="invalid: longer than 253"),
        pytest.param("", ["nodeRegistration: Required value: --node-name or .nodeRegistration.name in the config "
                          "file is a required value. It seems like this value couldn't be automatically detected in "
                          "your environment, please specify the desired value using the CLI or config file."],
                     id="invalid: empty"),
    ],
)
def test_node_names_are_dns_subdomains(name: str, errors: list[str]) -> None:
    cfg = JoinConfiguration(node_name=name, api_server_endpoint=ENDPOINT, token=TOKEN, ca_cert_hashes=(PIN,))
    assert node_registration_errors(cfg) == errors
    if errors:
        with pytest.raises(ValidationError) as raised:
            validate(cfg)
        assert str(raised.value) == (errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
