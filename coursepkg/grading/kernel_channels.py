"""The grader's end of a sandboxed kernel's channels: ZeroMQ IPC sockets it does not trust.

The sandboxed kernel has no network, so it talks to nbval through Unix sockets in its runtime
folder, the one folder it shares with the grader. It could replace a socket there with a link
to some other socket of the machine and wait for the grader to reconnect through it; or send one
enormous message. So the grader's sockets:

- connect once, to a path that is a socket (not a link) when the kernel has just bound it and
  has run no code yet, and never reconnect (``RECONNECT_IVL`` -1);
- refuse a message larger than ``max_message_bytes`` (``MAXMSGSIZE``): ZeroMQ drops it, and
  the connection, without ever holding it in memory;
- leave out the heartbeat channel, whose socket jupyter_client re-creates after missed beats
  (the kernel manager watches the kernel's process instead);
- give up a send after ``SEND_TIMEOUT_MS`` (with no reconnection, a dead kernel's socket would
  otherwise block it forever), and interrupt only a kernel that is alive.

The kernel's own standard output and error go nowhere (``os.devnull``), not into pytest's.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time

import zmq
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.connect import channel_socket_types
from jupyter_client.manager import KernelManager
from jupyter_core.utils import run_sync

SOCKET_WAIT_SECONDS = 60.0
SEND_TIMEOUT_MS = 5000


class GuardedSockets:
    """Mixin for jupyter_client's connection classes: checked, one-shot socket connections."""

    max_message_bytes: int = -1

    def _create_connected_socket(self, channel: str, identity: bytes | None = None):
        url = self._make_url(channel)
        path = url.removeprefix("ipc://")
        deadline = time.monotonic() + SOCKET_WAIT_SECONDS
        while True:  # the kernel binds its sockets within a second of starting
            try:
                mode = os.lstat(path).st_mode
                break
            except FileNotFoundError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the kernel never made its {channel} socket") from None
                time.sleep(0.02)
        if not stat.S_ISSOCK(mode):
            raise RuntimeError(f"the kernel's {channel} socket was replaced by something else")
        sock = self.context.socket(channel_socket_types[channel])
        sock.linger = 1000
        sock.setsockopt(zmq.RECONNECT_IVL, -1)
        # Without reconnection, a socket whose kernel is gone has no peer, and a send would wait
        # for one forever: give up instead.
        sock.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
        sock.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        if identity:
            sock.identity = identity
        sock.connect(url)
        return sock


class SandboxKernelClient(GuardedSockets, BlockingKernelClient):
    """nbval's client of a sandboxed kernel: guarded sockets, no heartbeat channel."""

    def start_channels(self, shell=True, iopub=True, stdin=True, hb=True, control=True):
        super().start_channels(shell=shell, iopub=iopub, stdin=stdin, hb=False, control=control)


class SandboxKernelManager(GuardedSockets, KernelManager):
    """A kernel manager for the sandboxed kernel: IPC transport at ``ipc_path``, its connection
    file next to the sockets (inside the shared folder), guarded sockets and quiet kernel."""

    ipc_path = ""

    def __init__(self, **kwargs):
        connection_file = os.path.join(os.path.dirname(self.ipc_path), "connection.json")
        super().__init__(
            transport="ipc", ip=self.ipc_path, connection_file=connection_file, **kwargs
        )
        self.client_class = "coursepkg.grading.kernel_channels.SandboxKernelClient"

    def client(self, **kwargs):
        client = super().client(**kwargs)
        client.max_message_bytes = self.max_message_bytes
        return client

    async def _async_interrupt_kernel(self):
        """Interrupt a running kernel; a kernel that has died has nothing to interrupt."""
        if not await self._async_is_alive():
            return
        try:
            await super()._async_interrupt_kernel()
        except zmq.Again:  # alive, but its control socket is gone: the cell time limit decides
            pass

    interrupt_kernel = run_sync(_async_interrupt_kernel)

    def start_kernel(self, **kwargs):
        kwargs["stdout"] = subprocess.DEVNULL
        kwargs["stderr"] = subprocess.DEVNULL
        return super().start_kernel(**kwargs)


def use_sandbox_kernel(ipc_path: str, max_message_bytes: int) -> None:
    """Make nbval start its kernels with ``SandboxKernelManager``."""
    import nbval.kernel

    SandboxKernelManager.ipc_path = ipc_path
    GuardedSockets.max_message_bytes = max_message_bytes
    nbval.kernel.KernelManager = SandboxKernelManager  # nbval builds its manager by this name
