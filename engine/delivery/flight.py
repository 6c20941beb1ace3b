"""A round with the relays as the delivery runner drives it: a message is handed over only on a connection.

The runner renders a round and starts it (`transport.start_many()`). Each message first gets a relay
connection and then holds it, writing nothing of the message (a relay that pipelines gets its envelope
ahead: engine/delivery/smtp_transaction.announce), until the runner lets it go. The
hand-over mark (the Message-ID in the message's ledger row, engine/delivery/ledger.hand_over) is
committed for exactly the messages that hold a connection, and only then do they go on. A message that
had to wait for a connection (a round larger than the relay's `max_connections`) is handed over when it
gets one, in a commit that also stores the replies received so far. So the rows handed over and not yet
answered in the database are never more than the connections the worker holds: a killed worker leaves
at most one `unknown` per connection it had open, and the rest of its round, never handed over, goes
back to `pending`.

`OneByOne` gives a transport that sends one message at a time (a wrapper in a test) the same interface
as engine/delivery/smtp_wire.Drive.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from engine.delivery import ledger
from engine.delivery.compose import OutgoingMessage
from engine.delivery.smtp_transaction import Envelope, SendResult


@dataclass
class Item:
    """One ledger row on its way: rendered, handed over, then answered by the relay."""

    row_id: int
    campaign_id: int
    subscriber_id: int
    attempts: int
    message: OutgoingMessage | None = None

    def outcome(self, state: str, error: str = "", *, attempted: bool = True) -> ledger.Outcome:
        return ledger.Outcome(self.row_id, self.campaign_id, self.attempts, state, error, attempted)

    def envelope(self) -> Envelope:
        # Composed messages have CRLF line ends and no line starting with ".": no scan on the way out.
        m = self.message
        return Envelope(m.envelope_from, m.recipient, m.data, wire_safe=True)


class Flight:
    """One round started on the transport: which of its messages are handed over, which replies were taken."""

    def __init__(self, items: list[Item], round_, message_id_parts: tuple[str, str]):
        self.items = items
        self.round = round_               # smtp_wire.Drive or OneByOne
        self._prefix, self._suffix = message_id_parts
        self._handed_over: set[int] = set()    # item indexes
        self._settled: set[int] = set()        # item indexes answered or withdrawn

    def poll(self) -> None:
        self.round.poll()

    def holding(self) -> tuple[list[int], ledger.HandOver]:
        """The messages that hold a connection now, and the hand-over mark to commit before they go on."""
        indexes = self.round.holding()
        return indexes, self.hand_over(indexes)

    def hand_over(self, indexes: list[int]) -> ledger.HandOver:
        return ledger.HandOver({self.items[i].row_id: self.items[i].subscriber_id for i in indexes},
                               self._prefix, self._suffix, self.items[0].campaign_id if self.items else 0)

    def allowed(self, indexes: list[int], held_rows: set[int]) -> list[int]:
        """Of the holding messages, those whose rows this worker still holds (their mark is committed); the
        others will be withdrawn."""
        go = [i for i in indexes if self.items[i].row_id in held_rows]
        self._handed_over.update(go)
        self._settled.update(i for i in indexes if i not in go)
        return go

    def let_go(self, indexes: list[int], held_rows: set[int]) -> None:
        go = self.allowed(indexes, held_rows)
        self.round.proceed(go, [i for i in indexes if i not in go])

    def replies(self) -> list[tuple[Item, SendResult]]:
        """The replies that came in since the last call (a withdrawn message has none)."""
        answered = []
        for index, result in self.round.take_ended():
            self._settled.add(index)
            if result is not None:
                answered.append((self.items[index], result))
        return answered

    def unsettled(self, error: str) -> list[ledger.Outcome]:
        """After the transport failed: the handed-over messages may have gone out (`unknown`); the others
        never reached a relay and are tried again later."""
        return [item.outcome(ledger.UNKNOWN, error) if i in self._handed_over else
                item.outcome(ledger.RETRY, error, attempted=False)
                for i, item in enumerate(self.items) if i not in self._settled]


class OneByOne:
    """A round for a transport that sends one message at a time and returns its result: every message holds
    its "connection" at once and is sent, in order, when it is let go."""

    def __init__(self, send: Callable[[Envelope], SendResult], envelopes: Sequence[Envelope]):
        self._send = send
        self._envelopes = list(envelopes)
        self._results: list[SendResult | None] = [None] * len(self._envelopes)
        self._holding = list(range(len(self._envelopes)))
        self._ended: list[int] = []

    def holding(self) -> list[int]:
        return list(self._holding)

    def proceed(self, go, withdraw=()) -> None:
        go, withdraw = [i for i in go if i in self._holding], [i for i in withdraw if i in self._holding]
        self._holding = [i for i in self._holding if i not in go and i not in withdraw]
        for index in sorted(go):
            self._results[index] = self._send(self._envelopes[index])
        self._ended += sorted({*go, *withdraw})

    def take_ended(self) -> list[tuple[int, SendResult | None]]:
        ended, self._ended = self._ended, []
        return [(index, self._results[index]) for index in ended]

    def poll(self) -> None:
        pass

    def wait(self, on_hold: Callable[[list[int]], Sequence[int]] | None = None) -> list[SendResult | None]:
        if self._holding:
            allowed = set(on_hold(self.holding()) if on_hold else self._holding)
            self.proceed([i for i in self._holding if i in allowed], [i for i in self._holding if i not in allowed])
        return self._results
