"""Check the crypto backends: the modeled records, every consumer that accepts them, and real = modeled runs."""

from __future__ import annotations

import base64
import dataclasses
import random
from datetime import timedelta
from typing import Any

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from sim import tlsmodel
from sim.control.controllers.csrcleaner import is_issued_expired
from sim.control.csr_validation import certificate_error, request_error
from sim.control.plane import ControlPlane
from sim.crypto import ModeledCrypto, RealCrypto, crypto_backend
from sim.engine.latency import LogNormal
from sim.engine.network import FirewallRule, Link, Window
from sim.engine.node import NodeModels
from sim.engine.run import ClusterSettings, JoinSettings, NetworkSettings, NodeGroup, SimResult, UniformArrivals
from sim.engine.run import EngineConfig, PoissonArrivals, simulate
from sim.harness import DEFAULT_START, Harness
from sim.protocol import commands as cmd
from sim.protocol import constants as C
from sim.protocol import csr as csrlib
from sim.protocol import keys, kubeconfig, modeled, pins, pki
from sim.protocol.commands import TlsConfig
from sim.protocol.errors import CryptoError, SigningError
from sim.protocol.joinconfig import JoinConfiguration
from sim.protocol.kubelet import load_kubelet_identity

NOW = DEFAULT_START
ENDPOINT = "10.0.0.1:6443"
NODE_CN = C.NODE_USER_PREFIX + "node-1"


def modeled_csr(seed: int = 1, common_name: str = NODE_CN, organizations: tuple[str, ...] = (C.NODES_GROUP,)) -> bytes:
    key = modeled.generate_key(random.Random(seed))
    return modeled.create_request(key, common_name=common_name, organizations=organizations)


def tampered(pem: bytes, **changes: Any) -> bytes:
    """Return a modeled CSR whose body was altered after it was signed."""
    request = dataclasses.replace(modeled.parse_request(pem), **changes)
    return request.pem()


@pytest.fixture(scope="module")
def plane() -> ControlPlane:
    made, _, _ = ControlPlane.bootstrap(now=NOW, rng=random.Random(3), endpoint=ENDPOINT, ca_key_type="ecdsa")
    return made


@pytest.fixture(scope="module")
def other_ca() -> pki.CertKey:
    return pki.create_ca(now=NOW, rng=random.Random(99), key_type="ecdsa", common_name="kubernetes")


# --- backends -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "mode, backend",
    [
        pytest.param("real", RealCrypto, id="valid: real"),
        pytest.param("modeled", ModeledCrypto, id="valid: modeled"),
        pytest.param("symbolic", None, id="invalid: an unknown mode"),
    ],
)
def test_crypto_backend(mode: str, backend: type | None) -> None:
    if backend is None:
        with pytest.raises(ValueError, match="unknown crypto mode 'symbolic'"):
            crypto_backend(mode)
    else:
        made = crypto_backend(mode)
        assert isinstance(made, backend) and made.mode == mode


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(cmd.GenerateKey(key_type="ecdsa"), id="valid: an ECDSA key"),
        pytest.param(cmd.GenerateKey(key_type="rsa"), id="valid: an RSA key (real in both modes)"),
    ],
)
def test_modeled_keys_take_the_real_keys_draws(command: cmd.GenerateKey) -> None:
    real_rng, modeled_rng = random.Random(7), random.Random(7)
    real_key = RealCrypto().run(command, NOW, real_rng)
    modeled_key = ModeledCrypto().run(command, NOW, modeled_rng)
    assert real_rng.getstate() == modeled_rng.getstate()
    if command.key_type == "ecdsa":
        assert isinstance(modeled_key, modeled.ModeledKey)
        assert modeled_key.scalar == real_key.private_numbers().private_value
    else:
        assert modeled_key.private_numbers() == real_key.private_numbers()


