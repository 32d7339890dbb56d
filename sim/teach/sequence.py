"""Draw a traced join as a sequence diagram, so a reader sees who talks to the API server and when.

How this works: each lane is one sender (kubeadm and the kubelet on each
node, the API server, each controller, any outsider) drawn as a vertical
lifeline; each recorded event is one row, top to bottom in the order it
happened. A ``Call`` is an arrow between its sender and the API server,
labelled with the method, a shortened path, the credential and the status
(green for 2xx, red for errors, grey for an open watch). A ``Step`` is a
small note on its sender's lifeline. The left margin shows the virtual time
whenever it moves. Rows are events, not seconds: a join is mostly instants
separated by waits, which a time axis would squash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from sim.teach.trace import Call, Event, short_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["API_SERVER", "call_label", "draw_sequence", "lane_of", "lanes_for"]

API_SERVER = "kube-apiserver"
_OK, _ERROR, _OPEN, _NOTE = "#2e7d32", "#c62828", "#757575", "#fff8e1"


def lane_of(event: Event) -> str:
    """Return the lane an event belongs to: ``kubeadm@node-1`` on a node, else the sender's name."""
    return f"{event.sender}@{event.node}" if event.node else event.sender


def lanes_for(events: Sequence[Event]) -> list[str]:
    """Order lanes as a reader expects: node programs, then the API server, then everyone else.

    Within each group lanes keep the order in which they first appear.
    """
    nodes: list[str] = []
    others: list[str] = []
    for event in events:
        lane = lane_of(event)
        group = nodes if event.node else others
        if lane not in group:
            group.append(lane)
    return [*nodes, API_SERVER, *others]


def call_label(call: Call) -> str:
    """Return an arrow's label: ``GET kube-public/configmaps/cluster-info → 200`` and its credential, if known."""
    if call.status is not None:
        result = str(call.status)
    elif call.error:
        result = call.error if len(call.error) <= 48 else call.error[:45] + "..."
    else:
        result = "(open)"
    tls = "" if call.tls_verified else ", TLS not verified"
    second = f"{call.credential}{tls}".removeprefix(", ")
    head = f"{call.method} {short_path(call.path)}".strip()
    return f"{head} → {result}" + (f"\n{second}" if second else "")


def _colour(call: Call) -> str:
    if call.status is None:
        return _ERROR if call.error else _OPEN
    return _OK if call.status < 400 else _ERROR


def draw_sequence(events: Sequence[Event], *, title: str = "", lanes: Sequence[str] | None = None,
                  max_rows: int = 80, width: float = 13.0) -> Figure:
    """Return a matplotlib Figure of the events as a sequence diagram (see the module docstring).

    ``lanes`` fixes the lane order (events of other lanes are left out);
    at most ``max_rows`` events are drawn, the rest summarised in a last row.
    """
    from matplotlib.figure import Figure

    order = list(lanes) if lanes is not None else lanes_for(events)
    shown = [e for e in events if lane_of(e) in order]
    hidden = max(0, len(shown) - max_rows)
    shown = shown[:max_rows]
    x = {lane: i for i, lane in enumerate(order)}
    rows = len(shown) + (1 if hidden else 0)
    fig = Figure(figsize=(width, 1.4 + 0.42 * max(rows, 1)), layout="constrained")
    ax = fig.add_subplot()
    top, bottom = -0.8, rows + 0.2
    ax.set_xlim(-1.1, len(order) - 0.4)
    ax.set_ylim(bottom, top - 0.4)
    ax.axis("off")
    if title:
        ax.set_title(title, loc="left", fontsize=11)
    for lane, i in x.items():
        ax.plot([i, i], [top + 0.3, bottom], color="#9e9e9e", linewidth=1, zorder=0)
        ax.text(i, top, lane.replace("@", "\n"), ha="center", va="center", fontsize=8.5, fontweight="bold",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "#e3f2fd", "edgecolor": "#90caf9"})
    last_t: float | None = None
    server = x.get(API_SERVER, 0)
    for row, event in enumerate(shown, start=1):
        if event.t != last_t:
            ax.text(-1.05, row, f"t={event.t:.3f}s", ha="left", va="center", fontsize=7.5, color="#616161")
            last_t = event.t
        sender = x[lane_of(event)]
        if isinstance(event, Call):
            colour = _colour(event)
            ax.annotate("", xy=(server, row), xytext=(sender, row),
                        arrowprops={"arrowstyle": "-|>", "color": colour, "linewidth": 1.2,
                                    "linestyle": "--" if event.status is None and not event.error else "-"})
            ax.text((sender + server) / 2, row - 0.08, call_label(event), ha="center", va="bottom", fontsize=7,
                    color=colour, linespacing=1.1,
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        else:
            ax.text(sender + 0.06, row, event.text, ha="left", va="center", fontsize=7, color="#4e342e",
                    bbox={"boxstyle": "square,pad=0.2", "facecolor": _NOTE, "edgecolor": "#ffe082"})
    if hidden:
        ax.text(server, rows, f"... {hidden} more events not drawn", ha="center", va="center", fontsize=8,
                style="italic")
    return fig
