"""The monitoring service: monitors over a model's prediction log, evaluated in fixed windows.

``run`` evaluates every window that has ended since the last one (one read of the window's
hour partitions; drift, prediction drift, data quality and performance from that one
frame), stores the window's summary and flat values, recomputes the performance of recent
windows as late labels arrive, then evaluates the rules on the latest values and moves the
alerts: an incident opens (one POST) when a rule starts to hold, stays open without new
messages while it holds, and resolves (one POST) when it stops. A rule that fires again
within the cool-down after the last message is recorded but not sent.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shipyard.entities._ids import from_ms, to_ms, utc_now
from shipyard.entities.monitoring import Alert, AlertState, Monitor, MonitorResult, MonitorValue
from shipyard.errors import (
    ArtifactNotFoundError,
    ConfigError,
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    invalid,
)
from shipyard.monitoring._alerts import AlertNotifier
from shipyard.monitoring._config import MonitorConfig, parse_duration
from shipyard.monitoring._deps import need
from shipyard.monitoring._rules import RuleOutcome, check_rule, evaluate

if TYPE_CHECKING:
    from shipyard.config import Settings
    from shipyard.models import ModelService
    from shipyard.monitoring._reference import ReferenceProfile
    from shipyard.monitoring._report import MonitoringReport
    from shipyard.registry import RegistryService
    from shipyard.stores.artifacts import ArtifactStore
    from shipyard.stores.monitoring import MonitorStore
    from shipyard.tracking import TrackingService

log = logging.getLogger("shipyard.monitoring")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,249}$")
MAX_WINDOWS_PER_RUN = 168
MIN_WINDOW_SECONDS = 1
MAX_WINDOW_SECONDS = 3660 * 86400
"""Ten years: a window is a whole number of seconds, and at most this long."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
REPORT_HISTORY = 168
"""Windows of performance history a window's report charts (a week of hourly windows)."""
MAX_REPORT_BACK = 100_000
VOLUME_HISTORY = 24
PREFIX = "monitoring"


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowOutcome:
    """What one run did for one monitor."""

    monitor: str
    windows: list[tuple[datetime, datetime]] = field(default_factory=list)
    refreshed: list[datetime] = field(default_factory=list)
    rules: list[RuleOutcome] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    error: str | None = None


