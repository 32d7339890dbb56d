"""Hold a node's join settings and validate them as kubeadm does before anything runs.

The fields mirror ``JoinConfiguration`` (``kubeadm.k8s.io/v1beta4``) and the
``kubeadm join`` flags. Validation follows
``cmd/kubeadm/app/apis/kubeadm/validation/validation.go``: every problem is a
``field.Error`` (``<path>: Invalid value: "<v>": <msg>``) and several are
aggregated as ``[e1, e2]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sim.protocol import constants as C
from sim.protocol.errors import ValidationError, go_quote
from sim.protocol.hostport import split_host_port_error
from sim.protocol.names import dns1123_subdomain_errors
from sim.protocol.tokens import is_valid_bootstrap_token

# cmd/kubeadm/app/apis/kubeadm/validation/validation.go ValidateNodeRegistrationOptions
NODE_NAME_REQUIRED = (
    "--node-name or .nodeRegistration.name in the config file is a required value. It seems like this value "
    "couldn't be automatically detected in your environment, please specify the desired value using the CLI or "
    "config file."
)
UNSAFE_SKIP_MESSAGE = (
    "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in "
    "your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinConfiguration:
    """Describe one ``kubeadm join`` invocation (flags and config file merged, defaults applied)."""

    node_name: str
    api_server_endpoint: str = ""
    token: str = ""
    """``--discovery-token`` (``--token`` fills it and the TLS bootstrap token)."""
    tls_bootstrap_token: str = ""
    ca_cert_hashes: tuple[str, ...] = ()
    unsafe_skip_ca_verification: bool = False
    discovery_file: str = ""
    """A kubeconfig path on the node or an ``https://`` URL: file/HTTPS discovery instead of token."""
    control_plane: bool = False
    certificate_key: str = ""
    advertise_address: str = ""
    bind_port: int = C.KUBE_API_SERVER_PORT
    ignore_preflight_errors: tuple[str, ...] = ()
    ca_cert_path: str = C.DEFAULT_CA_CERT_PATH
    cri_socket: str = C.DEFAULT_CRI_SOCKET
    kubelet_config_configmap: str = C.KUBELET_CONFIG_CONFIGMAP
    discovery_timeout: float = C.DISCOVERY_TIMEOUT
    tls_bootstrap_timeout: float = C.TLS_BOOTSTRAP_TIMEOUT
    kubelet_health_check_timeout: float = C.KUBELET_HEALTH_CHECK_TIMEOUT
    kubernetes_api_call_timeout: float = C.KUBERNETES_API_CALL_TIMEOUT
    node_labels: tuple[tuple[str, str], ...] = field(default=())

    @property
    def uses_token_discovery(self) -> bool:
        """Tell whether discovery is by token (else by file or HTTPS URL)."""
        return not self.discovery_file

    @property
    def effective_tls_bootstrap_token(self) -> str:
        """Return the TLS bootstrap token, defaulting to the discovery token (``SetDefaults_Discovery``)."""
        return self.tls_bootstrap_token or self.token


def field_invalid(path: str, value: str, message: str) -> str:
    """Render ``field.Invalid`` as apimachinery prints it."""
    return f"{path}: Invalid value: {go_quote(value)}: {message}"


def validation_errors(cfg: JoinConfiguration) -> list[str]:
    """List the problems ``ValidateDiscovery`` reports, in its order.

    As ``kubeadm join`` builds the configuration from flags (``newJoinData``),
    a discovery file selects file discovery (``--token`` then only fills the
    TLS bootstrap token); otherwise an endpoint argument selects token
    discovery, whose token and TLS bootstrap token are then always checked.
    """
    errs: list[str] = []
    tls_token = cfg.effective_tls_bootstrap_token
    if cfg.discovery_file:
        location = cfg.discovery_file
        scheme = urlsplit(location).scheme
        if scheme and scheme not in ("https", "file"):
            errs.append(field_invalid("discovery.file.kubeConfigPath", location,
                                      "if a URL is used, the scheme must be https"))
        if tls_token and not is_valid_bootstrap_token(tls_token):
            errs.append(field_invalid("discovery.tlsBootstrapToken", tls_token, "the bootstrap token is invalid"))
        return errs
    if not cfg.api_server_endpoint:
        errs.append(field_invalid("discovery", "", "bootstrapToken or file must be set"))
        return errs
    path = "discovery.bootstrapToken"
    if not cfg.ca_cert_hashes and not cfg.unsafe_skip_ca_verification:
        errs.append(field_invalid(f"{path}.caCertHashes", "", UNSAFE_SKIP_MESSAGE))
    if not is_valid_bootstrap_token(cfg.token):
        errs.append(field_invalid(f"{path}.token", cfg.token, "the bootstrap token is invalid"))
    split_err = split_host_port_error(cfg.api_server_endpoint)
    if split_err:
        errs.append(field_invalid(f"{path}.apiServerEndpoint", cfg.api_server_endpoint, split_err))
    if not is_valid_bootstrap_token(tls_token):
        errs.append(field_invalid("discovery.tlsBootstrapToken", tls_token, "the bootstrap token is invalid"))
    return errs


def node_registration_errors(cfg: JoinConfiguration) -> list[str]:
    """List the problems ``ValidateNodeRegistrationOptions`` reports for the node name.

    The name becomes the Node object's name and the CSR's ``system:node:<name>``,
    so kubeadm refuses anything that is not a DNS-1123 subdomain up front.
    """
    if not cfg.node_name:
        return [f"nodeRegistration: Required value: {NODE_NAME_REQUIRED}"]
    return [field_invalid("nodeRegistration.name", cfg.node_name, message)
            for message in dns1123_subdomain_errors(cfg.node_name)]


def validate(cfg: JoinConfiguration) -> None:
    """Raise ``ValidationError`` with the aggregated message when the configuration is invalid."""
    errs = validation_errors(cfg) + node_registration_errors(cfg)
    if len(errs) == 1:
        raise ValidationError(errs[0])
    if errs:
        raise ValidationError("[" + ", ".join(errs) + "]")
