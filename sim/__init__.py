"""joinsim: a testbed for the Kubernetes kubeadm join protocol (discovery and TLS bootstrap)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
