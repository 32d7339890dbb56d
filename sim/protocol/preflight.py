"""Run kubeadm's join preflight checks as pure functions of what a node looks like.

How this works: a driver answers ``InspectNode`` with ``NodeFacts``; the check
builders return, in upstream order, only the problems found; ``run_checks``
renders them as kubeadm does. A join's preflight phase (upstream
``cmd/kubeadm/app/cmd/phases/join/preflight.go`` ``runPreflight``) makes
passes that each stop the join on error: ``join_node_checks`` + ``run_checks``;
discovery; for control-plane joins ``preflight_control_plane.control_plane_checks``
(it raises the readiness error first) + ``run_checks``; ImagePull. The check
helpers both passes share (``file_available_check``, ``port_open_check``,
``http_proxy_check``, ...) live here. Not modelled: ImagePull,
SystemVerification, Hostname (DNS lookup), NO_PROXY.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterable, Literal, Mapping, Sequence

from sim.protocol.constants import (
    BOOTSTRAP_KUBELET_CONF_PATH, DEFAULT_CA_CERT_PATH, KUBEADM_VERSION, KUBELET_CONF_PATH, KUBELET_PORT,
)
from sim.protocol.errors import PreflightError, ValidationError
from sim.protocol.hostport import split_host_port

# cmd/kubeadm/app/preflight/checks.go (ipv4Forward, ipv6DefaultForwarding)
IPV4_FORWARD_PATH = "/proc/sys/net/ipv4/ip_forward"
IPV6_FORWARD_PATH = "/proc/sys/net/ipv6/conf/default/forwarding"
# cmd/kubeadm/app/constants/constants.go (KubernetesDir + ManifestsSubDirName)
MANIFESTS_DIR = "/etc/kubernetes/manifests"
# cmd/kubeadm/app/apis/kubeadm/v1beta4/defaults.go
DEFAULT_CERT_DIR = "/etc/kubernetes/pki"
DEFAULT_ETCD_DATA_DIR = "/var/lib/etcd"
# cmd/kubeadm/app/preflight/checks_linux.go addExecChecks
MANDATORY_BINARIES = ("ip", "iptables", "mount", "nsenter")
OPTIONAL_BINARIES = ("ebtables", "ethtool", "socat", "tc", "touch")
# cmd/kubeadm/app/constants/constants.go: MinimumKubeletVersion = getSkewedKubernetesVersion(-3)
KUBELET_MIN_MINOR_SKEW = 3
# cmd/kubeadm/app/preflight/checks.go SwapCheck
SWAP_WARNING = (
    "swap is supported for cgroup v2 only. The kubelet must be properly configured to use swap. "
    "Please refer to https://kubernetes.io/docs/concepts/architecture/nodes/#swap-memory, "
    "or disable swap on the node"
)
# cmd/kubeadm/app/preflight/checks.go handleError
FATAL_HEADER = "[preflight] Some fatal errors occurred:"
FATAL_FOOTER = ("[preflight] If you know what you are doing, you can make a check non-fatal with "
                "`--ignore-preflight-errors=...`")
PREFLIGHT_FAILED = "preflight checks failed"

Severity = Literal["error", "warning"]
_SEMVER = re.compile(r"v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")
# cmd/kubeadm/app/preflight/utils.go GetKubeletVersion
_KUBELET_OUT = re.compile(r"\s*Kubernetes v((0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)([-0-9a-zA-Z_.+]*)?)\s*")


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeFacts:
    """Describe a host as preflight sees it, so checks stay pure and drivers can fake hosts.

    ``files`` maps absolute paths to contents; a directory exists (and is not
    empty) when a file lies under it. ``kubelet_version`` is what follows
    ``Kubernetes `` in ``kubelet --version`` (``""``: no kubelet). ``http_proxy``
    is the proxy Go would pick for https URLs. ``cri_reachable=False`` means
    kubeadm cannot connect to the CRI socket, so the CRI check is skipped.
    An empty ``ip_forward_*`` means the /proc file is missing.
    """

    files: Mapping[str, bytes]
    ports_in_use: frozenset[int]
    swap_enabled: bool
    binaries: frozenset[str]
    num_cpu: int
    mem_mb: int
    kubelet_service_enabled: bool
    cri_reachable: bool
    hostname: str
    ip_forward_v4: str = "1\n"
    ip_forward_v6: str = "1\n"
    http_proxy: str = ""
    kubelet_version: str
    firewalld_active: bool = False

    def __post_init__(self) -> None:
        """Freeze the collections so a caller's later edits cannot leak in."""
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        object.__setattr__(self, "ports_in_use", frozenset(self.ports_in_use))
        object.__setattr__(self, "binaries", frozenset(self.binaries))

    @classmethod
    def healthy_worker(cls, hostname: str) -> NodeFacts:
        """Build a clean, joinable host: nothing installed by kubeadm, every check passes."""
        return cls(files={}, ports_in_use=frozenset(), swap_enabled=False,
                   binaries=frozenset(MANDATORY_BINARIES + OPTIONAL_BINARIES + ("kubelet",)),
                   num_cpu=2, mem_mb=4096, kubelet_service_enabled=True, cri_reachable=True,
                   hostname=hostname, kubelet_version=KUBEADM_VERSION)

    def with_changes(self, **changes: Any) -> NodeFacts:
        """Return a copy with some fields replaced (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def exists(self, path: str) -> bool:
        """Tell whether ``os.Stat(path)`` would succeed: a file there or files under it."""
        return bool(path) and (path in self.files or self.dir_nonempty(path))

    def dir_nonempty(self, path: str) -> bool:
        """Tell whether any file lies under directory ``path`` (an empty path is no directory)."""
        prefix = path.rstrip("/") + "/"
        return bool(path) and any(p.startswith(prefix) for p in self.files)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Carry one problem a check found; ``name`` is what ``--ignore-preflight-errors`` matches."""

    name: str
    severity: Severity
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PreflightReport:
    """Hold what kubeadm prints on stderr for one preflight pass, and its error if fatal."""

    lines: list[str]
    error: PreflightError | None

    @property
    def ok(self) -> bool:
        """Tell whether the pass let the join continue."""
        return self.error is None


