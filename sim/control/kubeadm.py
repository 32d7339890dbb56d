"""Gather the control-plane side of kubeadm: ``init``, ``token`` and ``upload-certs``.

These commands act directly on the store, as kubeadm with admin.conf would
through the API: the REST semantics are the same, the client round-trips are
skipped. The implementation is split by command: ``kubeadm_init`` (with
``kubeadm_config`` and ``kubeadm_rbac``), ``kubeadm_token`` and ``kubeadm_certs``.
"""

from __future__ import annotations

from sim.control.kubeadm_certs import upload_certs
from sim.control.kubeadm_init import ClusterSecrets, admin_groups, init, init_done_lines
from sim.control.kubeadm_token import (
    create_token, delete_token, delete_tokens, generate_token, join_command, join_command_raw, list_tokens,
    validate_token_flags,
)

__all__ = [
    "ClusterSecrets", "admin_groups", "create_token", "delete_token", "delete_tokens", "generate_token", "init",
    "init_done_lines", "join_command", "join_command_raw", "list_tokens", "upload_certs", "validate_token_flags",
]
