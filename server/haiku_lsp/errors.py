"""Every exception haiku-lsp raises on purpose, in one place.

Exception hierarchy:

    HaikuError                       base class: anything below is expected and carries a message for people
      ActionError                    what the user asked cannot be done, or the model's answer was not what was
                                     asked (after one repair); the message is shown as it is; nothing applied
        SandboxUnavailable           model-written code was not run: no OS sandbox here (and the user did not
                                     opt out with the osSandbox setting); the message says why
        ToolUnavailable              a checking tool (ruff) is missing or failed to run: the check did not run
      ProviderError                  the model could not be used; `.kind` names the case (logs, messages),
        |                            `.status` is the HTTP status when there was one
        NoKeyError                   "no_key"       no ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN in the environment
        AuthError                    "auth"         401/403: the key was rejected
        RateLimitError               "rate_limit"   429
        OverloadedError              "overloaded"   529, or an `overloaded_error` event mid-stream
        UpstreamServerError          "server"       other 5xx, or an `error` event mid-stream
        BadRequestError              "bad_request"  400/404/413/422: the request itself is wrong (a bug, or a model
                                                    that does not accept a feature such as prefill)
        ProviderTimeout              "timeout"      no answer within the per-call timeout
        ProviderConnectionError      "connection"   could not connect, or the connection dropped mid-stream
        IncompleteAnswer             "incomplete"   the stream ended without `message_stop`, or was not SSE
        Refusal                      "refusal"      the model declined (`stop_reason: refusal`): nothing to use
        BudgetExceeded               "budget"       the dollar budget cap is reached
        Abandoned                    "cancelled"    nobody waits for the answer any more (a superseded completion)
      RefactorError                  a whole-file refactor step that cannot go on
        PlanError                    the planner's plan is unusable (why: the message)
        MergeConflict                two edits overlap, or a region changed after its worker saw it
        SubtaskFailed                one subtask has no usable edit (`.reviewable`, `.blocked`)

Callers catch the narrowest class that means something to them; `asyncio.CancelledError` is never
converted into any of these. `.retry_after` (seconds) is the upstream's `retry-after`, when it sent one.
`FATAL_PROVIDER_ERRORS` are the provider errors that no retry or review can
mend within one action (a refactor stops at once on them).
"""

from __future__ import annotations

__all__ = [
    "FATAL_PROVIDER_ERRORS",
    "Abandoned",
    "ActionError",
    "AuthError",
    "BadRequestError",
    "BudgetExceeded",
    "HaikuError",
    "IncompleteAnswer",
    "MergeConflict",
    "NoKeyError",
    "OverloadedError",
    "PlanError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeout",
    "RateLimitError",
    "RefactorError",
    "Refusal",
    "SandboxUnavailable",
    "SubtaskFailed",
    "ToolUnavailable",
    "UpstreamServerError",
    "provider_error_for_status",
]


class HaikuError(Exception):
    """Base class of the expected errors."""


class ActionError(HaikuError):
    """A user-facing reason why an action cannot go on; nothing was applied or cached."""


class SandboxUnavailable(ActionError):
    """Code the model wrote was not run, because no OS sandbox is available; the message says why."""


class ToolUnavailable(ActionError):
    """A checking tool is missing or could not run; the message names the tool. A check that raises it
    did not run, and its result must not be presented as checked."""


class ProviderError(HaikuError):
    """The model could not be used. Subclasses say why; `kind` is their short name."""

    kind = "provider"

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return str(self.args[0])

    def __str__(self) -> str:
        status = f" {self.status}" if self.status else ""
        return f"{self.kind}{status}: {self.args[0]}"


class NoKeyError(ProviderError):
    kind = "no_key"


class AuthError(ProviderError):
    kind = "auth"


class RateLimitError(ProviderError):
    kind = "rate_limit"


class OverloadedError(ProviderError):
    kind = "overloaded"


class UpstreamServerError(ProviderError):
    kind = "server"


class BadRequestError(ProviderError):
    kind = "bad_request"


class ProviderTimeout(ProviderError):
    kind = "timeout"


class ProviderConnectionError(ProviderError):
    kind = "connection"


class IncompleteAnswer(ProviderError):
    kind = "incomplete"


class Refusal(ProviderError):
    kind = "refusal"


class BudgetExceeded(ProviderError):
    kind = "budget"


class Abandoned(ProviderError):
    kind = "cancelled"


FATAL_PROVIDER_ERRORS: tuple[type[ProviderError], ...] = (NoKeyError, AuthError, BudgetExceeded, BadRequestError)

_BY_STATUS: dict[int, type[ProviderError]] = {
    400: BadRequestError, 401: AuthError, 403: AuthError, 404: BadRequestError, 413: BadRequestError,
    422: BadRequestError, 429: RateLimitError, 529: OverloadedError,
}


def provider_error_for_status(status: int | None, message: str, retry_after: float | None = None) -> ProviderError:
    """The error for an HTTP error status (5xx without a class of its own: server; other 4xx: bad request)."""
    cls = _BY_STATUS.get(status or 0) or (UpstreamServerError if (status or 0) >= 500 else BadRequestError)
    return cls(message, status, retry_after)


class RefactorError(HaikuError):
    """A whole-file refactor step that cannot go on."""


class PlanError(RefactorError, ValueError):
    """Why a plan is not usable (fed back to the planner once, then shown to the user)."""


class MergeConflict(RefactorError):
    """Edits overlap, or a region changed after its worker saw it."""


class SubtaskFailed(RefactorError):
    """A subtask without a usable edit. `reviewable`: another attempt with new instructions may help;
    `blocked`: it did not run because a subtask it depends on failed."""

    def __init__(self, message: str, *, reviewable: bool = True, blocked: bool = False) -> None:
        super().__init__(message)
        self.reviewable = reviewable
        self.blocked = blocked
