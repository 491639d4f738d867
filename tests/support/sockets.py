"""
Look at another process's live TCP sockets, as they are, from outside it.

`getsockopt` only works on a descriptor you hold, so this borrows one:
`pidfd_open(pid)` plus the `pidfd_getfd` system call (Linux 5.6 and later,
needs ptrace rights over the process, e.g. the same user without Yama's
restrictions, or root) duplicate each socket descriptor of the process into
this one. The duplicate is the same socket (same options, same connection);
closing it leaves the original untouched. Nothing in the inspected process
has to cooperate, so production code carries no test hook.
"""

import ctypes
import os
import platform
import socket
from dataclasses import dataclass

# pidfd_getfd(2) has the same number on every architecture that has it.
SYS_PIDFD_GETFD = 438


class SocketInspectionUnavailable(OSError):
    """This kernel or these permissions do not allow borrowing descriptors."""


@dataclass(frozen=True)
class TcpSocket:
    """One connected TCP socket of another process."""

    fd: int
    local: tuple
    peer: tuple
    nodelay: bool


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _borrow(pidfd, fd, libc):
    """A duplicate of descriptor `fd` of the process behind `pidfd`, or None if it is gone."""
    new = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
    if new >= 0:
        return new
    err = ctypes.get_errno()
    if err == 9:  # EBADF: closed since we listed it
        return None
    raise SocketInspectionUnavailable(err, f"pidfd_getfd: {os.strerror(err)} ({platform.release()})")


def _socket_fds(pid):
    """Descriptor numbers of the process's sockets."""
    fds = []
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                fds.append(int(name))
        except OSError:
            continue
    return fds


def tcp_sockets(pid):
    """Every connected TCP socket of process `pid`, with its TCP_NODELAY option.

    Listening sockets and non-TCP sockets are left out.

    Args:
        pid (int): The process to look into.

    Returns:
        list of TcpSocket

    Raises:
        SocketInspectionUnavailable: If descriptors cannot be borrowed here.
    """
    if not hasattr(os, "pidfd_open"):
        raise SocketInspectionUnavailable("os.pidfd_open is missing (Linux 5.3+ and Python 3.9+ needed)")
    libc = _libc()
    try:
        pidfd = os.pidfd_open(pid)
    except OSError as exc:
        raise SocketInspectionUnavailable(exc.errno, f"pidfd_open: {exc.strerror}") from exc
    found = []
    try:
        for fd in _socket_fds(pid):
            new = _borrow(pidfd, fd, libc)
            if new is None:
                continue
            sock = socket.socket(fileno=new)
            try:
                if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
                    continue
                try:
                    peer = sock.getpeername()
                except OSError:  # listening, or not connected
                    continue
                nodelay = bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                found.append(TcpSocket(fd, sock.getsockname()[:2], peer[:2], nodelay))
            finally:
                sock.close()
    finally:
        os.close(pidfd)
    return found


def socket_towards(sockets, local_port=None, peer_port=None):
    """The sockets with this local and/or peer port."""
    return [s for s in sockets
            if (local_port is None or s.local[1] == local_port) and (peer_port is None or s.peer[1] == peer_port)]
