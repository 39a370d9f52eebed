"""The whole Shipyard exception tree.

Every error carries a stable kebab-case ``code`` (it crosses the wire in client mode) and a
``hint`` that says what to do next::

    ShipyardError                      .code .hint
    ├── ConfigError(ValueError)        names the setting and its SHIPYARD_ variable
    ├── MissingDependencyError(ImportError)  names the extra: pip install 'shipyard[s3]'
    ├── InvalidArgumentError(ValueError)
    │   └── InvalidFilterError         a malformed search filter; points at the token
    ├── NotFoundError(LookupError)
    │   ├── ExperimentNotFoundError
    │   ├── RunNotFoundError
    │   └── ArtifactNotFoundError
    ├── AlreadyExistsError
    │   ├── ExperimentAlreadyExistsError
    │   └── ArtifactAlreadyExistsError
    ├── ConflictError                  e.g. re-logging a param with another value
    │   └── ParamConflictError
    ├── BackendError                   wraps a driver error; keeps __cause__; .backend
    │   ├── BackendUnavailableError    connection refused / timeout; .retryable
    │   └── SchemaVersionError         the database needs `shipyard db upgrade`
    └── RemoteError                    a server answered with a code this client does not know

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


class AuthenticationError(ShipyardError):
    code = "unauthenticated"


def invalid(arg: str, value: object, expected: str, *, where: str = "") -> InvalidArgumentError:
    """Build the standard "what, got, expected" argument error."""
    place = f" of {where}" if where else ""
    msg = f"The {arg!r} argument{place} must be {expected}. Got {value!r}."
    return InvalidArgumentError(msg)
