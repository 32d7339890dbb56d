"""Test the REST messages: a driver's copies of a request or response change only the field they name."""

from __future__ import annotations

import dataclasses

from sim.protocol.http import ClientSubject, Request, Response


def test_with_client_keeps_every_other_field() -> None:
    assert [f.name for f in dataclasses.fields(Request)] == ["method", "path", "query", "headers", "body", "client"], \
        "Request.with_client copies these fields"
    request = Request.build("POST", "/api/v1/nodes?timeout=10s", body={"kind": "Node"}, bearer="abcdef.0123456789abcdef")
    subject = ClientSubject(common_name="system:node:n1", organizations=("system:nodes",))
    assert request.with_client(subject) == dataclasses.replace(request, client=subject)


def test_served_by_keeps_every_other_field() -> None:
    assert [f.name for f in dataclasses.fields(Response)] == ["status", "body", "headers", "text", "server"], \
        "Response.served_by copies these fields"
    response = Response(status=201, body={"kind": "Node"}, headers={"Content-Type": "application/json"}, text="t")
    assert response.served_by("cp-1") == dataclasses.replace(response, server="cp-1")