class MonitoringService:
    """Create monitors, run their due windows, and read results and alerts."""

    def __init__(self, store: MonitorStore | None, artifacts: ArtifactStore, *,
                 models: ModelService, registry: RegistryService, tracking: TrackingService,
                 settings: Settings, notifier: AlertNotifier | None = None) -> None:
        self._store = store
        self.artifacts = artifacts
        self.models = models
        self.registry = registry
        self.tracking = tracking
        self.settings = settings
        self.notifier = notifier or AlertNotifier(
            secret=settings.webhook_secret, retries=settings.webhook_retries,
            timeout=settings.webhook_timeout, backoff=settings.webhook_backoff)
        self._profiles: dict[tuple[str, str], ReferenceProfile] = {}

    @property
    def store(self) -> MonitorStore:
        if self._store is None:
            msg = "This client's metadata backend keeps no monitors."
            raise ConfigError(msg, hint="run `shipyard monitor` against a SQLite or PostgreSQL "
                                        "metadata store (on the server host in client mode)")
        return self._store

    # -- monitors -------------------------------------------------------------------------
    def create_monitor(self, name: str, *, model: str, window: str | float = "1h",
                       rules: Sequence[str] = (), webhooks: Sequence[str] = (),
                       start: datetime | None = None, reference: Any = None,
                       created_by: str | None = None, **options: Any) -> Monitor:
        """Create a monitor of ``model`` (``models:/NAME@ALIAS`` or ``models:/NAME/N``).

        ``window``: a duration (``"1h"``, ``"15m"``, seconds). ``rules``: e.g.
        ``"drift_share > 0.3"``. ``webhooks``: URLs that get alert messages. ``start``: where
        the first window starts (default: the start of the window containing now).
        ``reference``: data (DataFrame or file) to compare with instead of the version's
        stored reference profile. ``options``: see `MonitorConfig`."""
        if not isinstance(name, str) or not _NAME_RE.match(name):
            expected = "1-250 letters, digits, '_', '-' or '.', starting with a letter or digit"
            err = invalid("name", name, expected, where="create_monitor")
            raise err
        uri = self._check_model_uri(model)
        seconds = int(parse_duration(window, what="window"))
        if not MIN_WINDOW_SECONDS <= seconds <= MAX_WINDOW_SECONDS:
            err = invalid("window", window, f"between {MIN_WINDOW_SECONDS} second and "
                          f"{MAX_WINDOW_SECONDS // 86400} days", where="create_monitor")
            raise err
        if start is not None and not _in_range(start):
            err = invalid("start", start.isoformat(), "an aware datetime (e.g. UTC) from "
                          "1970 to 9998", where="create_monitor")
            raise err
        clean_rules = [check_rule(r) for r in rules]
        hooks = [self._check_url(u) for u in webhooks]
        opts = {"cooldown_seconds": self.settings.monitoring_cooldown,
                "label_horizon_seconds": self.settings.monitoring_label_horizon, **options}
        step = seconds * 1000
        begin = to_ms(start) if start is not None else to_ms(utc_now()) // step * step
        opts["start_ms"] = begin
        config = MonitorConfig.from_dict(opts)
        if reference is not None:
            from shipyard.monitoring._reference import ReferenceProfile

            profile = ReferenceProfile.load(reference, categorical=config.categorical)
            key = f"{PREFIX}/{name}/reference.json"
            self._put_json(key, profile.to_dict())
            config = MonitorConfig.from_dict({**config.to_dict(), "reference": key})
        monitor = Monitor(name=name, model_uri=uri, window_seconds=seconds,
                          rules=tuple(clean_rules), webhooks=tuple(hooks),
                          config=config.to_dict(), created_at=utc_now(), created_by=created_by)
        return self.store.create_monitor(monitor)

    def get_monitor(self, name: str) -> Monitor:
        return self.store.get_monitor(name)

    def list_monitors(self) -> list[Monitor]:
        return self.store.list_monitors()

    def update_monitor(self, name: str, *, rules: Sequence[str] | None = None,
                       webhooks: Sequence[str] | None = None, enabled: bool | None = None,
                       **options: Any) -> Monitor:
        """Change rules, webhooks, enabled, or options (merged into the config)."""
        current = self.store.get_monitor(name)
        kwargs: dict[str, Any] = {}
        if rules is not None:
            kwargs["rules"] = [check_rule(r) for r in rules]
        if webhooks is not None:
            kwargs["webhooks"] = [self._check_url(u) for u in webhooks]
        if enabled is not None:
            kwargs["enabled"] = bool(enabled)
        if options:
            kwargs["config"] = MonitorConfig.from_dict({**current.config, **options}).to_dict()
        return self.store.update_monitor(name, **kwargs)

    def delete_monitor(self, name: str) -> None:
        """Remove a monitor, its results, alerts and stored profiles. Idempotent."""
        self.store.delete_monitor(name)
        self.artifacts.delete_prefix(f"{PREFIX}/{name}/")

    @staticmethod
    def _check_model_uri(uri: str) -> str:
        from shipyard.models import parse_model_uri

        parsed = parse_model_uri(uri)
        if parsed.kind != "registry":
            msg = (f"A monitor watches a registered model's prediction log; {uri!r} is not a "
                   "models:/ URI.")
            raise InvalidArgumentError(msg, hint="use models:/NAME@ALIAS or models:/NAME/VERSION")
        return uri

    @staticmethod
    def _check_url(url: str) -> str:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            expected = "an http:// or https:// URL"
            err = invalid("webhook", url, expected, where="a monitor")
            raise err
        return url

    # -- reading results ------------------------------------------------------------------
    def list_results(self, name: str, *, start: datetime | None = None,
                     end: datetime | None = None, max_results: int = 1000) -> list[MonitorResult]:
        self.store.get_monitor(name)
        return self.store.list_monitor_results(name, start=start, end=end,
                                               max_results=max_results)

    def get_values(self, name: str, keys: Sequence[str] | None = None, *,
                   start: datetime | None = None, end: datetime | None = None,
                   max_results: int = 10_000) -> list[MonitorValue]:
        self.store.get_monitor(name)
        return self.store.get_monitor_values(name, keys, start=start, end=end,
                                             max_results=max_results)

    def latest_values(self, name: str) -> dict[str, MonitorValue]:
        self.store.get_monitor(name)
        return self.store.latest_monitor_values(name)

    def report(self, name: str, window: datetime | int | None = None) -> MonitoringReport:
        """The report of one evaluated window, rebuilt from what the monitor stored for it
        (no data is read again): drift, data quality, prediction drift and performance of
        the window, with the performance of up to `REPORT_HISTORY` windows up to it.

        ``window``: the window's start (an aware datetime), or how many windows back from
        the latest (``0``, the default, is the latest). Raises `NotFoundError` when the
        monitor, or that window, does not exist, `InvalidArgumentError` for a naive
        datetime or a negative count. ``.to_html()`` / ``.to_dict()`` on the result."""
        from shipyard.monitoring._report import MonitoringReport

        monitor = self.store.get_monitor(name)
        chosen = self._window_result(monitor, 0 if window is None else window)
        start, end = chosen.window_start, chosen.window_end
        s = chosen.summary
        title = (f"{name}: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC "
                 f"({s.get('rows', 0):,} rows)")
        return MonitoringReport.from_summary(s, title=title,
                                             history=self._history(monitor, start))

    def _window_result(self, monitor: Monitor, window: datetime | int) -> MonitorResult:
        if isinstance(window, datetime):
            if not _in_range(window):
                err = invalid("window", window.isoformat(), "an aware datetime (e.g. UTC) "
                              "from 1970 to 9998, the start of an evaluated window",
                              where="report")
                raise err
            found = self.store.list_monitor_results(
                monitor.name, start=window, end=from_ms(to_ms(window) + 1), max_results=1)
            if found:
                return found[0]
            latest = self.store.list_monitor_results(monitor.name, max_results=3)
            starts = [r.window_start.isoformat() for r in reversed(latest)]
            msg = (f"Monitor {monitor.name!r} has no evaluated window starting at "
                   f"{window.isoformat()}.")
            raise NotFoundError(msg, hint=f"the latest windows start at {starts}" if starts
                                else f"run it: `shipyard monitor run {monitor.name}`")
        if isinstance(window, bool) or not isinstance(window, int) or not (
                0 <= window < MAX_REPORT_BACK):
            err = invalid("window", window, f"a window start (datetime) or a count of windows "
                          f"back from the latest, 0 to {MAX_REPORT_BACK - 1}", where="report")
            raise err
        found = self.store.list_monitor_results(monitor.name, max_results=1,
                                                skip_newest=window)
        if not found:
            count = len(self.store.list_monitor_results(monitor.name, max_results=window))
            msg = (f"Monitor {monitor.name!r} has {count} evaluated windows; there is no "
                   f"window {window} back from the latest.")
            raise NotFoundError(msg, hint=f"run it: `shipyard monitor run {monitor.name}`"
                                if not count else "use a smaller count")
        return found[0]

    def _history(self, monitor: Monitor, until: datetime) -> list[dict[str, Any]]:
        """Performance values of the windows up to ``until`` (inclusive), oldest first."""
        from shipyard.monitoring._report import HISTORY_KEYS

        step = monitor.window_seconds * 1000
        since = from_ms(to_ms(until) - (REPORT_HISTORY - 1) * step)
        points = self.store.get_monitor_values(monitor.name, list(HISTORY_KEYS), start=since,
                                               end=from_ms(to_ms(until) + 1))
        rows: dict[int, dict[str, Any]] = {}
        for p in points:
            ms = to_ms(p.window_start)
            rows.setdefault(ms, {"window_start": ms})[p.key] = p.value
        return [rows[ms] for ms in sorted(rows)]

    def list_alerts(self, name: str | None = None, *, state: str | AlertState | None = None,
                    max_results: int = 100) -> list[Alert]:
        """Alert history, newest first (all monitors, or one)."""
        if name is not None:
            self.store.get_monitor(name)
        st = None if state is None else AlertState(state)
        return self.store.list_alerts(name, state=st, max_results=max_results)

    # -- feedback -----------------------------------------------------------------------
    def log_feedback(self, model: str, data: Any) -> list[str]:
        """Append labels (``request_id``, ``label``, optional ``row`` and ``timestamp``) to
        the feedback log of a model, e.g. from a file; returns the keys written."""
        from shipyard.monitoring._log import FEEDBACK, write_log

        return write_log(self.artifacts, FEEDBACK, model, data)

    # -- running ----------------------------------------------------------------------------
    def run(self, name: str | None = None, *, now: datetime | None = None,
            max_windows: int = MAX_WINDOWS_PER_RUN) -> list[WindowOutcome]:
        """Evaluate the due windows of one monitor (or every enabled one), refresh recent
        performance, evaluate rules and send alerts. A monitor that fails does not stop the
        others (its ``error`` says why)."""
        at = now or utc_now()
        monitors = [self.store.get_monitor(name)] if name else [
            m for m in self.store.list_monitors() if m.enabled]
        out = []
        for monitor in monitors:
            try:
                out.append(self._run_one(monitor, at, max_windows))
            except ConflictError as exc:
                out.append(WindowOutcome(monitor=monitor.name, error=exc.message))
            except Exception as exc:
                if name:
                    raise
                log.exception("monitor %s failed", monitor.name)
                out.append(WindowOutcome(monitor=monitor.name, error=f"{type(exc).__name__}: "
                                                                       f"{exc}"))
        return out

    def due_windows(self, monitor: Monitor, now: datetime, *,
                    max_windows: int = MAX_WINDOWS_PER_RUN) -> list[tuple[int, int]]:
        """The complete windows after the last evaluated one, oldest first."""
        step = monitor.window_seconds * 1000
        cfg = MonitorConfig.from_dict(monitor.config)
        begin = (to_ms(monitor.last_window_end) if monitor.last_window_end is not None
                 else cfg.start_ms if cfg.start_ms is not None
                 else to_ms(monitor.created_at) // step * step)
        limit = to_ms(now)
        out: list[tuple[int, int]] = []
        while begin + step <= limit and len(out) < max_windows:
            out.append((begin, begin + step))
            begin += step
        return out

    def _run_one(self, monitor: Monitor, now: datetime, max_windows: int) -> WindowOutcome:
        outcome = WindowOutcome(monitor=monitor.name)
        previous = monitor.last_window_end
        for start, end in self.due_windows(monitor, now, max_windows=max_windows):
            summary, values = self.evaluate_window(monitor, start, end, now=now)
            self.store.log_monitor_result(MonitorResult(
                monitor=monitor.name, window_start=from_ms(start),  # type: ignore[arg-type]
                window_end=from_ms(end), computed_at=utc_now(),  # type: ignore[arg-type]
                summary=summary), values)
            new_end = from_ms(end)
            self.store.update_monitor(monitor.name, last_window_end=new_end,
                                      expected_window_end=previous)
            previous = new_end
            outcome.windows.append((from_ms(start), new_end))  # type: ignore[arg-type]
        monitor = self.store.get_monitor(monitor.name)
        done = {start for start, _ in outcome.windows}
        outcome.refreshed.extend(self._refresh_performance(monitor, now, skip=done))
        rules, alerts = self._evaluate_rules(monitor, now)
        outcome.rules.extend(rules)
        outcome.alerts.extend(alerts)
        return outcome

    # -- one window -------------------------------------------------------------------------
    def evaluate_window(self, monitor: Monitor, start_ms: int, end_ms: int, *,
                        now: datetime | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Compute one window: (summary JSON, flat values)."""
        from shipyard.monitoring._log import PREDICTIONS, read_log, split_columns

        cfg = MonitorConfig.from_dict(monitor.config)
        model = self._model_name(monitor)
        frame = read_log(self.artifacts, PREDICTIONS, model, start_ms, end_ms)
        version, frame, versions = self._pick_version(monitor, frame)
        summary: dict[str, Any] = {
            "window": {"start": start_ms, "end": end_ms},
            "model": {"uri": monitor.model_uri, "version": version, "versions": versions},
            "rows": len(frame)}
        values: dict[str, Any] = {"rows": float(len(frame))}
        expected = cfg.expected_rows or self._expected_rows(monitor, start_ms)
        if not len(frame):  # nothing to compare: only the volume speaks
            summary["note"] = "no predictions in this window"
            values["volume_ratio"] = 0.0 if expected else None
            return summary, values
        inputs, outputs = split_columns(frame)
        profile = self._reference(monitor, cfg, version)
        mv = self._version(monitor, version)
        if profile is not None and len(frame):
            drift = self._drift(profile, inputs, cfg)
            if drift is not None:
                summary["drift"] = drift.to_dict()
                values.update(drift.values())
        from shipyard.monitoring._quality import quality_report

        quality = quality_report(inputs, reference=profile,
                                 signature=mv.signature if mv is not None else None,
                                 expected_rows=expected,
                                 thresholds=cfg.quality_thresholds,
                                 categorical=cfg.categorical)
        summary["quality"] = quality.to_dict()
        values.update(quality.values())
        if len(outputs.columns) and len(frame):
            pred = self._prediction_drift(monitor, cfg, outputs)
            if pred is not None:
                summary["prediction_drift"] = pred.to_dict()
                values.update(pred.values(prefix="prediction_drift"))
            else:
                summary["prediction_drift"] = {"baseline": True}
        perf = self._performance(monitor, cfg, frame, start_ms, end_ms, now or utc_now(), mv)
        if perf is not None:
            summary["performance"] = perf.to_dict()
            values.update(perf.values())
        return summary, values

    def _model_name(self, monitor: Monitor) -> str:
        from shipyard.models import parse_model_uri

        name = parse_model_uri(monitor.model_uri).name
        assert name is not None
        return name

    def _resolve_version(self, monitor: Monitor) -> int | None:
        from shipyard.models import parse_model_uri

        parsed = parse_model_uri(monitor.model_uri)
        assert parsed.name is not None
        try:
            if parsed.version is not None:
                return parsed.version
            if parsed.alias is not None:
                return self.registry.get_alias(parsed.name, parsed.alias).version
            return self.registry.get_registered_model(parsed.name).latest_version
        except Exception:  # an alias may not exist yet; the log still gets checked
            log.debug("cannot resolve %s", monitor.model_uri, exc_info=True)
            return None

    def _pick_version(self, monitor: Monitor, frame: Any) -> tuple[int | None, Any, dict[str,
                                                                                       int]]:
        """The version whose rows the window is judged on: the one the URI points at when
        the window has its rows, else the version that served most rows."""
        resolved = self._resolve_version(monitor)
        if "version" not in frame.columns or not len(frame):
            return resolved, frame, {}
        counts = {str(int(k)): int(v) for k, v in frame["version"].dropna().value_counts()
                  .items()}
        if not counts:
            return resolved, frame, {}
        chosen = resolved if resolved is not None and str(resolved) in counts else int(
            max(counts, key=lambda k: counts[k]))
        if counts == {str(chosen): len(frame)}:  # one version served the window: no copy
            return chosen, frame, counts
        return chosen, frame[frame["version"] == chosen], counts

    def _version(self, monitor: Monitor, version: int | None) -> Any:
        if version is None:
            return None
        try:
            return self.registry.get_model_version(self._model_name(monitor), version)
        except Exception:
            log.debug("no version %s of %s", version, monitor.model_uri, exc_info=True)
            return None

    def _reference(self, monitor: Monitor, cfg: MonitorConfig,
                   version: int | None) -> ReferenceProfile | None:
        """The monitor's stored reference, else the version's logged reference profile."""
        from shipyard.monitoring._reference import ReferenceProfile

        if cfg.reference:
            key = ("artifact", cfg.reference)
            if key not in self._profiles:
                self._profiles[key] = ReferenceProfile.from_dict(self._get_json(cfg.reference))
            return self._profiles[key]
        mv = self._version(monitor, version)
        if mv is None or mv.run_id is None:
            return None
        key = (mv.run_id, mv.artifact_path)
        if key not in self._profiles:
            try:
                data = self.tracking.read_artifact(mv.run_id,
                                                   f"{mv.artifact_path}/reference_profile.json")
            except ArtifactNotFoundError:
                return None
            self._profiles[key] = ReferenceProfile.from_dict(json.loads(data))
        return self._profiles[key]

    @staticmethod
    def _drift(profile: ReferenceProfile, inputs: Any, cfg: MonitorConfig) -> Any:
        from shipyard.monitoring._drift import drift_report

        columns = [c for c in profile.names if c in inputs.columns]
        if not columns:
            return None
        return drift_report(profile, inputs, columns=columns, method=cfg.drift_method,
                            thresholds=cfg.drift_thresholds, small_sample=cfg.small_sample,
                            fdr=cfg.fdr, share_threshold=cfg.share_threshold)

    def _prediction_drift(self, monitor: Monitor, cfg: MonitorConfig, outputs: Any) -> Any:
        """Drift of the model's outputs against a baseline: the first window with rows
        (stored as a profile), unless one was configured."""
        from shipyard.monitoring._drift import drift_report
        from shipyard.monitoring._frames import column_kind
        from shipyard.monitoring._reference import ReferenceProfile

        usable = [c for c in outputs.columns
                  if column_kind(outputs[c]) == "numeric" or _scalar_values(outputs[c])]
        outputs = outputs[usable]
        if not usable:
            return None
        key = cfg.prediction_reference or f"{PREFIX}/{monitor.name}/prediction_reference.json"
        if not self.artifacts.exists(key):
            profile = ReferenceProfile.from_data(outputs)
            self._put_json(key, profile.to_dict())
            self.store.update_monitor(monitor.name, config={**monitor.config,
                                                            "prediction_reference": key})
            return None
        profile = ReferenceProfile.from_dict(self._get_json(key))
        columns = [c for c in profile.names if c in outputs.columns]
        if not columns:
            return None
        return drift_report(profile, outputs, columns=columns, method=cfg.drift_method
                            if isinstance(cfg.drift_method, str) else "auto",
                            small_sample=cfg.small_sample, fdr=cfg.fdr,
                            share_threshold=cfg.share_threshold)

    def _expected_rows(self, monitor: Monitor, start_ms: int) -> float | None:
        since = from_ms(start_ms - VOLUME_HISTORY * monitor.window_seconds * 1000)
        points = self.store.get_monitor_values(monitor.name, ["rows"], start=since,
                                               end=from_ms(start_ms))
        rows = [p.value for p in points if p.value]
        return float(statistics.median(rows)) if rows else None

    def _performance(self, monitor: Monitor, cfg: MonitorConfig, frame: Any, start_ms: int,
                     end_ms: int, now: datetime, mv: Any, feedback: Any = None) -> Any:
        from shipyard.monitoring._log import FEEDBACK, read_log
        from shipyard.monitoring._performance import (
            PerformanceReport,
            infer_task,
            join_labels,
            validation_metrics,
            window_metrics,
        )

        if "request_id" not in frame.columns or not len(frame) or not any(
                str(c).startswith("output.") for c in frame.columns):
            return None
        if feedback is None:
            until = min(to_ms(now), end_ms + int(cfg.label_horizon_seconds * 1000))
            feedback = read_log(self.artifacts, FEEDBACK, self._model_name(monitor), start_ms,
                                max(until, start_ms + 1))
        joined = join_labels(frame, feedback if len(feedback) else None)
        task = cfg.task or infer_task(joined)
        win = window_metrics(joined, task, positive_label=cfg.positive_label)
        return PerformanceReport(task=task, overall=win, validation=validation_metrics(
            mv.metrics if mv is not None else {}, task), min_labels=cfg.min_labels)

    def _refresh_performance(self, monitor: Monitor, now: datetime, *,
                             skip: set[datetime]) -> list[datetime]:
        """Recompute the performance of recent windows whose labels were incomplete."""
        from shipyard.monitoring._log import FEEDBACK, PREDICTIONS, read_log

        cfg = MonitorConfig.from_dict(monitor.config)
        horizon = int(cfg.label_horizon_seconds * 1000)
        since = from_ms(to_ms(now) - horizon - monitor.window_seconds * 1000)
        stale = []
        for res in self.store.list_monitor_results(monitor.name, start=since):
            perf = res.summary.get("performance")
            if not perf or perf["overall"]["coverage"] >= 1.0:
                continue
            if res.window_start in skip:
                continue  # computed in this very run
            stale.append(res)
        if not stale:
            return []
        model = self._model_name(monitor)
        first = to_ms(stale[0].window_start)
        feedback = read_log(self.artifacts, FEEDBACK, model, first, to_ms(now) + 1)
        done = []
        for res in stale:
            start, end = to_ms(res.window_start), to_ms(res.window_end)
            frame = read_log(self.artifacts, PREDICTIONS, model, start, end)
            version = res.summary.get("model", {}).get("version")
            if version is not None and "version" in frame.columns:
                frame = frame[frame["version"] == version]
            window_fb = feedback[(feedback["timestamp"] >= start) & (
                feedback["timestamp"] < end + horizon)] if len(feedback) else feedback
            perf = self._performance(monitor, cfg, frame, start, end, now,
                                     self._version(monitor, version), feedback=window_fb)
            if perf is None:
                continue
            values = {v.key: v.value for v in self.store.get_monitor_values(
                monitor.name, start=res.window_start, end=res.window_end)}
            values = {k: v for k, v in values.items() if not _is_performance_key(k)}
            values.update(perf.values())
            summary = {**res.summary, "performance": perf.to_dict()}
            self.store.log_monitor_result(MonitorResult(
                monitor=monitor.name, window_start=res.window_start, window_end=res.window_end,
                computed_at=utc_now(), summary=summary), values)
            done.append(res.window_start)
        return done

    # -- rules and alerts -------------------------------------------------------------------
    def _evaluate_rules(self, monitor: Monitor,
                        now: datetime) -> tuple[list[RuleOutcome], list[Alert]]:
        if not monitor.rules:
            return [], []
        latest = self.store.latest_monitor_values(monitor.name)
        values = {k: v.value for k, v in latest.items()}
        cfg = MonitorConfig.from_dict(monitor.config)
        outcomes, touched = [], []
        for rule in monitor.rules:
            outcome = evaluate(rule, values)
            outcomes.append(outcome)
            starts = [latest[k].window_start for k in outcome.keys if k in latest]
            w_start = max(starts) if starts else monitor.last_window_end or now
            w_end = from_ms(to_ms(w_start) + monitor.window_seconds * 1000)
            alert = self._transition(monitor, outcome, w_start, w_end,  # type: ignore[arg-type]
                                     now, cfg)
            if alert is not None:
                touched.append(alert)
        return outcomes, touched

    def _transition(self, monitor: Monitor, outcome: RuleOutcome, w_start: datetime,
                    w_end: datetime, now: datetime, cfg: MonitorConfig) -> Alert | None:
        if outcome.firing is None:
            return None
        value = outcome.value if isinstance(outcome.value, int | float) else None
        open_ = self.store.list_alerts(monitor.name, state=AlertState.FIRING,
                                       rule=outcome.rule, max_results=1)
        if outcome.firing and open_:  # still firing: one incident, no new message
            return self.store.update_alert(open_[0].id, value=value, window_start=w_start,
                                           window_end=w_end)
        if outcome.firing:
            history = self.store.list_alerts(monitor.name, rule=outcome.rule, max_results=50)
            sent = [a.last_notified_at for a in history if a.last_notified_at is not None]
            last_sent = max(sent) if sent else None
            suppressed = last_sent is not None and (
                to_ms(now) - to_ms(last_sent)) < cfg.cooldown_seconds * 1000
            detail = {"threshold": outcome.threshold, "op": outcome.op,
                      "suppressed": suppressed}
            alert = self.store.create_alert(monitor=monitor.name, rule=outcome.rule,
                                            value=value, window_start=w_start,
                                            window_end=w_end, fired_at=now, detail=detail)
            if suppressed:
                return alert
            return self._notify(monitor, alert, now)
        if open_:
            alert = self.store.update_alert(open_[0].id, state=AlertState.RESOLVED,
                                            resolved_at=now, value=value)
            if alert.notifications > 0:  # only incidents that were announced get a resolve
                return self._notify(monitor, alert, now)
            return alert
        return None

    def _notify(self, monitor: Monitor, alert: Alert, now: datetime) -> Alert:
        if not monitor.webhooks:
            return alert
        payload = self.alert_payload(monitor, alert)
        delivery = self.notifier.send(monitor.webhooks, payload["event"],
                                      f"{alert.id}-{alert.state.value}", payload)
        detail = {**alert.detail, f"{alert.state.value}_delivered": delivery.delivered,
                  f"{alert.state.value}_attempts": delivery.attempts}
        if delivery.errors:
            detail[f"{alert.state.value}_errors"] = delivery.errors
        return self.store.update_alert(
            alert.id, notifications=alert.notifications + int(delivery.delivered),
            last_notified_at=now if delivery.delivered else alert.last_notified_at,
            detail=detail)

    def alert_payload(self, monitor: Monitor, alert: Alert) -> dict[str, Any]:
        """The JSON body of an alert message."""
        base = (self.settings.monitoring_public_url or "").rstrip("/")
        links = {"cli": f"shipyard monitor alerts {monitor.name}",
                 "report": f"shipyard monitor show {monitor.name}"}
        if base:
            links.update(monitor=f"{base}/monitors/{monitor.name}",
                         alert=f"{base}/api/v1/monitors/{monitor.name}/alerts/{alert.id}")
        return {
            "event": f"monitor.alert.{alert.state.value}", "monitor": monitor.name,
            "model": monitor.model_uri, "rule": alert.rule, "state": alert.state.value,
            "value": alert.value, "threshold": alert.detail.get("threshold"),
            "window": {"start": alert.window_start.isoformat(),
                       "end": alert.window_end.isoformat()},
            "alert": {"id": alert.id, "fired_at": alert.fired_at.isoformat(),
                      "resolved_at": None if alert.resolved_at is None
                      else alert.resolved_at.isoformat()},
            "links": links,
        }

    # -- artifacts ------------------------------------------------------------------------
    def _put_json(self, key: str, data: Mapping[str, Any]) -> None:
        import io

        self.artifacts.put(key, io.BytesIO(json.dumps(data).encode()), overwrite=True)

    def _get_json(self, key: str) -> dict[str, Any]:
        with self.artifacts.open(key) as fh:
            return json.loads(fh.read())  # type: ignore[no-any-return]


def _in_range(when: datetime) -> bool:
    """Whether ``when`` is aware and from 1970 to 9998 (compared as is: converting a time
    near either end to UTC would overflow)."""
    return when.tzinfo is not None and EARLIEST <= when < LATEST


def _scalar_values(series: Any) -> bool:
    """Whether a non-numeric output column holds scalars (labels), not lists or dicts; a
    typed column (strings, categories, booleans) is decided by its dtype, an object column
    by pandas' C-level type inference rather than a Python call per row."""
    pd = need("pandas")
    if series.dtype != object:
        return True
    if pd.api.types.infer_dtype(series, skipna=True) != "mixed":  # lists and dicts are mixed
        return True
    return not any(isinstance(v, list | dict) for v in series.to_numpy())


_PERF_KEYS = {"label_coverage", "labelled", "predictions", "accuracy", "precision", "recall",
              "f1", "auc", "log_loss", "mae", "rmse", "r2"}


def _is_performance_key(key: str) -> bool:
    return key in _PERF_KEYS or key.startswith(("delta.", "validation."))
