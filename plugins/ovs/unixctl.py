"""A small client of an Open vSwitch daemon's unixctl socket (what `ovs-appctl` speaks): JSON-RPC
1.0 over a unix stream socket, requests and responses written back to back without separators.

One connection carries many calls, so the link check asks one host's ovs-vswitchd for its datapath
ports and every port's trace without forking `ovs-appctl` once per port::

    with Unixctl(files.vswitchd_ctl, timeout=2.0) as ctl:
        text = ctl.call("dpif/show")
        traces = ctl.call_many([("ofproto/trace", ["br-int", "in_port=tap1,..."]), ...])

Errors: `UnixctlUnavailable` when the daemon cannot be reached or does not answer in time (it is
down, restarting or stuck: the caller decides what that means); `UnixctlCommandError` when it
answered with an error (e.g. an unknown port in a trace), which concerns that one call only.
"""

import json
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

_READ_CHUNK = 65536


class UnixctlUnavailable(RuntimeError):
    """The daemon's control socket is missing, refuses, or gives no answer within the timeout."""


class UnixctlCommandError(RuntimeError):
    """The daemon answered one call with an error; the message is the daemon's."""


class Unixctl:
    """One connection to a daemon's unixctl socket. Not thread-safe; use one per thread."""

    def __init__(self, path: Path | str, *, timeout: float) -> None:
        self.path = str(path)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buffer = ""
        self._next_id = 0

    def __enter__(self) -> "Unixctl":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as error:
            sock.close()
            raise UnixctlUnavailable(f"cannot connect to {self.path}: {error.strerror or error}") from None
        self._sock = sock
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def call(self, method: str, params: Sequence[str] = ()) -> str:
        result = self.call_many([(method, params)])[0]
        if isinstance(result, UnixctlCommandError):
            raise result
        return result

    def call_many(self, calls: Sequence[tuple[str, Sequence[str]]]) -> list[str | UnixctlCommandError]:
        """Send every call at once, then read the answers (in order): each is the result text, or
        the UnixctlCommandError the daemon answered for that call. The whole batch shares one
        deadline of `timeout` seconds."""
        if self._sock is None:
            raise RuntimeError("Unixctl used outside its `with` block")
        ids = []
        payload = []
        for method, params in calls:
            self._next_id += 1
            ids.append(self._next_id)
            payload.append(json.dumps({"method": method, "params": list(params), "id": self._next_id}))
        try:
            self._sock.sendall("".join(payload).encode())
        except OSError as error:
            raise UnixctlUnavailable(f"cannot write to {self.path}: {error}") from None
        answers: dict[int, str | UnixctlCommandError] = {}
        deadline = time.monotonic() + self.timeout
        while len(answers) < len(ids):
            message = self._next_message(deadline)
            error = message.get("error")
            answers[message.get("id")] = (
                UnixctlCommandError(str(error).strip()) if error is not None else str(message.get("result") or "")
            )
        return [answers[i] for i in ids]

    def _next_message(self, deadline: float) -> dict:
        decoder = json.JSONDecoder()
        while True:
            text = self._buffer.lstrip()
            if text:
                try:
                    message, end = decoder.raw_decode(text)
                except json.JSONDecodeError:
                    pass  # incomplete: read more
                else:
                    self._buffer = text[end:]
                    return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise UnixctlUnavailable(f"no answer from {self.path} within {self.timeout:g} s")
            assert self._sock is not None
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(_READ_CHUNK)
            except TimeoutError:
                raise UnixctlUnavailable(f"no answer from {self.path} within {self.timeout:g} s") from None
            except OSError as error:
                raise UnixctlUnavailable(f"cannot read from {self.path}: {error}") from None
            if not chunk:
                raise UnixctlUnavailable(f"{self.path} closed the connection")
            self._buffer += chunk.decode(errors="replace")
