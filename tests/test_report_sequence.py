"""Check the sequence diagram's rows: lanes, colours, refused connections from kubeadm's lines, merged retries."""

from __future__ import annotations

from sim.report.sequence import CONTROLLERS, NETWORK, NODE, SERVER, rows_of, sequence_diagram
from tests.report_support import sample


def test_a_refused_connection_ends_in_the_network_lane_and_retries_merge() -> None:
    rows = rows_of(sample("ok-1"))
    lost = [r for r in rows if r.lost]
    assert len(lost) == 1 and (lost[0].src, lost[0].dst, lost[0].count) == (NODE, NETWORK, 2)
    assert lost[0].text == ("Get kube-public/configmaps/cluster-info: dial tcp 10.0.0.1:6443: connect: "
                            "connection refused")
    assert (lost[0].t, lost[0].until) == (0.0005, 5.0005)


def test_requests_go_to_the_api_server_and_controllers_work_on_the_csr() -> None:
    rows = rows_of(sample("ok-1"))
    to_server = [r.text for r in rows if r.dst == SERVER and r.src == NODE]
    assert to_server[0] == "GET kube-public/configmaps/cluster-info → 200"
    assert "POST certificatesigningrequests → 201" in to_server
    controllers = [r.text for r in rows if r.src == CONTROLLERS]
    assert controllers[0] == "csrapproving: POST subjectaccessreviews → 201"
    assert controllers[1].startswith("csrapproving: PUT certificatesigningrequests/csr-")
    assert controllers[1].endswith("/approval → 200")
    assert [r.t for r in rows] == sorted(r.t for r in rows)
    assert rows[-1].text == "kubeadm join succeeded"


def test_a_failed_join_ends_with_kubeadms_error() -> None:
    rows = rows_of(sample("bad-1"))
    assert rows[-1].text.startswith("kubeadm join failed:\nerror execution phase preflight: couldn't validate")
    assert not any(r.src == CONTROLLERS for r in rows)


def test_the_diagram_draws() -> None:
    fig = sequence_diagram(sample("ok-1"))
    assert fig.axes[0].get_title(loc="left") == "sample: the join of ok-1"
