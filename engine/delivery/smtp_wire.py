"""SMTP conversations on many connections at once, driven from one thread.

Why not a thread per connection with smtplib: at thousands of messages a second the threads spent more
CPU handing the GIL to each other, and smtplib more in its line reader, than the messages cost to render.
Here every connection is a non-blocking socket (plain or TLS) with its own buffers, every conversation
is a generator that yields the `Wire` it waits on, and a `Drive` runs all of them on one selector.

A conversation reads like the blocking code it replaces:

    wire.write(b"RSET\\r\\n")
    code, text = yield from wire.reply()

An I/O error, a hang-up or a reply that does not come within the wire's timeout is thrown into the
conversation at its `yield`, as the `OSError` the blocking call would have raised. A conversation may
also yield `Parked(cond)`: it waits for a connection another conversation or thread holds; it is resumed
after any conversation of the same drive ends, or after `cond` is notified while nothing else runs.

A conversation that yields `HOLDING` has its connection and waits for the caller's go-ahead before it
writes its message (the delivery transport may have written the envelope ahead): `holding()` names those conversations, `proceed()` lets them go on (or withdraws them:
`Withdrawn` is thrown in, and they end without sending), and `wait(on_hold)` asks `on_hold` about the
ones that get a connection while it runs. The delivery runner writes a message's hand-over mark only
then, so a worker killed mid-round has marked no message that was still waiting for a connection.
"""
from __future__ import annotations

import selectors
import ssl
import time
from dataclasses import dataclass
from typing import Callable, Collection, Generator

_MAX_REPLY = 64 * 1024          # a reply longer than this is a broken server, not a reply
_READ_SIZE = 16 * 1024
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class ConnectionLost(ConnectionError):
    """The relay closed the connection, or sent something that is not an SMTP reply."""


@dataclass(frozen=True)
class Parked:
    """Yielded by a conversation that waits for a pooled connection to come back."""

    cond: object          # threading.Condition notified when a connection is checked in


class Withdrawn(Exception):
    """Thrown into a holding conversation the caller does not let go: it gives its connection back and ends."""


# Yielded by a conversation that holds its connection and waits for `Drive.proceed()` (or `wait(on_hold)`).
HOLDING = object()


class Wire:
    """One connected socket in non-blocking mode, with an output queue and an input buffer."""

    __slots__ = ("sock", "timeout", "_out", "_in", "_registered", "_selector", "_tls")

    def __init__(self, sock, timeout: float):
        sock.setblocking(False)
        self.sock = sock
        self.timeout = timeout
        self._out = bytearray()
        self._in = bytearray()
        self._registered = 0       # the selector events this wire is registered for (0: not registered)
        self._selector = None
        self._tls = isinstance(sock, ssl.SSLSocket)

    @property
    def sending(self) -> bool:
        """Bytes are still queued: the last write has not completely left."""
        return bool(self._out)

    def write(self, data: bytes) -> None:
        """Send as much of `data` as the socket takes now; the rest is queued until it is writable."""
        if self._out:
            self._out += data
            self.flush()
            return
        try:
            sent = self.sock.send(data)
        except _WOULD_BLOCK:
            sent = 0
        if sent < len(data):
            self._out += data[sent:]

    def flush(self) -> None:
        out = self._out
        while out:
            try:
                sent = self.sock.send(out)
            except _WOULD_BLOCK:
                return
            del out[:sent]

    def fill(self) -> None:
        """Read what the socket has now (for TLS: every decrypted record)."""
        while True:
            try:
                data = self.sock.recv(_READ_SIZE)
            except _WOULD_BLOCK:
                return
            if not data:
                raise ConnectionLost("the relay closed the connection")
            self._in += data
            if len(self._in) > _MAX_REPLY:
                raise ConnectionLost("the relay sent more than 64 KB without ending its reply")
            # A short read emptied the socket; asking again would only fail with EAGAIN. TLS may still
            # hold decrypted bytes that the selector cannot see.
            if len(data) < _READ_SIZE and not (self._tls and self.sock.pending()):
                return

    def take_reply(self) -> tuple[int, bytes] | None:
        """The next complete reply in the input buffer, as smtplib returns it, or None when incomplete."""
        buffer = self._in
        start, lines = 0, []
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                return None
            line = bytes(buffer[start:end]).rstrip(b"\r")
            start = end + 1
            lines.append(line[4:].strip(b" \t"))
            if line[3:4] != b"-":
                break
        del buffer[:start]
        try:
            code = int(line[:3])
        except ValueError:
            code = -1
        return code, b"\n".join(lines)

    def reply(self) -> Generator["Wire", None, tuple[int, bytes]]:
        """`code, text = yield from wire.reply()`."""
        while True:
            if self._in:    # right after a write there is nothing to look at yet
                found = self.take_reply()
                if found is not None:
                    return found
            yield self

    def unregister(self, selector=None) -> None:
        """Out of the selector it waits in (only if that is `selector`, when given)."""
        if self._registered and (selector is None or self._selector is selector):
            try:
                self._selector.unregister(self.sock)
            except (KeyError, ValueError, OSError):
                pass
            self._registered, self._selector = 0, None

    def close(self) -> None:
        # Out of the selector first: a new connection may get the same file descriptor number.
        self.unregister()
        try:
            self.sock.close()
        except OSError:
            pass


