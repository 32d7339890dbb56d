"""Describe a bootstrap token as a scenario writes it, for ``cluster.tokens`` and the admin's ``create_token``.

Fields and defaults are ``kubeadm token create``'s: a 24 h TTL, the usages
``signing`` and ``authentication``, and the group
``system:bootstrappers:kubeadm:default-node-token``. A token without the
``authentication`` usage can carry no groups (kubeadm refuses them), so the
groups default to none there. ``expires`` is an absolute expiry in seconds
from the run's start (negative: already expired when the run starts) and
wins over ``ttl``. The token is checked by the engine's ``TokenSpec``, with
kubeadm's own messages.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sim.engine import TokenSpec
from sim.protocol import constants as C
from sim.scenario.kinds import Duration, Text
from sim.scenario.records import ListOf, Maybe, option

__all__ = ["TokenEntry"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenEntry:
    """Describe one bootstrap token (module docstring)."""

    token: str = option(Text(), "the token, <6 of [a-z0-9]>.<16 of [a-z0-9]>")
    ttl: float | None = option(Duration(minimum=1e-9, never=None), "lifetime from its creation (never: no expiry)",
                               float(C.DEFAULT_TOKEN_TTL))
    expires: float | None = option(Maybe(Duration(negative=True)), "absolute expiry from the run's start "
                                   "(negative: already expired); wins over ttl", None)
    usages: tuple[str, ...] = option(ListOf(Text()), "signing, authentication", C.DEFAULT_TOKEN_USAGES)
    groups: tuple[str, ...] | None = option(ListOf(Text()), "extra groups (default: kubeadm's default-node-token "
                                            "group, or none without the authentication usage)", None)
    description: str = option(Text(empty=True), "the token's description", "")

    def resolved(self) -> TokenEntry:
        """Fill the groups' default, which depends on the usages."""
        if self.groups is not None:
            return self
        groups = C.DEFAULT_TOKEN_GROUPS if "authentication" in self.usages else ()
        return dataclasses.replace(self, groups=groups)

    def build(self) -> TokenSpec:
        """Return the engine's token (raises ValueError with kubeadm's message if kubeadm would refuse it)."""
        return TokenSpec(token=self.token, ttl=self.ttl, expires=self.expires, usages=self.usages,
                         groups=self.groups or (), description=self.description)
