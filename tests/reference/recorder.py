"""Plays the example scenario (scenario.py) against a live engine and records each request and answer.

A step is a `Call` (one /api.php request through the Flask test client) or a `Hook` (something a
client cannot do over /api.php: create the first administrator, run the scheduler's tick, read the
code a test relay received). Values a step saves are used by later steps as `{NAME}` in parameter
names and values. Values that change from run to run (session IDs, API keys, secrets, mailed codes)
are saved with `hide`: wherever they appear in a recorded request or answer they read `$NAME`, so the
recording is the same every run and reads like the README's shell session.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from protocol.registry import COMMANDS
from tests.helpers import DISPATCHER_CODES, codes

PLACEHOLDER = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")


@dataclass(frozen=True)
class Call:
    command: str
    params: dict = field(default_factory=dict)
    session: str | None = "SID"                     # the saved value sent as SessionID; None: no credentials
    save: dict = field(default_factory=dict)        # NAME → path in the answer ("UserInfo.UserID", "Rows.0.ID")
    hide: dict = field(default_factory=dict)        # the same, for values that differ every run; a
                                                    # (path, regex) pair hides only the regex's group 1
    expect: int | None = None                       # None: must succeed; a code: the documented failure
    note: str = ""                                  # shown above the example (why it is a failure)
    setup: bool = False                             # prepares state; not part of the reference


@dataclass(frozen=True)
class Hook:
    """A step outside /api.php; returns values to save (`hide` names the run-dependent ones)."""
    run: Callable[["Recording"], dict]
    hide: tuple[str, ...] = ()


class Recording:
    def __init__(self, client, engine, smtp=None):
        self.client, self.engine, self.smtp = client, engine, smtp
        self.values: dict[str, Any] = {}
        self.masks: dict[str, str] = {}             # a run-dependent string → "$NAME"
        self.examples: list[dict] = []

    def play(self, steps) -> list[dict]:
        for number, step in enumerate(steps, 1):
            try:
                self._hook(step) if isinstance(step, Hook) else self._call(step)
            except Exception as exc:
                raise AssertionError(f"scenario step {number} ({_label(step)}) failed: {exc}") from exc
        return self.examples

    def _hook(self, hook: Hook) -> None:
        for name, value in hook.run(self).items():
            self.values[name] = value
            if name in hook.hide:
                self._mask_value(name, value)

    def _call(self, call: Call) -> None:
        request = {"Command": call.command}
        if call.session:
            request["SessionID"] = self.values[call.session]
        request.update({self._fill(k): self._fill(v) for k, v in call.params.items()})
        response = self.client.post("/api.php", data=request)
        assert response.status_code == 200 and response.mimetype == "application/json", response.data[:300]
        answer = response.get_json()
        if call.expect is None:
            assert answer["Success"] is True, answer
        else:
            assert answer["Success"] is False and call.expect in codes(answer), answer
            table = COMMANDS[call.command.lower()].errors
            assert all(c in table or c in DISPATCHER_CODES for c in codes(answer)), answer
        for name, path in call.save.items():
            self.values[name] = dig(answer, path)
        for name, where in call.hide.items():
            self.values[name] = dig_part(answer, *where) if isinstance(where, tuple) else dig(answer, where)
            self._mask_value(name, self.values[name])
        if not call.setup:
            example = {"command": call.command, "request": self._masked(request), "answer": self._masked(answer)}
            if call.note:
                example["note"] = call.note
            self.examples.append(example)

    def _fill(self, value):
        if isinstance(value, list):
            return [self._fill(v) for v in value]
        return PLACEHOLDER.sub(lambda m: str(self.values[m.group(1)]), str(value))

    def _mask_value(self, name: str, value) -> None:
        assert isinstance(value, str) and len(value) >= 6, f"{name}: only long strings are masked, not {value!r}"
        self.masks[value] = f"${name}"

    def _masked(self, value):
        if isinstance(value, dict):
            return {k: self._masked(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._masked(v) for v in value]
        if isinstance(value, str):
            # Longest first: an API key contains its own KeyPrefix.
            for real in sorted(self.masks, key=len, reverse=True):
                value = value.replace(real, self.masks[real])
        return value


def dig(answer: dict, path: str):
    value = answer
    try:
        for part in path.split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
    except (KeyError, IndexError, ValueError, TypeError):
        raise AssertionError(f"the answer has no {path}: {answer}") from None
    return value


def dig_part(answer: dict, path: str, pattern: str) -> str:
    """The part of the answer's text at `path` that `pattern`'s group 1 matches (a link's random token)."""
    text = dig(answer, path)
    match = re.search(pattern, text) if isinstance(text, str) else None
    assert match, f"{path} of the answer does not match {pattern}: {text!r}"
    return match.group(1)


def _label(step) -> str:
    return step.command if isinstance(step, Call) else getattr(step.run, "__name__", "hook")