def parse_ignore_errors(values: Sequence[str]) -> frozenset[str]:
    """Parse ``--ignore-preflight-errors`` values as kubeadm does (validation.go).

    Each flag value is split on commas (pflag's string slice; CSV quoting is
    not modelled) and lower-cased; ``all`` cannot be mixed with other names.
    """
    items = {item.lower() for value in values if value for item in value.split(",")}
    if "all" in items and len(items) > 1:
        # ValidateIgnorePreflightErrors: field.Invalid(..., strings.Join(sets.List(s), ","), ...)
        joined = ",".join(sorted(items))
        raise ValidationError(f'ignore-preflight-errors: Invalid value: "{joined}": '
                              "don't specify individual checks if 'all' is used")
    return frozenset(items)


def run_checks(results: Iterable[CheckResult], ignore: frozenset[str]) -> PreflightReport:
    """Render results as kubeadm's RunChecks does: warnings at once, errors buffered to the end.

    An ignored (or ``all``-ignored) error is demoted to a WARNING line (checks.go
    ``setHasItemOrAll``); any remaining error fails the pass (``handleError``).
    """
    lines: list[str] = []
    errors: list[str] = []
    for r in results:
        if r.severity == "warning" or "all" in ignore or r.name.lower() in ignore:
            lines.append(f"\t[WARNING {r.name}]: {r.message}")
        else:
            errors.append(f"\t[ERROR {r.name}]: {r.message}")
    if not errors:
        return PreflightReport(lines=lines, error=None)
    return PreflightReport(lines=[*lines, FATAL_HEADER, *errors, FATAL_FOOTER],
                           error=PreflightError(PREFLIGHT_FAILED))


def worker_checks(facts: NodeFacts, *, ca_cert_path: str = DEFAULT_CA_CERT_PATH,
                  discovery_endpoint: str | None) -> list[CheckResult]:
    """List the problems a worker join's preflight finds (``JoinNodeChecks`` without ControlPlane)."""
    return join_node_checks(facts, control_plane=False, ca_cert_path=ca_cert_path,
                            discovery_endpoint=discovery_endpoint)


def join_node_checks(facts: NodeFacts, *, control_plane: bool, ca_cert_path: str = DEFAULT_CA_CERT_PATH,
                     discovery_endpoint: str | None) -> list[CheckResult]:
    """List the first-pass problems of any join (checks.go ``JoinNodeChecks``).

    ``discovery_endpoint`` is the token-discovery ``host:port``; ``None`` stands
    for file discovery, which skips the proxy and IP-forwarding checks.
    """
    out = file_available_check(facts, KUBELET_CONF_PATH) + file_available_check(facts, BOOTSTRAP_KUBELET_CONF_PATH)
    out += _common_checks(facts)
    if not control_plane:  # the CA file check is for worker joins only
        out += file_available_check(facts, ca_cert_path)
    host = _split_host(discovery_endpoint) if discovery_endpoint is not None else None
    if host is not None:
        out += http_proxy_check(facts, host)
        ip = _parse_ip(host)
        if ip is not None and ip.version == 4:
            out += _file_content(IPV4_FORWARD_PATH, facts.ip_forward_v4)
        elif ip is not None:
            out += _file_content(IPV6_FORWARD_PATH, facts.ip_forward_v6)
    return out


def check_label(kind: str, path: str) -> str:
    """Name a path check the way checks.go does (``FileAvailable--etc-kubernetes-kubelet.conf``)."""
    return f"{kind}-{path.replace('/', '-')}"


