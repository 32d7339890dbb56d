"""Check the CPU cost table: the packaged default, calibrate's format, operation names and validation."""

from __future__ import annotations

import json
import math
import pathlib
import re
from typing import Any

import pytest

from sim import calibrate
from sim.engine.costs import CRYPTO_KEYS, OPERATIONS, CostTable, load_costs
from sim.protocol.commands import ChargeCpu, CreateCSR, GenerateKey, IssueCertificate, Sleep

MEASURED = {"csr_build": 94.0, "csr_verify": 107.0, "jws_sign": 6.0, "jws_verify": 7.7, "keygen_ecdsa_p256": 12.1,
            "keygen_rsa2048": 120477.0, "pin": 7.2, "sign_ecdsa_ca": 207.4, "sign_rsa2048_ca": 427.9}
PROTOCOL = pathlib.Path(__file__).resolve().parent.parent / "sim" / "protocol"


def test_packaged_default_loads() -> None:
    table = load_costs()
    assert dict(table.crypto) == MEASURED
    assert table.source == "packaged default"
    assert table.requests["default"] > 0


@pytest.mark.parametrize(
    ("operation", "micros"),
    [
        pytest.param("jws-verify", 7.7, id="valid: ChargeCpu jws-verify"),
        pytest.param("pin", 7.2, id="valid: ChargeCpu pin"),
        pytest.param("jws-sign", 6.0, id="valid: bootstrapsigner jws-sign"),
        pytest.param("generate-key:ecdsa", 12.1, id="valid: GenerateKey ecdsa"),
        pytest.param("create-csr", 94.0, id="valid: CreateCSR"),
        pytest.param("csr-verify", 107.0, id="valid: CSR signature check"),
        pytest.param("sign-csr:rsa", 427.9, id="valid: signing with an RSA CA"),
        pytest.param("sign-csr:ecdsa", 207.4, id="valid: signing with an ECDSA CA"),
        pytest.param("keygen_ecdsa_p256", 12.1, id="valid: a table key"),
        pytest.param("generate-key:rsa", 120477.0, id="valid: RSA key generation for control-plane joins"),
    ],
)
def test_seconds(operation: str, micros: float) -> None:
    assert load_costs().seconds(operation) == pytest.approx(micros / 1e6)


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param("generate-key:dsa", id="invalid: a key type kubeadm never makes"),
        pytest.param("JWS-VERIFY", id="invalid: case matters"),
        pytest.param("", id="invalid: empty"),
    ],
)
def test_seconds_unknown_operation(operation: str) -> None:
    with pytest.raises(ValueError, match=f"no CPU cost for operation {operation!r}"):
        load_costs().seconds(operation)


def test_every_charged_operation_in_the_workflows_has_a_cost() -> None:
    used = {m for path in PROTOCOL.glob("*.py")
            for m in re.findall(r'ChargeCpu\(operation="([^"]+)"\)', path.read_text())}
    assert used >= {"jws-verify", "pin"}
    assert used <= set(OPERATIONS)


@pytest.mark.parametrize(
    ("command", "micros"),
    [
        pytest.param(ChargeCpu(operation="pin"), 7.2, id="valid: ChargeCpu"),
        pytest.param(GenerateKey(), 12.1, id="valid: GenerateKey defaults to ecdsa"),
        pytest.param(CreateCSR(key=None, common_name="system:node:n1"), 94.0, id="valid: CreateCSR"),
        pytest.param(IssueCertificate(ca_cert_pem=b"", ca_key_pem=b"", common_name="kube-apiserver"),
                     120477.0 + 427.9, id="valid: IssueCertificate is an RSA key and a signature"),
        pytest.param(Sleep(seconds=5.0), 0.0, id="valid: other commands cost nothing"),
    ],
)
def test_command_seconds(command: Any, micros: float) -> None:
    assert load_costs().command_seconds(command) == pytest.approx(micros / 1e6)


