"""Provide the pytest fixtures several test modules share; plain helpers live in tests/*_support.py."""

from __future__ import annotations

import pytest

from sim.control.store import Store
from sim.protocol import keys, pki
from tests.controller_support import new_store
from tests.pki_support import make_cas, make_node_key


@pytest.fixture
def store() -> Store:
    """Return an empty store with fixed UID seeding (controller and kubeadm tests)."""
    return new_store()


@pytest.fixture(scope="module")
def cas() -> dict[str, pki.CertKey]:
    """Return an RSA and an ECDSA CA, once per test module (PKI and x509 tests)."""
    return make_cas()


@pytest.fixture(scope="module")
def node_key() -> keys.PrivateKey:
    """Return a node's ECDSA key, once per test module."""
    return make_node_key()