def test_seeded_rsa_keys_are_remembered_per_generator_state() -> None:
    first, second = random.Random(11), random.Random(11)
    key = keys.generate_private_key("rsa", first)
    assert keys.generate_private_key("rsa", second) is key and first.getstate() == second.getstate()
    assert keys.generate_private_key("rsa", first).private_numbers() != key.private_numbers()


# --- modeled records ----------------------------------------------------------------------------

def test_a_modeled_key_round_trips_through_its_pem() -> None:
    key = modeled.generate_key(random.Random(5))
    assert modeled.parse_key(key.pem()) == key and modeled.is_modeled(key.pem())
    with pytest.raises(CryptoError):
        modeled.parse_key(b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")


@pytest.mark.parametrize(
    "pem, expected",
    [
        pytest.param(modeled_csr(), None, id="valid: an intact modeled CSR"),
        pytest.param(tampered(modeled_csr(), common_name="system:node:other"), "x509: ECDSA verification failure",
                     id="invalid: the CN changed after signing"),
        pytest.param(tampered(modeled_csr(), organizations=("system:masters",)), "x509: ECDSA verification failure",
                     id="invalid: the O changed after signing"),
        pytest.param(modeled_csr().replace(b"MODELED CERTIFICATE REQUEST", b"MODELED CERTIFICATE"),
                     "PEM block type must be CERTIFICATE REQUEST", id="invalid: another modeled block type"),
    ],
)
def test_the_apiserver_validates_modeled_requests(pem: bytes, expected: str | None) -> None:
    assert request_error(base64.b64encode(pem).decode()) == expected


def test_the_approver_reads_a_modeled_request_like_a_real_one(node_key: keys.PrivateKey) -> None:
    real = pki.parse_csr_pem(pki.kubelet_client_csr(node_key, "node-1"))
    symbolic = pki.parse_csr_pem(modeled_csr())
    assert isinstance(symbolic, modeled.ModeledRequest)
    assert csrlib.subject_fields(symbolic) == csrlib.subject_fields(real) == (NODE_CN, (C.NODES_GROUP,))
    usages = list(C.KUBELET_CLIENT_USAGES_ECDSA)
    obj = csrlib.csr_object(request_pem=modeled_csr(), signer_name=C.KUBE_APISERVER_CLIENT_KUBELET_SIGNER,
                            usages=usages)
    obj["spec"]["username"] = "system:bootstrap:abcdef"
    assert [r.name for r in csrlib.recognize(obj, symbolic)] == ["nodeclient"]
    wrong = pki.parse_csr_pem(modeled_csr(organizations=("system:masters",)))
    assert csrlib.kubelet_client_csr_error(wrong, usages) == csrlib.ORGANIZATION_NOT_SYSTEM_NODES


def test_the_signer_applies_one_policy_to_real_and_modeled_requests(
        plane: ControlPlane, node_key: keys.PrivateKey) -> None:
    usages = C.KUBELET_CLIENT_USAGES_ECDSA
    real_rng, modeled_rng = random.Random(2), random.Random(2)
    real = pki.sign_csr(plane.ca, pki.parse_csr_pem(pki.kubelet_client_csr(node_key, "node-1")), usages=usages,
                        now=NOW, rng=real_rng)
    symbolic = pki.sign_csr(plane.ca, pki.parse_csr_pem(modeled_csr()), usages=usages, now=NOW, rng=modeled_rng)
    assert isinstance(symbolic, modeled.ModeledCertificate) and not isinstance(real, modeled.ModeledCertificate)
    assert (symbolic.serial, symbolic.not_before, symbolic.not_after) == (
        real.serial_number, real.not_valid_before_utc, real.not_valid_after_utc)
    assert real_rng.getstate() == modeled_rng.getstate()
    assert symbolic.ext_key_usages == (ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string,)
    assert symbolic.key_usages == ("digital_signature",)


@pytest.mark.parametrize(
    "pem, usages, message",
    [
        pytest.param(tampered(modeled_csr(), common_name="x"), C.KUBELET_CLIENT_USAGES_ECDSA,
                     "unable to verify certificate request signature: x509: ECDSA verification failure",
                     id="invalid: a tampered request"),
        pytest.param(modeled_csr(), ("client auth", "bogus"), 'unrecognized usage values: ["bogus"]',
                     id="invalid: an unknown usage"),
        pytest.param(modeled_csr(), ("encipher only", "client auth"), "failed to sign certificate: encipher_only",
                     id="invalid: encipher only without key agreement"),
    ],
)
def test_the_signer_refuses_modeled_requests_as_real_ones(plane: ControlPlane, pem: bytes, usages: tuple[str, ...],
                                                           message: str) -> None:
    with pytest.raises(SigningError, match=message.replace("[", r"\[").replace("]", r"\]")):
        pki.sign_csr(plane.ca, pki.parse_csr_pem(pem), usages=usages, now=NOW, rng=random.Random(1))


def issued(ca: pki.CertKey, now: Any = NOW, cn: str = NODE_CN) -> bytes:
    cert = pki.sign_csr(ca, pki.parse_csr_pem(modeled_csr(common_name=cn)), usages=C.KUBELET_CLIENT_USAGES_ECDSA,
                        now=now, rng=random.Random(4))
    return pki.cert_pem(cert)


def test_status_validation_and_the_cleaner_accept_modeled_certificates(plane: ControlPlane) -> None:
    pem = issued(plane.ca)
    assert certificate_error(base64.b64encode(pem).decode()) is None
    broken = pem.replace(pem.split(b"\n")[1], b"bm90IGpzb24=")
    assert certificate_error(base64.b64encode(broken).decode()) == "x509: malformed certificate"
    obj = {"status": {"certificate": base64.b64encode(pem).decode(),
                      "conditions": [{"type": "Approved", "status": "True"}]}}
    assert not is_issued_expired(obj, NOW)
    assert is_issued_expired(obj, NOW + timedelta(days=366))


@pytest.mark.parametrize(
    "which, at, expected",
    [
        pytest.param("cluster", NOW, (NODE_CN, (C.NODES_GROUP,)), id="valid: issued by the cluster CA"),
        pytest.param("other", NOW, None, id="invalid: issued by another CA of the same name"),
        pytest.param("cluster", NOW + timedelta(days=400), None, id="invalid: expired"),
        pytest.param("forged", NOW, None, id="invalid: the subject changed after issuing"),
        pytest.param("garbage", NOW, None, id="invalid: not a modeled certificate"),
    ],
)
def test_the_x509_authenticator_checks_modeled_certificates(plane: ControlPlane, other_ca: pki.CertKey, which: str,
                                                            at: Any, expected: tuple[str, tuple[str, ...]] | None,
                                                            ) -> None:
    pem = issued(other_ca if which == "other" else plane.ca)
    if which == "forged":
        cert = modeled.parse_certificate(pem)
        pem = dataclasses.replace(cert, common_name="system:node:other").pem()
    if which == "garbage":
        pem = pem.replace(pem.split(b"\n")[1], b"e30=")
    identity = tlsmodel.client_identity(plane, TlsConfig(ca_pem=plane.ca.cert_pem, client_cert_pem=pem), at)
    if expected is None:
        assert identity.rejected and identity.subject is None
    else:
        assert identity.subject is not None and not identity.rejected
        assert (identity.subject.common_name, identity.subject.organizations) == expected


def test_the_kubelet_loads_its_modeled_identity(plane: ControlPlane) -> None:
    pem = issued(plane.ca)
    key = modeled.generate_key(random.Random(1)).pem()
    files = {C.KUBELET_CONF_PATH: _kubelet_conf(plane), C.KUBELET_CLIENT_CURRENT_PATH: pem + key}
    identity = _drive(load_kubelet_identity(), files)
    assert identity is not None and identity.not_after == modeled.parse_certificate(pem).not_after
    assert identity.tls.client_cert_pem == pem and identity.tls.client_key_pem == key
    files[C.KUBELET_CLIENT_CURRENT_PATH] = pem  # the key is missing
    assert _drive(load_kubelet_identity(), files) is None


def _kubelet_conf(plane: ControlPlane) -> bytes:
    return kubeconfig.kubelet_kubeconfig(f"https://{ENDPOINT}", plane.ca.cert_pem).encode()


def _drive(gen: Any, files: dict[str, bytes]) -> Any:
    value = None
    while True:
        try:
            command = gen.send(value)
        except StopIteration as done:
            return done.value
        assert isinstance(command, cmd.ReadFile)
        value = files.get(command.path)


# --- whole runs ---------------------------------------------------------------------------------

def test_a_harness_join_in_modeled_mode_holds_a_modeled_certificate() -> None:
    rng = random.Random(1)
    plane, token, _ = ControlPlane.bootstrap(now=NOW, rng=rng, endpoint=ENDPOINT, ca_key_type="ecdsa")
    harness = Harness(plane, rng=rng)
    harness.crypto = ModeledCrypto()
    node = harness.join(JoinConfiguration(node_name="node-1", api_server_endpoint=ENDPOINT, token=token.token,
                                          ca_cert_hashes=(pins.certificate_pin(plane.ca.cert),)))
    harness.run()
    assert node.outcome is not None and node.outcome.joined, node.outcome
    stored = node.files[C.KUBELET_CLIENT_CURRENT_PATH]
    assert modeled.is_modeled(stored) and modeled.parse_certificate(stored).common_name == NODE_CN
    assert plane.store.get("nodes", "", "node-1") is not None


def both(config: EngineConfig) -> tuple[SimResult, SimResult]:
    return simulate(config), simulate(dataclasses.replace(config, crypto="modeled"))


def node_view(result: SimResult) -> list[tuple[Any, ...]]:
    return [(n.name, n.finished, n.joined, n.phase, n.error, n.trusted_ca_pin, n.csr_name, n.csr_server, n.started,
             n.ended, n.marks, n.logs) for n in result.nodes]


ISSUE_STORM = EngineConfig(
    seed=5, keep_logs=True, log_requests=True, cluster=ClusterSettings(ca_key_type="ecdsa", token_ttl=40.0),
    network=NetworkSettings(
        default_link=Link(latency=LogNormal(median=0.002, p99=0.04), loss=0.03),
        firewall=(FirewallRule(host="10.0.0.1", port=6443, action="DROP", source_group="late",
                               window=Window(start=0.0, end=20.0)),)),
    groups=(NodeGroup(name="w", count=25, arrival=UniformArrivals(window=60.0),
                      models=NodeModels(kubelet_start_delay=10.0)),
            NodeGroup(name="late", count=5, arrival=PoissonArrivals(rate=1.0)),
            NodeGroup(name="unpinned", count=5, join=JoinSettings(pinned=False)),
            NodeGroup(name="wrongpin", count=3, join=JoinSettings(ca_cert_hashes=("sha256:" + "0" * 64,)))),
)


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(ISSUE_STORM, id="valid: failures of every kind (token expiry, DROP, lossy links, wrong pin)"),
        pytest.param(EngineConfig(groups=(NodeGroup(name="w", count=5),)), id="valid: kubeadm's RSA CA"),
        pytest.param(EngineConfig(cluster=ClusterSettings(profile="1.22", ca_key_type="ecdsa"),
                                  groups=(NodeGroup(name="w", count=5),)), id="valid: the 1.22 profile"),
    ],
)
def test_real_and_modeled_runs_are_identical(config: EngineConfig) -> None:
    real, symbolic = both(config)
    assert node_view(real) == node_view(symbolic)
    assert real.events.dumps() == symbolic.events.dumps()
    assert real.counts == symbolic.counts and real.sim_time == symbolic.sim_time
    assert real.servers[0].series == symbolic.servers[0].series
    assert any(n.joined for n in real.nodes)
    if config is ISSUE_STORM:
        assert any(not n.joined for n in real.nodes)