@pytest.mark.parametrize(
    ("verb", "resource", "subresource", "micros"),
    [
        pytest.param("get", "configmaps", "", 250.0, id="valid: listed request"),
        pytest.param("update", "certificatesigningrequests", "approval", 600.0, id="valid: subresource"),
        pytest.param("create", "certificatesigningrequests", "", 800.0, id="valid: CSR creation"),
        pytest.param("get", "pods", "", 300.0, id="valid: unlisted request uses default"),
    ],
)
def test_request_seconds(verb: str, resource: str, subresource: str, micros: float) -> None:
    assert load_costs().request_seconds(verb, resource, subresource) == pytest.approx(micros / 1e6)


def test_reads_what_calibrate_writes(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "costs.json"
    calibrate.main(str(path), repeat=3)
    table = load_costs(path)
    assert set(table.crypto) == CRYPTO_KEYS
    assert dict(table.requests) == dict(load_costs().requests)  # calibrate measures no requests
    assert table.source == str(path)


def test_request_costs_override_the_model(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "costs.json"
    path.write_text(json.dumps({"costs": MEASURED, "requests": {"get configmaps": 50}}))
    table = load_costs(path)
    assert table.requests["get configmaps"] == 50.0
    assert table.requests["default"] == load_costs().requests["default"]


def test_table_is_immutable() -> None:
    table = load_costs()
    with pytest.raises(TypeError):
        table.crypto["pin"] = 1.0  # type: ignore[index]
    with pytest.raises(AttributeError):
        table.source = "x"  # type: ignore[misc]
    assert isinstance(table, CostTable)


def _with(**changes: Any) -> Any:
    data: dict[str, Any] = {"unit": "microseconds (median)", "costs": dict(MEASURED)}
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{", "not valid JSON", id="invalid: not JSON"),
        pytest.param(json.dumps([1, 2]), "want a JSON object with 'costs'", id="invalid: not an object"),
        pytest.param(json.dumps(_with(costs=None)), "missing 'costs'", id="invalid: no costs"),
        pytest.param(json.dumps(_with(unit="milliseconds")), "unit must be 'microseconds (median)'",
                     id="invalid: unit"),
        pytest.param(json.dumps(_with(costs={k: v for k, v in MEASURED.items() if k != "pin"})),
                     "costs is missing pin", id="invalid: missing key"),
        pytest.param(json.dumps(_with(costs={**MEASURED, "keygen_rsa": 1.0})), "costs has unknown keygen_rsa",
                     id="invalid: unknown key"),
        pytest.param(json.dumps(_with(costs={**MEASURED, "pin": -1})), "costs['pin'] must be a positive number",
                     id="invalid: negative cost"),
        pytest.param(json.dumps(_with(costs={**MEASURED, "pin": 0})), "costs['pin'] must be a positive number",
                     id="invalid: zero cost"),
        pytest.param(json.dumps(_with(costs={**MEASURED, "pin": True})), "costs['pin'] must be a positive number",
                     id="invalid: boolean cost"),
        pytest.param(json.dumps(_with(costs={**MEASURED, "pin": "7"})), "costs['pin'] must be a positive number",
                     id="invalid: string cost"),
        pytest.param(json.dumps(_with(costs={**MEASURED, "pin": math.nan})), "costs['pin'] must be a positive",
                     id="invalid: NaN cost"),
        pytest.param(json.dumps(_with(costs=[1])), "costs must be a JSON object", id="invalid: costs not an object"),
        pytest.param(json.dumps(_with(requests={"get nodes": -5})), "requests['get nodes'] must be a positive",
                     id="invalid: negative request cost"),
        pytest.param(json.dumps(_with(requests="fast")), "requests must be a JSON object",
                     id="invalid: requests not an object"),
    ],
)
def test_invalid_tables(tmp_path: pathlib.Path, content: str, message: str) -> None:
    path = tmp_path / "costs.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        load_costs(path)
    assert str(err.value).startswith(f"cost table {path}: ")


def test_missing_file(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="cannot read it: No such file or directory"):
        load_costs(tmp_path / "absent.json")
