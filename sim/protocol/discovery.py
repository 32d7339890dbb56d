"""Discover the cluster and decide whether to trust it, as ``kubeadm join`` does.

How token discovery works (``cmd/kubeadm/app/discovery/token/token.go``):
the node fetches ``kube-public/cluster-info`` anonymously and *without*
verifying TLS, polling every 5 s until the bootstrapsigner has added a JWS for
its token ID. The JWS (HMAC keyed by the token secret) proves the sender knows
the token. If CA pins were given, the CA inside the ConfigMap must match one,
and a second fetch over TLS verified against that CA must return the same
bytes. Without pins (the unsafe-skip path) the first, unverified answer is
trusted: anyone who knows the token can impersonate the control plane.

Every error is wrapped as ``couldn't validate the identity of the API Server: ...``
by ``discovery.For`` (``cmd/kubeadm/app/discovery/discovery.go``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generator

from sim.protocol import constants as C
from sim.protocol import jws, kubeconfig, pins, x509verify
from sim.protocol.commands import ChargeCpu, Command, HttpRequest, Log, Mark, TlsConfig, TransportFailure
from sim.protocol.errors import DISCOVERY_WRAP, DiscoveryError, JoinsimError, go_quote, wrap
from sim.protocol.http import Request, Response
from sim.protocol.poll import poll_until_timeout
from sim.protocol.tokens import parse_token

CLUSTER_INFO_PATH = f"/api/v1/namespaces/{C.CLUSTER_INFO_NAMESPACE}/configmaps/{C.CLUSTER_INFO_NAME}"
# client-go adds the client timeout to every request URL; kubeadm's is 10 s.
CLUSTER_INFO_TARGET = CLUSTER_INFO_PATH + "?timeout=10s"
NO_CREDENTIALS = (
    "could not find authentication credentials for the TLS bootstrap process. Please use Token discovery, a "
    "discovery file with embedded authentication credentials or a discovery file without authentication "
    "credentials but with the TLSBootstrapToken flag"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenDiscovery:
    """Name the inputs of token discovery (``JoinConfiguration.discovery.bootstrapToken``)."""

    api_server_endpoint: str
    token: str
    ca_cert_hashes: tuple[str, ...] = ()
    unsafe_skip_ca_verification: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Discovered:
    """Describe the cluster the node now trusts."""

    kubeconfig_text: str
    server: str
    """The API server URL from cluster-info (used for the TLS bootstrap)."""
    ca_pem: bytes
    pinned: bool
    """True when the CA was checked against a pin and TLS was verified."""
    served_by: str
    """Which host answered the fetch that was trusted (the driver's label)."""
    has_credentials: bool = False
    """File discovery: the kubeconfig already carries credentials for the TLS bootstrap."""


def go_url_error(method: str, url: str, failure: TransportFailure) -> str:
    """Format a transport failure as Go's ``*url.Error`` does: ``Get "<url>": <err>``."""
    return f'{method[:1].upper()}{method[1:].lower()} "{url}": {failure.message}'


# client-go's texts for an error response that is not a Status, by code
# (staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go NewGenericServerResponse).
_GENERIC_MESSAGES = {
    400: "the server rejected our request for an unknown reason",
    401: "the server has asked for the client to provide credentials",
    403: "the server does not allow access to the requested resource",
    404: "the server could not find the requested resource",
    405: "the server does not allow this method on the requested resource",
    406: "the server was unable to respond with a content type that the client supports",
    409: "the server reported a conflict",
    415: "the server was unable to respond with a content type that the client supports",
    422: "the server rejected our request due to an error in our request",
    429: "the server has received too many requests and has asked us to try again later",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}


def response_error(method: str, url: str, result: Response | TransportFailure) -> str:
    """Return the error text client-go gives for a failed request."""
    if isinstance(result, TransportFailure):
        return go_url_error(method, url, result)
    body = result.body if isinstance(result.body, dict) else {}
    message = body.get("message") if body.get("kind") == "Status" else None
    if isinstance(message, str) and message:
        return message
    return _generic_error(method, url, result)


def _generic_error(method: str, url: str, result: Response) -> str:
    """Build client-go's message for a non-Status error body, naming the request's resource."""
    code = result.status
    if code in _GENERIC_MESSAGES:
        text = _GENERIC_MESSAGES[code]
    elif code >= 500:
        served = (result.text or "").strip() or "unknown"
        text = f"an error on the server ({go_quote(served)}) has prevented the request from succeeding"
    else:
        text = f"the server responded with the status code {code} but did not return more information"
    resource, name = _resource_of(url)
    if resource and name:
        return f"{text} ({method.lower()} {resource} {name})"
    if resource:
        return f"{text} ({method.lower()} {resource})"
    return text


def _resource_of(url: str) -> tuple[str, str]:
    """Return the qualified resource and object name a REST URL addresses (empty when unknown)."""
    path = url.split("://", 1)[-1]
    path = "/" + path.split("/", 1)[1] if "/" in path else "/"
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return "", ""
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]
    if not rest:
        return "", ""
    resource = f"{rest[0]}.{group}" if group else rest[0]
    return resource, rest[1] if len(rest) > 1 else ""


