"""Record who sent which API call, with which credential, during in-process joins, to explain them.

How this works: ``TracingHarness`` is the in-process driver (``sim.harness``)
with three listening posts, so that a notebook can show a join as a
conversation instead of a list of paths:

* every API call a node program makes (kubeadm or the kubelet) becomes a
  ``Call`` naming the program, the credential it presented (anonymous, a
  bootstrap token, a client certificate), whether it verified the server's
  certificate, and the status it got back, or the transport error;
* every call a controller makes (bootstrapsigner, csrapproving, csrsigning,
  tokencleaner...) becomes a ``Call`` from that controller: each controller
  is wrapped before the harness starts its work queues;
* every local step a node program takes (a milestone, a file written or
  removed, a key generated, a CSR built, the kubelet started) becomes a
  ``Step``.

Nothing about the run changes: the same seed gives the same keys, requests
and outcome as the plain harness. ``send`` lets a notebook act as a third
party (an administrator, an attacker) through the same modelled TLS layer.
"""

from __future__ import annotations

import dataclasses
import random
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Union

from cryptography import x509
from cryptography.x509.oid import NameOID

from sim import tlsmodel
from sim.control.controllers.base import Controller, Reconcile
from sim.control.plane import ControlPlane
from sim.control.store import WatchEvent
from sim.harness import DEFAULT_START, Harness
from sim.machine import Machine
from sim.protocol import commands as cmd
from sim.protocol import modeled, pki
from sim.protocol.http import Request, Response

__all__ = ["Call", "Event", "Step", "TracingHarness", "credential_of", "short_path"]

