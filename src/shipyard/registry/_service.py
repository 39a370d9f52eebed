"""The registry service: registered models, versions, aliases, promotion gates, the audit
trail and webhooks.

It validates input, applies policy (version numbers, lineage capture, who-did-what) and
delegates storage to the `ModelStore` and `AuditStore` ports. Every change is audited; an
alias move that loses a race is audited too (``outcome: conflict``) before the error is
re-raised. Setting a tag to the value it already has changes nothing and is not audited, so
a request retried after a lost answer leaves one event.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.entities._ids import utc_now
from shipyard.entities.registry import (
    AuditEvent,
    Lineage,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
)
from shipyard.entities.tracking import Page
from shipyard.errors import (
    AliasConflictError,
    AliasNotFoundError,
    ConfigError,
    InvalidArgumentError,
    ModelAlreadyExistsError,
    ModelNotFoundError,
    PromotionRejectedError,
    invalid,
)
from shipyard.registry._gates import MissingValue, RuleResult, evaluate_rule, names_in, parse_rule
from shipyard.registry._webhooks import WebhookDispatcher
from shipyard.stores.metadata import UNSET
from shipyard.stores.registry import AuditStore, ModelStore
from shipyard.tracking._validation import normalize_tag, validate_key

if TYPE_CHECKING:
    from shipyard.config import Settings
    from shipyard.models import ModelService
    from shipyard.tracking import TrackingService

TARGET = "model"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,249}$")
_ALIAS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,249}$")
_RESERVED_ALIASES = {"latest", "candidate", "metrics", "params", "tags", "version"}
MAX_PAGE = 1000


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        err = invalid("name", name, "1-250 letters, digits, '_', '-' or '.', starting with a "
                      "letter or digit", where="the model registry")
        raise err
    return name


def _check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias) or alias in _RESERVED_ALIASES:
        err = invalid("alias", alias, "a name of letters, digits, '_' or '-' starting with a "
                      f"letter, other than {sorted(_RESERVED_ALIASES)}", where="set_alias")
        raise err
    return alias


def _check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        if isinstance(version, str) and version.isdigit() and int(version) >= 1:
            return int(version)
        err = invalid("version", version, "a positive integer", where="the model registry")
        raise err
    return version


def _clean_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    return {validate_key(k, "tag"): normalize_tag(k, v) for k, v in (tags or {}).items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class PromotionResult:
    """What `RegistryService.promote` decided: the versions involved, every rule's outcome,
    and whether the alias moved."""

    name: str
    alias: str
    candidate: int
    previous: int | None
    results: list[RuleResult] = field(default_factory=list)
    promoted: bool = False

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


class RegistryService:
    """Registered models and their versions, aliases, promotion gates and audit trail."""

    def __init__(self, store: ModelStore | None, tracking: TrackingService,
                 models: ModelService, settings: Settings) -> None:
        self._store = store
        self.tracking = tracking
        self.models = models
        self.settings = settings
        self.webhooks = WebhookDispatcher(
            settings.webhook_urls, secret=settings.webhook_secret,
            retries=settings.webhook_retries, timeout=settings.webhook_timeout)

    # -- plumbing ---------------------------------------------------------------------
    @property
    def store(self) -> ModelStore:
        if self._store is None:
            msg = "This client's metadata backend does not provide the model registry."
            raise ConfigError(msg, hint="use a SQLite or PostgreSQL metadata store")
        return self._store

    @property
    def audit(self) -> AuditStore:
        store = self.store
        if not isinstance(store, AuditStore):
            msg = "This client's metadata backend has no audit trail."
            raise ConfigError(msg, hint="use a SQLite or PostgreSQL metadata store")
        return store

    @staticmethod
    def _actor(actor: str | None) -> str | None:
        if actor is not None:
            return actor
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return None

    def _record(self, action: str, name: str, actor: str | None, **detail: Any) -> AuditEvent:
        return self.audit.record_audit_event(action=action, target_type=TARGET, target_id=name,
                                             actor=self._actor(actor), detail=detail)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver queued webhooks (up to ``timeout`` seconds)."""
        self.webhooks.close(timeout)

    # -- registered models ------------------------------------------------------------
    def create_registered_model(self, name: str, *, description: str = "",
                                tags: Mapping[str, Any] | None = None,
                                actor: str | None = None) -> RegisteredModel:
        _check_name(name)
        model = self.store.create_registered_model(
            name, description=description, tags=_clean_tags(tags), created_by=self._actor(actor))
        self._record("model.created", name, actor, description=description)
        self.webhooks.emit("model.created", {"name": name})
        return model

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.store.get_registered_model(name)

    def list_registered_models(self, *, max_results: int = 100, page_token: str | None = None,
                               offset: int | None = None) -> Page[RegisteredModel]:
        """Models by name, a page at a time: follow ``next_page_token``, or give ``offset``
        (the number of models to skip; it wins over ``page_token``)."""
        from shipyard.tracking._service import _decode_token, _encode_token

        if isinstance(max_results, bool) or not isinstance(max_results, int) or not (
                1 <= max_results <= MAX_PAGE):
            err = invalid("max_results", max_results, f"an integer in 1..{MAX_PAGE}",
                          where="list_registered_models")
            raise err
        if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int)
                                   or offset < 0):
            err = invalid("offset", offset, "an integer >= 0", where="list_registered_models")
            raise err
        offset = _decode_token(page_token) if offset is None else offset
        items = self.store.list_registered_models(max_results=max_results + 1, offset=offset)
        more = len(items) > max_results
        return Page(items=items[:max_results],
                    next_page_token=_encode_token(offset + max_results) if more else None)

    def update_registered_model(self, name: str, *, description: str,
                                actor: str | None = None, reason: str | None = None,
                                ) -> RegisteredModel:
        before = self.store.get_registered_model(name)
        model = self.store.update_registered_model(name, description=description)
        self._record("model.description_changed", name, actor, **{
            "from": before.description, "to": description, "reason": reason})
        return model

    def set_model_tag(self, name: str, key: str, value: Any, *, actor: str | None = None,
                      reason: str | None = None) -> RegisteredModel:
        tags = _clean_tags({key: value})
        current = self.store.get_registered_model(name)
        before = current.tags.get(key)
        if key in current.tags and before == tags[key]:
            return current  # nothing changes: no write, no audit event (a retried PUT)
        model = self.store.update_registered_model(name, set_tags=tags)
        self._record("model.tag_set", name, actor, key=key, reason=reason,
                     **{"from": before, "to": tags[key]})
        return model

    def delete_model_tag(self, name: str, key: str, *, actor: str | None = None,
                         reason: str | None = None) -> RegisteredModel:
        before = self.store.get_registered_model(name).tags.get(key)
        model = self.store.update_registered_model(name, delete_tags=[key])
        self._record("model.tag_deleted", name, actor, key=key, reason=reason,
                     **{"from": before, "to": None})
        return model

    def delete_registered_model(self, name: str, *, hard: bool = True,
                                actor: str | None = None, reason: str | None = None) -> None:
        """Delete a model, its versions and aliases for good (the audit trail stays).

        With ``hard=False`` the model is kept and every live version is soft-deleted instead
        (status ``deleted``, aliases removed): nothing resolves any more, but the record of
        what was registered stays readable (the server lets editors do this; hard deletion
        is for admins)."""
        model = self.store.get_registered_model(name)
        versions = [v.version for v in self.store.list_model_versions(
            name, include_deleted=hard)]
        if hard:
            self.store.delete_registered_model(name)
        else:
            at = utc_now()
            for number in versions:
                self.store.set_model_version_deleted(name, number, at=at)
        self._record("model.deleted", name, actor, versions=versions, aliases=model.aliases,
                     hard=hard, reason=reason)
        self.webhooks.emit("model.deleted", {"name": name, "hard": hard})

    # -- versions ---------------------------------------------------------------------
    def create_model_version(
        self, name: str, *, run_id: str, artifact_path: str = "model", description: str = "",
        tags: Mapping[str, Any] | None = None, actor: str | None = None,
        create_model: bool = True,
    ) -> ModelVersion:
        """Register the model package at ``runs:/<run_id>/<artifact_path>`` as the next
        version of ``name`` (created when missing and ``create_model``). The run's latest
        metrics, its datasets and code version are captured."""
        _check_name(name)
        run = self.tracking.get_run(run_id)  # an unknown run is RunNotFoundError, first
        manifest = self.models.read_manifest(run_id, artifact_path)
        signature: dict[str, Any] = {}
        if "signature.json" in manifest["files"]:
            signature = json.loads(self.tracking.read_artifact(
                run_id, f"{artifact_path}/signature.json"))
        lineage = Lineage(run_id=run.id, experiment_id=run.experiment_id,
                          datasets=tuple(self.tracking.list_inputs(run_id)),
                          git_commit=run.context.git_commit, git_dirty=run.context.git_dirty,
                          source=run.context.source)
        try:
            self.store.get_registered_model(name)
        except ModelNotFoundError:
            if not create_model:
                raise
            with contextlib.suppress(ModelAlreadyExistsError):  # registered concurrently
                self.create_registered_model(name, actor=actor)
        mv = self.store.create_model_version(
            name, run_id=run_id, artifact_path=artifact_path, flavor=manifest["flavor"],
            signature=signature, metrics={k: v for k, v in run.metrics.items() if v == v},
            tags=_clean_tags(tags), description=description, lineage=lineage,
            created_by=self._actor(actor))
        self._record("version.created", name, actor, version=mv.version, run_id=run_id,
                     artifact_path=artifact_path, flavor=mv.flavor)
        self.webhooks.emit("model_version.created", {
            "name": name, "version": mv.version, "run_id": run_id, "uri": mv.uri,
            "flavor": mv.flavor})
        return mv

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.store.get_model_version(name, _check_version(version))

    def list_model_versions(self, name: str, *,
                            include_deleted: bool = False) -> list[ModelVersion]:
        return self.store.list_model_versions(name, include_deleted=include_deleted)

    def update_model_version(self, name: str, version: int, *, description: str,
                             actor: str | None = None) -> ModelVersion:
        before = self.get_model_version(name, version)
        mv = self.store.update_model_version(name, before.version, description=description)
        self._record("version.description_changed", name, actor, version=mv.version,
                     **{"from": before.description, "to": description})
        return mv

    def set_version_tag(self, name: str, version: int, key: str, value: Any, *,
                        actor: str | None = None, reason: str | None = None) -> ModelVersion:
        tags = _clean_tags({key: value})
        before = self.get_model_version(name, version)
        if key in before.tags and before.tags[key] == tags[key]:
            return before  # nothing changes: no write, no audit event (a retried PUT)
        mv = self.store.update_model_version(name, before.version, set_tags=tags)
        self._record("version.tag_set", name, actor, version=mv.version, key=key,
                     reason=reason, **{"from": before.tags.get(key), "to": tags[key]})
        return mv

    def delete_version_tag(self, name: str, version: int, key: str, *,
                           actor: str | None = None, reason: str | None = None) -> ModelVersion:
        before = self.get_model_version(name, version)
        mv = self.store.update_model_version(name, before.version, delete_tags=[key])
        self._record("version.tag_deleted", name, actor, version=mv.version, key=key,
                     reason=reason, **{"from": before.tags.get(key), "to": None})
        return mv

    def delete_model_version(self, name: str, version: int, *, hard: bool = False,
                             actor: str | None = None, reason: str | None = None) -> None:
        """Soft-delete (status ``deleted``, kept for the record) or, with ``hard``, remove a
        version; aliases pointing at it are removed either way."""
        mv = self.get_model_version(name, version)
        if hard:
            self.store.purge_model_version(name, mv.version)
        else:
            self.store.set_model_version_deleted(name, mv.version, at=utc_now())
        self._record("version.deleted", name, actor, version=mv.version, hard=hard,
                     aliases_removed=list(mv.aliases), reason=reason)
        self.webhooks.emit("model_version.deleted", {"name": name, "version": mv.version,
                                                     "hard": hard})

    # -- aliases ----------------------------------------------------------------------
    def get_alias(self, name: str, alias: str) -> ModelAlias:
        return self.store.get_alias(name, alias)

    def find_alias(self, name: str, alias: str) -> ModelAlias | None:
        try:
            return self.store.get_alias(name, alias)
        except AliasNotFoundError:
            return None

    def list_aliases(self, name: str) -> list[ModelAlias]:
        return self.store.list_aliases(name)

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.store.get_model_version(name, self.store.get_alias(name, alias).version)

    def set_alias(self, name: str, alias: str, version: int | str, *,
                  expected_revision: int | object | None = UNSET, actor: str | None = None,
                  reason: str | None = None) -> ModelAlias:
        """Point ``alias`` at ``version``. The move is a compare-and-swap against the alias
        as read here (or ``expected_revision`` when given), so two concurrent moves never
        both succeed: the loser gets `AliasConflictError`, and both attempts are audited."""
        _check_alias(alias)
        number = _check_version(version)
        current = self.find_alias(name, alias)
        if expected_revision is UNSET:
            expected_revision = None if current is None else current.revision
        return self._move(name, alias, number, current, expected_revision, actor=actor,
                          reason=reason, action="alias.set")

    def _move(self, name: str, alias: str, version: int, current: ModelAlias | None,
              expected: int | object | None, *, actor: str | None, reason: str | None,
              action: str, **extra: Any) -> ModelAlias:
        before = None if current is None else current.version
        try:
            moved = self.store.set_alias(name, alias, version, expected_revision=expected,
                                         updated_by=self._actor(actor))
        except AliasConflictError as exc:
            self._record(action, name, actor, alias=alias, outcome="conflict",
                         reason=reason, expected_revision=expected, error=exc.message,
                         **{"from": before, "to": version}, **extra)
            raise
        self._record(action, name, actor, alias=alias, outcome="moved", reason=reason,
                     revision=moved.revision, **{"from": before, "to": version}, **extra)
        self.webhooks.emit("alias.moved", {"name": name, "alias": alias, "from": before,
                                           "to": version, "revision": moved.revision})
        return moved

    def delete_alias(self, name: str, alias: str, *, actor: str | None = None,
                     reason: str | None = None) -> None:
        current = self.store.get_alias(name, alias)
        self.store.delete_alias(name, alias, expected_revision=current.revision)
        self._record("alias.deleted", name, actor, alias=alias, reason=reason,
                     **{"from": current.version, "to": None})
        self.webhooks.emit("alias.deleted", {"name": name, "alias": alias,
                                             "from": current.version})

    # -- audit ------------------------------------------------------------------------
    def history(self, name: str, *, max_results: int = 1000) -> list[AuditEvent]:
        """Every audited change of a model (deleted models too), oldest first."""
        return self.audit.list_audit_events(TARGET, name, max_results=max_results)

    # -- promotion --------------------------------------------------------------------
    def _view(self, mv: ModelVersion) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if mv.run_id is not None:
            try:
                params = dict(self.tracking.get_run(mv.run_id).params)
            except LookupError:
                params = {}
        return {"version": mv.version, "metrics": dict(mv.metrics), "params": params,
                "tags": dict(mv.tags)}

    def evaluate_promotion(self, name: str, *, to: str, rules: Sequence[str] = (),
                           from_alias: str | None = None,
                           version: int | str | None = None) -> tuple[PromotionResult,
                                                                      ModelAlias | None]:
        """Evaluate ``rules`` for moving alias ``to`` onto the candidate (``version``, or the
        version alias ``from_alias`` points at). Moves nothing."""
        _check_alias(to)
        for rule in rules:
            parse_rule(rule)
        if (version is None) == (from_alias is None):
            msg = "Name exactly one candidate: a version, or an alias (from_alias) to promote."
            raise InvalidArgumentError(msg, hint="e.g. --from challenger, or --version 7")
        candidate = (self.get_model_version(name, version) if version is not None
                     else self.get_version_by_alias(name, from_alias))  # type: ignore[arg-type]
        current = self.find_alias(name, to)
        views: dict[str, dict[str, Any] | None] = {"candidate": self._view(candidate)}
        for alias in self.store.list_aliases(name):
            views[alias.alias] = self._view(self.store.get_model_version(name, alias.version))
        views.setdefault(to, None)
        if from_alias:
            views.setdefault(from_alias, views["candidate"])

        def resolve(path: tuple[str, ...]) -> Any:
            root, rest = path[0], path[1:]
            if root in ("metrics", "params", "tags", "version"):
                root, rest = "candidate", path
            if root not in views:
                raise MissingValue(".".join(path), f"({root!r} is not an alias of {name!r})")
            view = views[root]
            if view is None:
                raise MissingValue(".".join(path), f"(alias {root!r} points at no version)")
            value: Any = view
            for i, part in enumerate(rest):
                if not isinstance(value, dict) or part not in value:
                    where = f"version {view['version']}"
                    raise MissingValue(".".join(path),
                                       f"is not set on {where}" if i else "is not readable")
                value = value[part]
            if isinstance(value, dict):
                raise MissingValue(".".join(path), "names a group, not a value")
            return value

        results = []
        for rule in rules:
            if current is None and to in names_in(rule):
                results.append(RuleResult(rule=rule, passed=True, skipped=True,
                                          detail=f"skipped: alias {to!r} is not set yet"))
                continue
            results.append(evaluate_rule(rule, resolve))
        result = PromotionResult(name=name, alias=to, candidate=candidate.version,
                                 previous=None if current is None else current.version,
                                 results=results)
        return result, current

    def promote(self, name: str, *, to: str, rules: Sequence[str] = (),
                from_alias: str | None = None, version: int | str | None = None,
                actor: str | None = None, reason: str | None = None) -> PromotionResult:
        """Move alias ``to`` onto the candidate only if every rule holds.

        Raises `PromotionRejectedError` (with ``results``) when a rule fails and
        `AliasConflictError` when the alias moved while the rules were evaluated; both
        outcomes, and success, are audited."""
        result = self.try_promote(name, to=to, rules=rules, from_alias=from_alias,
                                  version=version, actor=actor, reason=reason)
        if not result.promoted:
            raise rejected(result)
        return result

    def try_promote(self, name: str, *, to: str, rules: Sequence[str] = (),
                    from_alias: str | None = None, version: int | str | None = None,
                    actor: str | None = None, reason: str | None = None) -> PromotionResult:
        """`promote`, except that a failing rule is an outcome (``promoted`` and ``passed``
        false, audited as ``rejected``) rather than an error: the server answers it as a
        result table. `AliasConflictError` is still raised."""
        result, current = self.evaluate_promotion(name, to=to, rules=rules,
                                                  from_alias=from_alias, version=version)
        table = [{"rule": r.rule, "passed": r.passed, "left": r.left, "right": r.right,
                  "detail": r.detail} for r in result.results]
        if not result.passed:
            self._record("alias.promoted", name, actor, alias=to, outcome="rejected",
                         reason=reason, rules=table, from_alias=from_alias,
                         **{"from": result.previous, "to": result.candidate})
            return result
        self._move(name, to, result.candidate, current,
                   None if current is None else current.revision, actor=actor, reason=reason,
                   action="alias.promoted", rules=table, from_alias=from_alias)
        return PromotionResult(name=name, alias=to, candidate=result.candidate,
                               previous=result.previous, results=result.results,
                               promoted=True)


def rejected(result: PromotionResult) -> PromotionRejectedError:
    """The error `RegistryService.promote` raises for a promotion whose rules failed."""
    failed = [r.rule for r in result.results if not r.passed]
    msg = (f"Promotion of {result.name!r} version {result.candidate} to {result.alias!r} was "
           f"rejected: {len(failed)} of {len(result.results)} rule(s) failed: "
           f"{'; '.join(failed)}.")
    return PromotionRejectedError(msg, results=list(result.results))