def fetch_cluster_info(
    endpoint: str, tls: TlsConfig, token: str, interval: float, timeout: float
) -> Generator[Command, Any, Response]:
    """Poll cluster-info until it carries a JWS for the token ID (``getClusterInfo``)."""
    url = f"https://{endpoint}{CLUSTER_INFO_TARGET}"
    last_error = ""
    found: list[Response] = []

    def attempt() -> Generator[Command, Any, bool]:
        nonlocal last_error
        try:
            token_id, _ = parse_token(token)
        except JoinsimError as err:
            raise DiscoveryError(wrap(f"could not construct token string for token: {token}", err)) from None
        yield Log(text=f"[discovery] Waiting for the cluster-info ConfigMap to receive a JWS signature for token ID {go_quote(token_id)}", verbosity=1)
        result = yield HttpRequest(endpoint=endpoint, request=Request.build("GET", CLUSTER_INFO_TARGET), tls=tls, purpose="cluster-info")
        yield Mark(milestone="discovery-attempt", attrs={"secure": str(not tls.insecure).lower()})
        if isinstance(result, TransportFailure) or not result.ok:
            last_error = wrap("failed to request the cluster-info ConfigMap", response_error("GET", url, result))
        elif C.JWS_SIGNATURE_KEY_PREFIX + token_id not in (_data(result)):
            last_error = f"could not find a JWS signature in the cluster-info ConfigMap for token ID {go_quote(token_id)}"
        else:
            found.append(result)
            return True
        yield Log(text=f"[discovery] Retrying due to error: {last_error}", verbosity=1)
        return False

    if (yield from poll_until_timeout(min(interval, timeout), timeout, attempt)):
        return found[-1]
    raise DiscoveryError(last_error)