_BEARER_TOKEN = re.compile(r"\ABearer ([a-z0-9]{6})\.[a-z0-9]{16}\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """Describe one API call: who sent it, how it authenticated, and what came back.

    ``status`` is None when no HTTP response arrived (``error`` then holds
    Go's transport error) and for a watch, which stays open.
    """

    t: float
    sender: str
    """``kubeadm`` or ``kubelet`` for node programs, a controller's name, or whoever ``send`` names."""
    node: str
    """The node the program runs on; empty for controllers and outsiders."""
    method: str
    path: str
    purpose: str
    credential: str
    tls_verified: bool
    status: int | None
    error: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """Describe one thing a node program did on its own machine (``kind``: mark, write, remove, crypto, kubelet)."""

    t: float
    sender: str
    node: str
    kind: str
    text: str


Event = Union[Call, Step]


def short_path(path: str) -> str:
    """Shorten an API path for a diagram label: ``kube-public/configmaps/cluster-info``.

    The ``/api/v1`` or ``/apis/<group>/<version>`` prefix and the
    ``namespaces/`` segment add nothing a reader needs to follow a join.
    """
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"]:
        parts = parts[2:]
    elif parts[:1] == ["apis"]:
        parts = parts[3:]
    if parts[:1] == ["namespaces"] and len(parts) > 2:
        parts = parts[1:]
    return "/".join(parts) or path


def credential_of(request: Request, tls: cmd.TlsConfig) -> str:
    """Say which credential a request presents: ``anonymous``, ``token <id>`` or ``cert <CN>``.

    This is what the client offers, not what the server accepts: a token
    that has expired still reads ``token <id>`` (and gets a 401), and a
    certificate's CN is read without checking who signed it.
    """
    header = request.header("Authorization")
    if header:
        match = _BEARER_TOKEN.match(header)
        return f"token {match.group(1)}" if match else "token (malformed)"
    if tls.client_cert_pem:
        return f"cert {_common_name(tls.client_cert_pem)}"
    return "anonymous"


def _common_name(cert_pem: bytes) -> str:
    """Return the CN of a client certificate, X.509 or the ``modeled`` crypto mode's record, unverified.

    A harness running the modeled backend (``harness.crypto``) presents
    modeled certificates, which no X.509 parser reads. Told apart as
    ``sim.tlsmodel.certificate_identity`` does (``modeled.is_modeled``), but
    without its signature check, which a trace of what was offered must not
    need.
    """
    try:
        if modeled.is_modeled(cert_pem):
            name = modeled.parse_certificate(cert_pem).common_name
            return name or "(no CN)"
        names = x509.load_pem_x509_certificate(cert_pem).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return "(unreadable)"
    return str(names[0].value) if names else "(no CN)"


class _TracedController:
    """Forward to a controller and report every API call its reconcile makes."""

    def __init__(self, inner: Controller, report: Callable[[str, Request, Response], None]) -> None:
        self._inner = inner
        self._report = report
        self.name: str = inner.name
        self.workers: int = inner.workers
        self.resync_period: float | None = inner.resync_period

    def keys_for(self, event: WatchEvent) -> list[str]:
        """Return the keys the wrapped controller enqueues for a change."""
        return self._inner.keys_for(event)

    def initial_keys(self) -> list[str]:
        """Return the wrapped controller's start-up keys."""
        return self._inner.initial_keys()

    def reconcile(self, key: str, now: datetime) -> Reconcile:
        """Run the wrapped reconcile, reporting each request with the response it got."""
        steps = self._inner.reconcile(key, now)
        try:
            request = next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        while True:
            response = yield request
            self._report(self._inner.name, request, response)
            try:
                request = steps.send(response)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]


def _crypto_text(command: cmd.Command) -> str:
    """Describe a crypto command in a few words."""
    if isinstance(command, cmd.GenerateKey):
        return f"generate {command.key_type} private key"
    if isinstance(command, cmd.CreateCSR):
        orgs = "".join(f", O={o}" for o in command.organizations)
        return f"build CSR CN={command.common_name}{orgs}"
    if isinstance(command, cmd.IssueCertificate):
        return f"issue certificate CN={command.common_name} with the downloaded CA"
    return type(command).__name__


class TracingHarness(Harness):
    """Run joins like ``Harness`` and keep ``events``: every API call and local step, in order."""

    def __init__(self, plane: ControlPlane, *, rng: random.Random, start: datetime = DEFAULT_START,
                 **options: Any) -> None:
        self.events: list[Event] = []
        self._speaker: tuple[str, str] | None = None
        self._purpose = ""
        traced: list[Controller] = [_TracedController(c, self._controller_call) for c in plane.controllers]
        super().__init__(plane.replace(controllers=traced), rng=rng, start=start, **options)

    # --- what the notebooks use -------------------------------------------------------------

    def calls(self, *, since: float = 0.0, senders: Iterable[str] | None = None) -> list[Call]:
        """Return the recorded calls from ``since`` on, optionally only from some senders."""
        wanted = set(senders) if senders is not None else None
        return [e for e in self.events if isinstance(e, Call) and e.t >= since
                and (wanted is None or e.sender in wanted)]

    def send(self, sender: str, method: str, path: str, *, token: str | None = None,
             client: pki.CertKey | None = None, body: Any = None, verify: bool = True) -> Response:
        """Send one request as an outsider (an admin, an attacker), through the modelled TLS layer.

        ``token`` is presented as a bearer token, ``client`` as a client
        certificate; ``verify`` checks the server against the cluster CA.
        Controllers then react, as they would to any request. A failed TLS
        handshake raises ``ConnectionError`` with Go's text.
        """
        tls = cmd.TlsConfig(insecure=not verify, ca_pem=self.plane.ca.cert_pem,
                            client_cert_pem=client.cert_pem if client else None,
                            client_key_pem=client.key_pem if client else None)
        request = Request.build(method, path, body=body, bearer=token)
        served = self._serve(request, tls)
        self._record(sender, "", request, tls, served, purpose="")
        self._pump()
        if isinstance(served, cmd.TransportFailure):
            raise ConnectionError(served.message)
        return served

    # --- listening posts --------------------------------------------------------------------

    def _execute(self, proc: Any, c: cmd.Command) -> tuple[bool, Any]:
        """Note which program speaks, then carry out its command as the plain harness does."""
        self._speaker = (proc.kind, proc.node.name)
        self._purpose = c.purpose if isinstance(c, cmd.HttpRequest) else ""
        self._note(proc.kind, proc.node, c)
        try:
            return super()._execute(proc, c)
        finally:
            self._speaker = None

    def _http(self, node: Machine, endpoint: str, request: Request, tls: cmd.TlsConfig,
              record: bool = True) -> Response | cmd.TransportFailure:
        """Serve a request as the plain harness does, recording it if a node program sent it."""
        result = super()._http(node, endpoint, request, tls, record)
        if record and self._speaker is not None:
            self._record(self._speaker[0], self._speaker[1], request, tls, result, purpose=self._purpose)
        return result

    def _serve(self, request: Request, tls: cmd.TlsConfig) -> Response | cmd.TransportFailure:
        """Serve an outsider's request with the harness's TLS checks (server, then client certificate)."""
        failure = tlsmodel.server_failure(self.plane, tls, self.plane.endpoint, self.now)
        if failure is not None:
            return failure
        identity = tlsmodel.client_identity(self.plane, tls, self.now)
        if identity.rejected:
            return tlsmodel.unauthorized(self.plane.name)
        return self.plane.handle(dataclasses.replace(request, client=identity.subject), self.now)

    def _record(self, sender: str, node: str, request: Request, tls: cmd.TlsConfig,
                result: Response | cmd.TransportFailure, *, purpose: str) -> None:
        status = result.status if isinstance(result, Response) else None
        error = result.message if isinstance(result, cmd.TransportFailure) else ""
        self.events.append(Call(t=self.t, sender=sender, node=node, method=request.method, path=request.path,
                                purpose=purpose, credential=credential_of(request, tls),
                                tls_verified=not tls.insecure, status=status, error=error))

    def _controller_call(self, name: str, request: Request, response: Response) -> None:
        self.events.append(Call(t=self.t, sender=name, node="", method=request.method, path=request.path,
                                purpose="", credential="cert system:kube-controller-manager", tls_verified=True,
                                status=response.status))

    def _note(self, kind: str, node: Machine, c: cmd.Command) -> None:
        """Record the local steps worth showing; reads, clocks and logs are left out."""
        text = ""
        step = ""
        if isinstance(c, cmd.Mark):
            step, text = "mark", c.milestone + "".join(f" {k}={v}" for k, v in sorted(c.attrs.items()))
        elif isinstance(c, cmd.WriteFile):
            step, text = "write", f"write {c.path}"
        elif isinstance(c, cmd.RemoveFile):
            step, text = "remove", f"remove {c.path}"
        elif isinstance(c, (cmd.GenerateKey, cmd.CreateCSR, cmd.IssueCertificate)):
            step, text = "crypto", _crypto_text(c)
        elif isinstance(c, cmd.StartKubelet):
            step, text = "kubelet", "start the kubelet"
        elif isinstance(c, cmd.StopKubelet):
            step, text = "kubelet", "stop the kubelet"
        elif isinstance(c, cmd.WatchObject):
            self.events.append(Call(t=self.t, sender=kind, node=node.name, method="WATCH", path=c.request.path,
                                    purpose="watch", credential=credential_of(c.request, c.tls),
                                    tls_verified=not c.tls.insecure, status=None))
            return
        if step:
            self.events.append(Step(t=self.t, sender=kind, node=node.name, kind=step, text=text))
