"""Talking to processes on loopback: a free block of ports, one HTTP request, polling."""

from __future__ import annotations

import http.client
import random
import socket
import time
from http.cookies import SimpleCookie

import pytest

HOST = "127.0.0.1"
PORT_BLOCKS = range(18100, 18200, 10)  # one block of 10 ports per rehearsal run


def free_port_block() -> int:
    """The first port of a block of 10 in 18100-18199 that is all free right now."""
    blocks = list(PORT_BLOCKS)
    random.shuffle(blocks)  # two rehearsals at once (two developers) rarely pick the same block
    for base in blocks:
        try:
            probes = []
            for port in range(base, base + 10):
                probe = socket.socket()
                probes.append(probe)
                probe.bind((HOST, port))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError("no free block of ports in 18100-18199")


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10.0,
):
    """One request on a fresh connection: (status, headers, body)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.msg, response.read()
    finally:
        connection.close()


def set_cookies(headers) -> dict[str, str]:
    """The cookies a response sets, name -> value."""
    jar = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def wait_until(condition, timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll `condition` until true; return the seconds it took, fail after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - started