def retrieve_validated_config_info(
    cfg: TokenDiscovery, timeout: float, interval: float = C.DISCOVERY_RETRY_INTERVAL
) -> Generator[Command, Any, Discovered]:
    """Run the twelve steps of token discovery; raise ``DiscoveryError`` (unwrapped) on failure."""
    endpoint = cfg.api_server_endpoint
    yield Log(text=f'[discovery] Created cluster-info discovery client, requesting info from "{endpoint}"', verbosity=1)
    first = yield from fetch_cluster_info(endpoint, TlsConfig(insecure=True), cfg.token, interval, timeout)

    pin_set = pins.PinSet()
    try:
        pin_set.allow(*cfg.ca_cert_hashes)
    except ValueError as err:
        raise DiscoveryError(wrap("invalid discovery token CA certificate hash", err)) from None
    token_id, token_secret = parse_token(cfg.token)

    data = _data(first)
    content = data.get(C.CLUSTER_INFO_KUBECONFIG_KEY, "")
    if not content:
        raise DiscoveryError("there is no kubeconfig key in the cluster-info ConfigMap. "
                             "This API Server isn't set up for token bootstrapping, can't connect")
    signature = data.get(C.JWS_SIGNATURE_KEY_PREFIX + token_id, "")
    if not signature:
        raise DiscoveryError(f'token id "{token_id}" is invalid for this cluster or it has expired. '
                             'Use "kubeadm token create" on the control-plane node to create a new valid token')
    yield ChargeCpu(operation="jws-verify")
    if not jws.detached_token_is_valid(signature, content, token_id, token_secret):
        raise DiscoveryError("failed to verify JWS signature of received cluster info object, can't trust this API Server")
    yield Mark(milestone="jws-verified")

    server, ca_data = _cluster_of(content)
    if pin_set.empty:
        yield Log(text=f'[discovery] Cluster info signature and contents are valid and no TLS pinning was specified, will use API Server "{endpoint}"', verbosity=1)
        return Discovered(kubeconfig_text=content, server=server, ca_pem=ca_data, pinned=False, served_by=first.server)

    try:
        certs = x509verify.parse_certs_pem(ca_data)
    except ValueError as err:
        raise DiscoveryError(wrap("failed to parse cluster CA from the cluster-info ConfigMap", err)) from None
    yield ChargeCpu(operation="pin")
    try:
        pin_set.check_any(certs)
    except ValueError as err:
        raise DiscoveryError(wrap("cluster CA found in cluster-info ConfigMap is invalid", err)) from None
    yield Mark(milestone="pin-verified")

    yield Log(text=f'[discovery] Requesting info from "{endpoint}" again to validate TLS against the pinned public key', verbosity=1)
    second = yield from fetch_cluster_info(endpoint, TlsConfig(ca_pem=ca_data), cfg.token, interval, timeout)
    if _data(second).get(C.CLUSTER_INFO_KUBECONFIG_KEY, "") != content:
        raise DiscoveryError("the second kubeconfig from the cluster-info ConfigMap (using validated TLS) was different from the first")
    yield Mark(milestone="second-fetch")
    yield Log(text=f'[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server "{endpoint}"', verbosity=1)
    return Discovered(kubeconfig_text=content, server=server, ca_pem=ca_data, pinned=True, served_by=second.server)


def discover(cfg: TokenDiscovery, timeout: float = C.DISCOVERY_TIMEOUT) -> Generator[Command, Any, Discovered]:
    """Run token discovery, wrapping any failure as ``discovery.For`` does."""
    try:
        return (yield from retrieve_validated_config_info(cfg, timeout))
    except (DiscoveryError, ValueError) as err:
        raise DiscoveryError(wrap(DISCOVERY_WRAP, err)) from None


def tls_bootstrap_kubeconfig(found: Discovered, tls_bootstrap_token: str) -> str:
    """Build bootstrap-kubelet.conf: the discovered server and CA plus the bearer token.

    Without a token, a discovery file that carries credentials is used as it is.
    """
    if not tls_bootstrap_token and not found.has_credentials:
        raise DiscoveryError(NO_CREDENTIALS)
    try:
        x509verify.parse_certs_pem(found.ca_pem)
    except ValueError as err:
        raise DiscoveryError(wrap("could not get CA certificate from discovery kubeconfig", err)) from None
    if not tls_bootstrap_token:
        return found.kubeconfig_text
    return kubeconfig.token_kubeconfig(found.server, found.ca_pem, tls_bootstrap_token,
                                       cluster_name=C.DEFAULT_CLUSTER_NAME, user=C.TLS_BOOTSTRAP_TOKEN_USER)


def _data(response: Response) -> dict[str, str]:
    body = response.body if isinstance(response.body, dict) else {}
    data = body.get("data") or {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _cluster_of(content: str) -> tuple[str, bytes]:
    """Pick the cluster as kubeadm's ``GetClusterFromKubeConfig`` does: the unnamed one first."""
    try:
        config = kubeconfig.load(content)
    except ValueError as err:
        raise DiscoveryError(wrap("couldn't parse the kubeconfig file in the cluster-info ConfigMap", err)) from None
    try:
        cluster = config.current_cluster()
    except ValueError as err:
        raise DiscoveryError(wrap("malformed kubeconfig in the cluster-info ConfigMap", err)) from None
    return cluster.server, cluster.ca_data