def file_available_check(facts: NodeFacts, path: str) -> list[CheckResult]:
    """Flag a file kubeadm is about to write that is already there (FileAvailableCheck)."""
    if not facts.exists(path):
        return []
    return [CheckResult(check_label("FileAvailable", path), "error", f"{path} already exists")]


def _file_content(path: str, content: str) -> list[CheckResult]:
    """Flag a /proc switch whose first byte is not ``1`` (FileContentCheck)."""
    name = check_label("FileContent", path)
    if not content:
        return [CheckResult(name, "error", f"{path} does not exist")]
    return [] if content[:1] == "1" else [CheckResult(name, "error", f"{path} contents are not set to 1")]


def port_open_check(facts: NodeFacts, port: int) -> list[CheckResult]:
    """Flag a port kubeadm needs that something already listens on (PortOpenCheck)."""
    return [CheckResult(f"Port-{port}", "error", f"Port {port} is in use")] if port in facts.ports_in_use else []


def _common_checks(facts: NodeFacts) -> list[CheckResult]:
    """List the checks init and join share (checks.go ``addCommonChecks``), for an empty k8s version."""
    out: list[CheckResult] = []  # CRI: skipped when unreachable, passes otherwise
    if facts.swap_enabled:
        out.append(CheckResult("Swap", "warning", SWAP_WARNING))
    for binary in MANDATORY_BINARIES + OPTIONAL_BINARIES:  # conntrack: only for k8s < 1.32
        if binary not in facts.binaries:
            severity: Severity = "error" if binary in MANDATORY_BINARIES else "warning"
            out.append(CheckResult(f"FileExisting-{binary}", severity, f"{binary} not found in system path"))
    out += _kubelet_version(facts.kubelet_version)
    if not facts.kubelet_service_enabled:
        out.append(CheckResult("Service-Kubelet", "warning",
                               "kubelet service is not enabled, please run 'systemctl enable kubelet.service'"))
    return out + port_open_check(facts, KUBELET_PORT)


def _kubelet_version(version: str) -> list[CheckResult]:
    """Flag a missing kubelet or one older than kubeadm supports (KubeletVersionCheck)."""
    prefix = "couldn't get kubelet version: "
    if not version:
        return [CheckResult("KubeletVersion", "error", prefix + "cannot execute 'kubelet --version': "
                            'exec: "kubelet": executable file not found in $PATH')]
    output = f"Kubernetes {version}".strip()
    match = _KUBELET_OUT.fullmatch(output)
    kubelet, kubeadm = parse_semver(match.group(1) if match else ""), parse_semver(KUBEADM_VERSION)
    if match is None or kubelet is None:
        why = f'Unable to parse output from Kubelet: "{output}"' if match is None else \
            f'could not parse "{match.group(1)}" as version'
        return [CheckResult("KubeletVersion", "error", prefix + why)]
    assert kubeadm is not None
    minimum = (kubeadm[0], kubeadm[1] - KUBELET_MIN_MINOR_SKEW, 0)
    if (kubelet[:3], kubelet[3] == "") < (minimum, True):
        shown = match.group(1)
        return [CheckResult("KubeletVersion", "error",
                            f'Kubelet version "{shown}" is lower than kubeadm can support. Please upgrade kubelet')]
    return []


def parse_semver(text: str) -> tuple[int, int, int, str] | None:
    """Parse ``[v]X.Y.Z[-pre][+build]`` like apimachinery's ParseSemantic, or return None."""
    m = _SEMVER.fullmatch(text.strip())
    return None if m is None else (int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) or "")


def proxy_for(facts: NodeFacts, host: str) -> str | None:
    """Return the proxy Go's ProxyFromEnvironment would use for ``https://host``, if any."""
    if not facts.http_proxy or host == "localhost":
        return None
    ip = _parse_ip(host)
    if ip is not None and ip.is_loopback:  # Go never proxies loopback
        return None
    return facts.http_proxy if "://" in facts.http_proxy else "http://" + facts.http_proxy


def http_proxy_check(facts: NodeFacts, host: str) -> list[CheckResult]:
    """Warn when the API server would be reached through a proxy (HTTPProxyCheck)."""
    proxy = proxy_for(facts, host)
    if proxy is None:
        return []
    ip = _parse_ip(host)
    url = f"https://[{host}]:1234" if ip is not None and ip.version == 6 else f"https://{host}"
    return [CheckResult("HTTPProxy", "warning",
                        f'Connection to "{url}" uses proxy "{proxy}". If that is not intended, adjust your proxy settings')]


def _split_host(address: str) -> str | None:
    """Return the host of ``host:port`` as Go's net.SplitHostPort splits it, or None when it fails."""
    try:
        return split_host_port(address)[0]
    except ValueError:
        return None


def _parse_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse an IP as netutils.ParseIPSloppy (IPv4-mapped counts as IPv4; zones and leading zeros not modelled)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
