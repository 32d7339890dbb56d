"""Pick out of a run's event log the events that tell one node's join, for its sequence diagram.

An event belongs to the story of node ``n`` when ``n`` logged it, or when
one of its attributes names ``n`` (its requests at the API server carry
``from: n``; an attacker's events name their victim), or when it is about
``n``'s CSR (created, approved, issued; the controllers' requests on it).
The csrapproving controller's SubjectAccessReview names no CSR; the one
its worker posted last before approving this CSR is taken as its own (a
worker reviews, then approves, without handing the CSR over). When the node
went through a man in the middle (``via``), the requests the attacker sent
upstream belong to the story too.
"""

from __future__ import annotations

from typing import Iterable

from sim.report.record import Event

__all__ = ["node_story"]

_SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


def _about_csr(attrs: dict[str, str], csr: str) -> bool:
    return bool(csr) and (attrs.get("name") == csr or attrs.get("path", "").rsplit("/", 2)[-1] == csr
                          or f"/{csr}/" in attrs.get("path", ""))


def node_story(events: Iterable[tuple[float, str, str, tuple[tuple[str, str], ...]]], node: str,
               csr_name: str, via: Iterable[str] = ()) -> tuple[Event, ...]:
    """Return the events of ``node``'s join, in log order (module docstring)."""
    story: list[Event] = []
    proxies = set(via)
    last_sar: Event | None = None
    for t, source, event, items in events:
        attrs = dict(items)
        if source == "apiserver" and event == "request" and attrs.get("from") == "csrapproving" \
                and attrs.get("path") == _SAR_PATH:
            last_sar = (t, source, event, attrs)
            continue
        if source == node or node in attrs.values() or _about_csr(attrs, csr_name) or attrs.get("from") in proxies:
            if attrs.get("from") == "csrapproving" and attrs.get("path", "").endswith("/approval") \
                    and last_sar is not None:
                story.append(last_sar)
            story.append((t, source, event, attrs))
    return tuple(sorted(story, key=lambda e: e[0]))  # stable: log order among equal times
