"""The whole Shipyard exception tree.

Every error carries a stable kebab-case ``code`` (it crosses the wire in client mode) and a
``hint`` that says what to do next::

    ShipyardError                      .code .hint
    ├── ConfigError(ValueError)        names the setting and its SHIPYARD_ variable
    ├── MissingDependencyError(ImportError)  names the extra: pip install 'shipyard[s3]'
    ├── InvalidArgumentError(ValueError)
    │   ├── InvalidFilterError         a malformed search filter; points at the token
    │   ├── RangeNotSatisfiableError   a byte range outside an artifact (HTTP 416)
    │   ├── SignatureError             input does not match the signature; .column .value .expected
    │   ├── PredictionError            the model itself rejected an input that passed the signature
    │   └── InvalidRuleError           a malformed promotion rule, or one naming an unknown value
    ├── NotFoundError(LookupError)
    │   ├── ExperimentNotFoundError
    │   ├── RunNotFoundError
    │   ├── ArtifactNotFoundError
    │   ├── ModelNotFoundError
    │   ├── ModelVersionNotFoundError
    │   ├── AliasNotFoundError
    │   ├── UserNotFoundError
    │   ├── MonitorNotFoundError
    │   ├── TokenNotFoundError
    │   ├── DeploymentNotFoundError
    │   └── ModelNotServedError        a model server does not serve that name
    ├── AlreadyExistsError
    │   ├── ExperimentAlreadyExistsError
    │   ├── ArtifactAlreadyExistsError
    │   ├── ModelAlreadyExistsError
    │   ├── MonitorAlreadyExistsError
    │   └── UserAlreadyExistsError
    ├── ConflictError                  e.g. re-logging a param with another value
    │   ├── ParamConflictError
    │   └── AliasConflictError         an alias moved since it was read (optimistic lock)
    ├── ModelIntegrityError            a model file's hash does not match its manifest / record
    ├── UntrustedModelError            a pickle-based model from a store that is not trusted
    ├── PromotionRejectedError         a promotion gate failed; .results holds every rule
    ├── BackendError                   wraps a driver error; keeps __cause__; .backend
    │   ├── BackendUnavailableError    connection refused / timeout; .retryable
    │   └── SchemaVersionError         the database needs `shipyard db upgrade`
    ├── RemoteError                    a server answered with a code this client does not know
    ├── OverloadedError                a model server's queue is full; .retryable (HTTP 429)
    ├── PredictionTimeoutError         a prediction did not finish within the request timeout
    ├── ModelNotReadyError             a served model is still loading or warming up
    ├── AuthenticationError            no credentials, or wrong ones (server auth)
    └── PermissionDeniedError          the caller's role or experiment permission forbids it

Classes register themselves by ``code`` (``ShipyardError.registry``) so a client can rebuild
the right class from a wire error without importing anything the server names.
"""

from __future__ import annotations

from typing import ClassVar


