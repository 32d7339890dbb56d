"""Turn a simulation run's event log into the calls and steps ``draw_sequence`` draws.

How this works: the engine (``sim.engine``, with ``EngineConfig.log_requests``)
logs every request the API server answered as an ``apiserver`` ``request``
event naming its sender (``from``: a node, an attacker, a controller), and
every milestone a node or attacker reached as an event of its own. This
module keeps the events of the sources a reader asks for and turns them
into the ``Call`` and ``Step`` records of ``sim.teach.trace``: a request
becomes a ``Call`` from its sender to the API server (a 429 rejection
too), anything else a source logged becomes a ``Step`` on its lane. The
engine does not log which credential a request carried, so ``credential``
stays empty; whose request reached the API server at all is what an
engine trace shows (a node behind a man in the middle sends none).
"""

from __future__ import annotations

from typing import Collection, Iterable, Mapping, Sequence, Union

from sim.teach.trace import Call, Event, Step

__all__ = ["EngineEvent", "trace_of"]

EngineEvent = tuple[float, str, str, Union[Sequence[tuple[str, str]], Mapping[str, str]]]
"""(time, source, event, attributes), as ``sim.engine.EventLog`` yields it."""

_QUIET = frozenset({"join-started", "discovery-attempt"})
"""Events left out by default: every join starts with one, and retries repeat them."""


def _step_text(event: str, attrs: Mapping[str, str]) -> str:
    if event == "phase":
        return f"[{attrs.get('name', '')}] phase"
    if event == "join-finished":
        error = attrs.get("error", "")
        return "kubeadm join succeeded" if not error else "kubeadm join failed"
    shown = ", ".join(f"{k}={v}" for k, v in sorted(attrs.items()) if k != "error")
    return f"{event} ({shown})" if shown else event


def trace_of(events: Iterable[EngineEvent], sources: Collection[str], *,
             skip: Collection[str] = _QUIET) -> list[Event]:
    """Return the ``Call``s sent by ``sources`` and the ``Step``s they logged, in log order.

    ``skip`` names events to leave out (by default ``join-started`` and the
    repeated ``discovery-attempt``).
    """
    out: list[Event] = []
    for t, source, event, raw in events:
        attrs = dict(raw)
        sender = attrs.get("from", "")
        if source == "apiserver" and event in ("request", "rejected"):
            if sender not in sources:
                continue
            status_text = attrs.get("status", "429" if event == "rejected" else "")
            status = int(status_text) if status_text.isdigit() else None
            out.append(Call(t=t, sender=sender, node="", method=attrs.get("method", ""), path=attrs.get("path", ""),
                            purpose="", credential="", tls_verified=True, status=status,
                            error="" if status is not None else status_text))
        elif source in sources and event not in skip:
            out.append(Step(t=t, sender=source, node="", kind="mark", text=_step_text(event, attrs)))
    return out