class Drive:
    """Conversations started together. `poll()` moves them on without waiting (a caller with other
    work in between keeps the relays busy from one thread); `wait()` runs them to their ends."""

    def __init__(self, conversations: list[Generator], selector: selectors.BaseSelector | None = None):
        """`selector`: one kept by the caller across drives (per thread), so a pooled connection stays
        registered from one round to the next instead of costing two system calls per message."""
        self._conversations = conversations
        self._results: list = [None] * len(conversations)
        self._borrowed = selector is not None
        self._selector = selector if selector is not None else selectors.DefaultSelector()
        self._waiting: dict[int, tuple[Wire, float]] = {}      # conversation -> (wire, deadline)
        self._parked: dict[int, Parked] = {}
        self._holding: list[int] = []          # conversations with a connection, waiting for proceed()
        self._ended: list[int] = []            # conversations ended since the last take_ended()
        self._owner: dict[Wire, int] = {}
        self._open = True
        try:
            for index in range(len(conversations)):
                self._step(index)
        except BaseException:
            self._close()
            raise

    def poll(self) -> None:
        """Whatever has arrived or can be written now; never blocks."""
        if self._waiting:
            self._turn(0.0)

    def holding(self) -> list[int]:
        """The conversations that hold a connection and wait for `proceed()`, in the order they got one."""
        return list(self._holding)

    def proceed(self, go, withdraw=()) -> None:
        """Let the holding conversations `go` on; `withdraw` ones end without sending (Withdrawn)."""
        go, withdraw = [i for i in go if i in self._holding], [i for i in withdraw if i in self._holding]
        decided = set(go) | set(withdraw)
        self._holding = [i for i in self._holding if i not in decided]
        try:
            for index in withdraw:      # first: their connections can serve conversations still parked
                self._step(index, Withdrawn())
            for index in go:
                self._step(index)
        except BaseException:
            self._close()
            raise

    def take_ended(self) -> list[tuple[int, object]]:
        """(index, return value) of the conversations that ended since the last call."""
        ended, self._ended = self._ended, []
        return [(index, self._results[index]) for index in ended]

    def wait(self, on_hold: Callable[[list[int]], Collection[int]] | None = None) -> list:
        """Run the conversations to their ends; their return values in order. Conversations that get a
        connection meanwhile go on when `on_hold(indexes)` names them and are withdrawn otherwise (all go
        on without `on_hold`)."""
        try:
            while self._waiting or self._parked or self._holding:
                if self._holding:
                    holding = self._holding
                    allowed = set(on_hold(list(holding)) if on_hold else holding)
                    self.proceed([i for i in holding if i in allowed], [i for i in holding if i not in allowed])
                elif self._waiting:
                    now = time.monotonic()
                    self._turn(max(0.0, min(deadline for _wire, deadline in self._waiting.values()) - now))
                else:
                    self._wait_for_a_connection()
        finally:
            self._close()
        return self._results

    # --- internals ---------------------------------------------------------------------------------
    def _turn(self, timeout: float) -> None:
        try:
            for key, mask in self._selector.select(timeout):
                wire: Wire = key.data
                index = self._owner.get(wire)
                if index is None:                 # an idle pooled connection (closed by the relay?):
                    wire.unregister(self._selector)   # stop watching it; its next use finds out
                    continue
                if self._waiting.get(index, (None,))[0] is not wire:
                    continue
                try:
                    if mask & selectors.EVENT_WRITE:
                        wire.flush()
                    if mask & selectors.EVENT_READ:
                        wire.fill()
                except OSError as exc:
                    self._step(index, exc)
                    continue
                if mask & selectors.EVENT_READ or not wire.sending:
                    self._step(index)
            now = time.monotonic()
            for index, (wire, deadline) in list(self._waiting.items()):
                if deadline <= now and self._waiting.get(index, (None,))[0] is wire:
                    self._step(index, TimeoutError(f"no reply within {wire.timeout:g} s"))
        except BaseException:
            self._close()
            raise

    def _wait_for_a_connection(self) -> None:
        # Every conversation waits for a connection another thread holds.
        token = next(iter(self._parked.values()))
        with token.cond:
            token.cond.wait(0.05)
        self._wake_parked()

    def _wake_parked(self) -> None:
        wake = list(self._parked)
        self._parked.clear()
        for index in wake:
            self._step(index)

    def _forget(self, wire: Wire) -> None:
        # Only from our selector: the connection may already be back in the pool and waited on elsewhere.
        wire.unregister(self._selector)
        self._owner.pop(wire, None)

    def _step(self, index: int, error: BaseException | None = None) -> None:
        previous = self._waiting.pop(index, (None, 0.0))[0]
        conversation = self._conversations[index]
        try:
            wanted = conversation.throw(error) if error else conversation.send(None)
        except StopIteration as done:
            self._results[index] = done.value
            self._ended.append(index)
            wanted = None
        if previous is not None and previous is not wanted:
            self._owner.pop(previous, None)
            if not self._borrowed:
                self._forget(previous)
        if wanted is None:                        # it ended: a connection may have come back
            if self._parked:
                self._wake_parked()
            return
        if isinstance(wanted, Parked):
            self._parked[index] = wanted
            return
        if wanted is HOLDING:
            self._holding.append(index)
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if wanted.sending else 0)
        try:
            if wanted._selector is not self._selector:
                wanted.unregister()               # from another thread's selector, if any
                self._selector.register(wanted.sock, events, wanted)
                wanted._selector = self._selector
            elif wanted._registered != events:
                self._selector.modify(wanted.sock, events, wanted)
        except (ValueError, OSError) as exc:       # a socket closed under the conversation
            wanted._registered, wanted._selector = 0, None
            self._step(index, ConnectionLost(f"the connection is unusable ({exc})"))
            return
        wanted._registered = events
        self._owner[wanted] = index
        self._waiting[index] = (wanted, time.monotonic() + wanted.timeout)

    def _close(self) -> None:
        if self._open:
            self._open = False
            if self._borrowed:
                self._owner.clear()
                return
            for wire in list(self._owner):
                self._forget(wire)
            self._selector.close()
