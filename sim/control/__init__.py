"""The fake control plane as pure code: object store, authentication, RBAC, REST, controllers, kubeadm init."""

from sim.control.api import ApiServer
from sim.control.manager import ControllerManager
from sim.control.plane import ControlPlane
from sim.control.profile import Profile, profile
from sim.control.store import Store

__all__ = ["ApiServer", "ControlPlane", "ControllerManager", "Profile", "Store", "profile"]
