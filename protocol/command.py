"""What a command is: a declarative spec the dispatcher executes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from engine.accounts.auth import Actor
from engine.errors import AccountNotActive
from engine.uow import UnitOfWork

# Who may call a command.
PUBLIC = "public"  # anyone; credentials, when valid, are still resolved
USER = "user"      # a user (session or API key)
ADMIN = "admin"    # an administrator
ANY = "any"        # a user or an administrator

# How a command's errors look on the wire (legacy-api-campaign-commands.md / protocol.md §1.6).
SCALAR = "scalar"  # "ErrorCode": 1
LIST = "list"      # "ErrorCode": [1], "ErrorText": ["..."]
KEYED = "keyed"    # "ErrorCode": {"campaigns": 1}
# SCALAR plus the v1 REST pages' "Errors": [{"Code": 1, "Message": "..."}] (the export and stats pages).
ERRORS = "errors"
# LIST whose missing-parameter codes are the parameter's lower-case name, as the v5.9.4 autoresponder
# pages document them: "ErrorCode": ["subscriberlistid"] or [6], "ErrorText": ["..."].
NAMED = "named"
# LIST with the /api/v1 envelope beside it, as the v5.9.4 journey pages document their errors:
# "ErrorCode": [4, 5], "ErrorText": [...], "Errors": [{"Code": 4, "Message": "..."}, ...].
V1 = "v1"


# The permissions users' commands require, lower-case name → canonical spelling. protocol/registry.py
# fills it when it builds the command table (UserGroup.Create/Update check names against it); kept here,
# beside Command, so the command modules never import the registry that imports them.
REQUIRED_PERMISSIONS: dict[str, str] = {}


@dataclass
class Context:
    uow: UnitOfWork
    actor: Actor | None
    ip: str
    params: dict  # every request parameter, keys lower-cased

    @property
    def now(self):
        return self.uow.clock()


@dataclass(frozen=True)
class Command:
    name: str
    run: Callable[[Context, dict], dict]
    params: type | None = None
    errors: Mapping[int, str] = field(default_factory=dict)
    raises: Mapping[type[Exception], int] = field(default_factory=dict)
    auth: str = USER
    # The group permission the caller needs; defaults to the command name, "" for none.
    permission: str | None = None
    error_shape: str = LIST
    error_text_key: str = "ErrorText"
    # KEYED / NAMED shapes (and SCALAR ones whose page names missing parameters): the lower-case parameter
    # name each code is reported under (as) on the wire.
    error_keys: Mapping[int, str] = field(default_factory=dict)
    # Keys every successful answer carries besides Success/ErrorCode (e.g. "ErrorText": "").
    success_extra: Mapping[str, Any] = field(default_factory=dict)
    # Parameters the handler reads outside the schema (name pattern → meaning), e.g. CustomField<ID>;
    # the generated reference lists them beside the declared ones.
    extra_params: Mapping[str, str] = field(default_factory=dict)
    # PUBLIC commands: the IDs of the lists a call acts on, from its loaded parameters. A caller whose valid
    # credentials own every one of them (an account's own integration), or an administrator, skips the
    # per-IP limit; everyone else is counted. None (logins): every call is counted, credentials or not.
    rate_limit_owner_lists: Callable[[dict], list[int]] | None = None
    # The modern Campaign API's rule ("accessible only when email account status = ACTIVE"): the
    # dispatcher checks the caller's account before running; `raises` must map AccountNotActive.
    requires_active_account: bool = False
    # The command only reads: its transaction starts as a reader (on SQLite it neither waits for nor holds
    # up writers) and ends without a commit unless something was written after all.
    read_only: bool = False

    def __post_init__(self):
        if self.requires_active_account and self.code_for(AccountNotActive()) is None:
            raise RuntimeError(f"{self.name} requires an ACTIVE account but has no code for AccountNotActive")

    @property
    def required_permission(self) -> str:
        return self.name if self.permission is None else self.permission

    def code_for(self, exc: Exception) -> int | None:
        for cls in type(exc).__mro__:
            if cls in self.raises:
                return self.raises[cls]
        return None