class ShipyardError(Exception):
    """Base of every error Shipyard raises on purpose."""

    code: ClassVar[str] = "shipyard-error"
    default_hint: ClassVar[str | None] = None
    registry: ClassVar[dict[str, type[ShipyardError]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            ShipyardError.registry[cls.code] = cls

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message

    @classmethod
    def from_code(cls, code: str, message: str, hint: str | None = None) -> ShipyardError:
        """Rebuild an error sent by a server; unknown codes become `RemoteError`."""
        klass = ShipyardError.registry.get(code)
        if klass is None:
            return RemoteError(f"[{code}] {message}", hint=hint)
        err = klass.__new__(klass)
        ShipyardError.__init__(err, message, hint=hint)
        return err


ShipyardError.registry[ShipyardError.code] = ShipyardError


class ConfigError(ShipyardError, ValueError):
    code = "config-error"


class MissingDependencyError(ShipyardError, ImportError):
    code = "missing-dependency"


class InvalidArgumentError(ShipyardError, ValueError):
    code = "invalid-argument"


class InvalidFilterError(InvalidArgumentError):
    code = "invalid-filter"


class NotFoundError(ShipyardError, LookupError):
    code = "not-found"


class ExperimentNotFoundError(NotFoundError):
    code = "experiment-not-found"


class RunNotFoundError(NotFoundError):
    code = "run-not-found"


class ArtifactNotFoundError(NotFoundError):
    code = "artifact-not-found"


class AlreadyExistsError(ShipyardError):
    code = "already-exists"


class ExperimentAlreadyExistsError(AlreadyExistsError):
    code = "experiment-already-exists"


class ArtifactAlreadyExistsError(AlreadyExistsError):
    code = "artifact-already-exists"


class ConflictError(ShipyardError):
    code = "conflict"


class ParamConflictError(ConflictError):
    code = "param-conflict"


class AliasConflictError(ConflictError):
    code = "alias-conflict"
    default_hint = ("read the alias again and retry; "
                    "`shipyard models history NAME` shows who moved it")


class ModelNotFoundError(NotFoundError):
    code = "model-not-found"
    default_hint = "list registered models with `shipyard models list`"


class ModelVersionNotFoundError(NotFoundError):
    code = "model-version-not-found"
    default_hint = "list versions with `shipyard models versions NAME`"


class AliasNotFoundError(NotFoundError):
    code = "alias-not-found"
    default_hint = "see the aliases of a model with `shipyard models show NAME`"


class ModelAlreadyExistsError(AlreadyExistsError):
    code = "model-already-exists"


class SignatureError(InvalidArgumentError):
    """Model input that does not match the model's signature.

    ``column`` names the offending column (None for a whole-input problem such as a shape),
    ``value`` is the offending value and ``expected`` what the signature wants."""

    code = "signature-mismatch"

    def __init__(self, message: str, *, hint: str | None = None, column: str | None = None,
                 value: object = None, expected: str = "") -> None:
        super().__init__(message, hint=hint)
        self.column, self.value, self.expected = column, value, expected


class InvalidRuleError(InvalidArgumentError):
    code = "invalid-rule"
    default_hint = ("write rules like \"metrics.auc >= champion.metrics.auc + 0.005\" "
                    "(names: metrics.*, params.*, tags.*, champion.*, challenger.*)")


class ModelIntegrityError(ShipyardError):
    code = "model-integrity"
    default_hint = ("the stored package was changed or corrupted after it was logged; "
                    "log the model again")


class UntrustedModelError(ShipyardError):
    code = "untrusted-model"
    default_hint = ("loading it runs code stored with the model: pass trust_pickle=True (or set "
                    "SHIPYARD_TRUST_PICKLE=true) only if you trust whoever can write that store")


class PromotionRejectedError(ShipyardError):
    """A promotion gate did not hold; ``results`` lists every rule with its values."""

    code = "promotion-rejected"

    def __init__(self, message: str, *, hint: str | None = None,
                 results: list[object] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.results = results or []


class BackendError(ShipyardError):
    code = "backend-error"

    def __init__(self, message: str, *, hint: str | None = None, backend: str = "") -> None:
        super().__init__(message, hint=hint)
        self.backend = backend


class BackendUnavailableError(BackendError):
    code = "backend-unavailable"
    retryable = True


class SchemaVersionError(BackendError):
    code = "schema-version"
    default_hint = "run `shipyard db upgrade` (it applies the migrations in place)"


class RemoteError(ShipyardError):
    code = "remote-error"


class PermissionDeniedError(ShipyardError):
    code = "permission-denied"
    default_hint = "ask an admin for the role or experiment permission this needs"


class AuthenticationError(ShipyardError):
    code = "unauthenticated"
    default_hint = ("set SHIPYARD_TRACKING_TOKEN (create one with `shipyard tokens create`), or "
                    "SHIPYARD_TRACKING_USERNAME and SHIPYARD_TRACKING_PASSWORD")


class UserNotFoundError(NotFoundError):
    code = "user-not-found"
    default_hint = "list users with `shipyard users list`"


class UserAlreadyExistsError(AlreadyExistsError):
    code = "user-already-exists"


class TokenNotFoundError(NotFoundError):
    code = "token-not-found"
    default_hint = "list tokens with `shipyard tokens list`"


class RangeNotSatisfiableError(InvalidArgumentError):
    code = "range-not-satisfiable"
    default_hint = "ask for bytes=START-END within the artifact's size (see Content-Length)"


class MonitorNotFoundError(NotFoundError):
    code = "monitor-not-found"
    default_hint = "list monitors with `shipyard monitor list`"


class MonitorAlreadyExistsError(AlreadyExistsError):
    code = "monitor-already-exists"
    default_hint = "pick another name, or delete it first with `shipyard monitor delete NAME`"


def invalid(arg: str, value: object, expected: str, *, where: str = "") -> InvalidArgumentError:
    """Build the standard "what, got, expected" argument error."""
    place = f" of {where}" if where else ""
    msg = f"The {arg!r} argument{place} must be {expected}. Got {value!r}."
    return InvalidArgumentError(msg)


# -- model serving --------------------------------------------------------------------------
class PredictionError(InvalidArgumentError):
    """The model raised on an input that matched its signature (e.g. NaN where it needs a
    number); ``message`` carries the model's own reason."""

    code = "prediction-failed"
    default_hint = "check the input values; the model's own message is above"


class DeploymentNotFoundError(NotFoundError):
    code = "deployment-not-found"
    default_hint = "list running model servers with `shipyard deployments list`"


class ModelNotServedError(NotFoundError):
    code = "model-not-served"
    default_hint = "GET /v1/models lists the models this server serves"


class OverloadedError(ShipyardError):
    code = "overloaded"
    retryable = True
    default_hint = ("retry after a moment; the operator can add workers (--workers) or raise "
                    "the queue limit (SHIPYARD_SERVE_MAX_QUEUE_ROWS)")


class PredictionTimeoutError(ShipyardError):
    code = "prediction-timeout"
    retryable = True
    default_hint = "retry, send fewer rows per request, or raise SHIPYARD_SERVE_REQUEST_TIMEOUT"


class ModelNotReadyError(ShipyardError):
    code = "model-not-ready"
    retryable = True
    default_hint = "the model is loading or warming up; GET /ready says when it is ready"
