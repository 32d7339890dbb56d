"""Discover the cluster from a kubeconfig file or an HTTPS URL (no token, no pinning).

How this works (``cmd/kubeadm/app/discovery/file/file.go``, ``https/https.go``):
the user supplies the trust. A file is read from the node; an ``https://`` URL
is fetched with the host's trust store. kubeadm then reads cluster-info with
the file's own TLS settings, only to refresh it: Forbidden is fine (the TLS
certificate was valid), a missing CA is copied in, a different server URL is
only a warning. The file is what the node trusts.
"""

from __future__ import annotations

from typing import Any, Generator
from urllib.parse import urlsplit

from sim.protocol import constants as C
from sim.protocol import kubeconfig
from sim.protocol.commands import Command, HttpRequest, Log, ReadFile, TlsConfig, TransportFailure
from sim.protocol.discovery import CLUSTER_INFO_TARGET, Discovered, go_url_error, response_error
from sim.protocol.errors import DISCOVERY_WRAP, DiscoveryError, wrap
from sim.protocol.hostport import server_authority, server_endpoint
from sim.protocol.http import Request, Response
from sim.protocol.poll import go_duration, poll_until_timeout


def discover_from_file(location: str, timeout: float) -> Generator[Command, Any, Discovered]:
    """Run file or HTTPS discovery; wrap failures as ``discovery.For`` does."""
    try:
        return (yield from _discover(location, timeout))
    except (DiscoveryError, ValueError) as err:
        raise DiscoveryError(wrap(DISCOVERY_WRAP, err)) from None


def _discover(location: str, timeout: float) -> Generator[Command, Any, Discovered]:
    parts = urlsplit(location)
    if parts.scheme == "https":
        text, served_by = yield from _fetch_https(location)
    else:
        path = parts.path if parts.scheme == "file" else location
        raw = yield ReadFile(path=path)
        if raw is None:
            raise DiscoveryError(f"open {path}: no such file or directory")
        text, served_by = raw.decode(), "file"
    config = kubeconfig.load(text)
    if not config.clusters:
        raise DiscoveryError("the provided kubeconfig file must have at least one Cluster defined")
    try:
        cluster = config.current_cluster()
    except ValueError as err:
        raise DiscoveryError(wrap("the provided kubeconfig file is malformed", err)) from None
    user = config.current_user()
    ca_data = cluster.ca_data
    if not ca_data and cluster.ca_file:
        # EnsureCertificateAuthorityIsEmbedded: a referenced CA file is read and embedded.
        ca_data = (yield ReadFile(path=cluster.ca_file)) or b""
    endpoint = server_endpoint(cluster.server)
    tls = TlsConfig(insecure=cluster.insecure, ca_pem=ca_data or None,
                    client_cert_pem=user.client_cert_data if user else None,
                    client_key_pem=user.client_key_data if user else None)
    bearer = user.token if user and user.token else None
    url = f"https://{server_authority(cluster.server)}{CLUSTER_INFO_TARGET}"
    last_error = ""
    outcome: list[Response | None] = []

    def attempt() -> Generator[Command, Any, bool]:
        nonlocal last_error
        result = yield HttpRequest(endpoint=endpoint, request=Request.build("GET", CLUSTER_INFO_TARGET, bearer=bearer),
                                   tls=tls, purpose="cluster-info")
        if isinstance(result, Response) and result.status == 403:
            yield Log(text="[discovery] Could not access the cluster-info ConfigMap for refreshing the cluster-info "
                           "information, but the TLS cert is valid so proceeding...")
            outcome.append(None)
            return True
        if isinstance(result, Response) and result.ok:
            outcome.append(result)
            return True
        last_error = response_error("GET", url, result)
        yield Log(text=f"[discovery] Failed to request cluster-info, will try again: {last_error}", verbosity=1)
        return False

    if not (yield from poll_until_timeout(C.DISCOVERY_RETRY_INTERVAL, timeout, attempt)):
        raise DiscoveryError(f"Abort reading the cluster-info ConfigMap after timeout of {go_duration(timeout)}: "
                             f"{last_error}")
    ca_pem = ca_data
    if outcome[-1] is not None:
        served_by = outcome[-1].server or served_by
        refreshed = (outcome[-1].body or {}).get("data", {}).get(C.CLUSTER_INFO_KUBECONFIG_KEY, "")
        try:
            if not refreshed:
                raise ValueError("no kubeconfig key")
            info = kubeconfig.load(refreshed)
        except ValueError:
            yield Log(text="[discovery] The cluster-info ConfigMap does not yet contain a kubeconfig", verbosity=1)
        else:
            try:
                info_cluster = info.current_cluster()
            except ValueError as err:
                raise DiscoveryError(wrap("malformed kubeconfig in the cluster-info ConfigMap", err)) from None
            if info_cluster.server != cluster.server:
                yield Log(text=f'[discovery] the API Server endpoint "{cluster.server}" in use is different from the '
                               f'endpoint "{info_cluster.server}" which defined in the cluster-info ConfigMap')
            if not ca_pem and info_cluster.ca_data:
                ca_pem = info_cluster.ca_data
    return Discovered(kubeconfig_text=text, server=cluster.server, ca_pem=ca_pem, pinned=not cluster.insecure,
                      served_by=served_by, has_credentials=config.has_credentials())


def _fetch_https(url: str) -> Generator[Command, Any, tuple[str, str]]:
    """GET a discovery kubeconfig over HTTPS, trusting the host's root store."""
    parts = urlsplit(url)
    host = server_endpoint(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    result = yield HttpRequest(endpoint=host, request=Request.build("GET", target), tls=TlsConfig(),
                               purpose="discovery-file")
    if isinstance(result, TransportFailure):
        raise DiscoveryError(go_url_error("GET", url, result))
    if result.status != 200:
        raise DiscoveryError(f"error trying to fetch discovery kubeconfig over HTTPS from {url}, "
                             f"received status {result.status}")
    body = result.text if result.text is not None else (result.body if isinstance(result.body, str) else "")
    return body, result.server
