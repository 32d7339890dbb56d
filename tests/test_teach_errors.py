"""Check that kubeadm's error chains are peeled into their wrappers and a named root cause."""

from __future__ import annotations

import pytest

from sim.teach.errors import read_error

URL = "https://10.0.0.1:6443/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s"
DISCOVERY = "error execution phase preflight: couldn't validate the identity of the API Server: "


@pytest.mark.parametrize(
    "text, layers, cause, meaning",
    [
        pytest.param(DISCOVERY + f'failed to request the cluster-info ConfigMap: Get "{URL}": dial tcp 10.0.0.1:6443: '
                     "connect: connection refused", 4, "dial tcp 10.0.0.1:6443: connect: connection refused",
                     "TCP reset", id="valid: REJECT keeps the dial error whole"),
        pytest.param(DISCOVERY + f'failed to request the cluster-info ConfigMap: Get "{URL}": net/http: request '
                     "canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)", 4,
                     "net/http: request canceled while waiting for connection (Client.Timeout exceeded while "
                     "awaiting headers)", "silently dropped", id="valid: DROP"),
        pytest.param(DISCOVERY + 'cluster CA found in cluster-info ConfigMap is invalid: none of the public keys '
                     '"sha256:ab" are pinned', 2, 'cluster CA found in cluster-info ConfigMap is invalid: none of the '
                     'public keys "sha256:ab" are pinned', "you were offered", id="valid: pin mismatch"),
        pytest.param("error execution phase kubelet-start: context deadline exceeded", 1, "context deadline exceeded",
                     "kubelet's log", id="valid: kubeadm's own wait ran out"),
        pytest.param("kubernetes.io/kube-apiserver-client-kubelet: Failed while requesting a signed certificate from "
                     'the control plane: cannot create certificate signing request: Post "https://10.0.0.1:6443/apis/'
                     'certificates.k8s.io/v1/certificatesigningrequests?timeout=10s": context deadline exceeded '
                     "(Client.Timeout exceeded while awaiting headers)", 3,
                     "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                     "broke after connecting", id="valid: the kubelet's CSR post timed out"),
        pytest.param("something new", 0, "something new", "not one of the causes", id="valid: unknown cause"),
    ],
)
def test_read_error(text: str, layers: int, cause: str, meaning: str) -> None:
    reading = read_error(text)
    assert len(reading.layers) == layers and reading.cause == cause and meaning in reading.meaning
    printed = reading.lines()
    assert len(printed) == layers + 2 and printed[-2].strip() == cause


def test_the_request_layer_keeps_method_and_url() -> None:
    reading = read_error(f'Get "{URL}": EOF')
    assert reading.layers[0].text == f'Get "{URL}"' and reading.cause == "EOF"
