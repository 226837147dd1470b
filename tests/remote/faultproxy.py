"""A TCP proxy between edgekit and sshd that can cut or stall the connection on purpose.

    with FaultProxy(target_port, cut_after=3_000_000) as proxy:   # client->server bytes
        ... connect to proxy.port ...
    FaultProxy(port, stall=True)              # accept, then forward nothing at all
    FaultProxy(port, stall_after=500_000)     # forward that much upstream, then go silent
    FaultProxy(port, rate=2_000_000)          # upstream at most 2 MB/s (a slow link: uploads take a while)

One thread accepts; each connection gets two pump threads. Cutting closes both sockets
(the client sees a dropped connection); stalling keeps them open and stops forwarding
(the client sees a server that never answers).
"""

from __future__ import annotations

import socket
import threading
import time


class FaultProxy:
    def __init__(self, target_port: int, *, cut_after: int | None = None, stall: bool = False,
                 stall_after: int | None = None, rate: float | None = None, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.rate = rate
        self.cut_after, self.stall_after = cut_after, 0 if stall else stall_after
        self.upstream_bytes = 0
        self.cut = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while not self._closing.is_set():
                if self.stall_after is not None and self.upstream_bytes >= self.stall_after:
                    self._closing.wait()  # go silent, keep the sockets open
                    return
                data = src.recv(16384 if self.rate else 65536)
                if not data:
                    break
                if upstream:
                    with self._lock:
                        self.upstream_bytes += len(data)
                        over = self.cut_after is not None and self.upstream_bytes >= self.cut_after
                    if over:
                        self.cut.set()
                        break
                dst.sendall(data)
                if upstream and self.rate:
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
