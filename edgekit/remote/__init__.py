"""Deploying to and benchmarking on devices over SSH (paramiko).

The public API (used by ``edgekit deploy``/``rollback`` and by ``edgekit build``)::

    from edgekit.remote import ConnectOptions, Device, deploy, resolve_devices, rollback, run_fleet
"""

from edgekit.remote.connection import ConnectOptions, Connection
from edgekit.remote.deploy import DeployResult, RollbackResult, deploy, rollback
from edgekit.remote.fleet import Outcome, run_fleet
from edgekit.remote.inventory import Device, load_inventory, select_devices
from edgekit.remote.selection import resolve_device, resolve_devices

__all__ = ["ConnectOptions", "Connection", "DeployResult", "Device", "Outcome", "RollbackResult", "deploy",
           "load_inventory", "resolve_device", "resolve_devices", "rollback", "run_fleet", "select_devices"]
