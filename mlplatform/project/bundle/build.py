"""Build the model's objects (`mlplatform.project.model`) from a resolved configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlplatform.project.bundle.errors import Problems
from mlplatform.project.bundle.files import KeyPath, Places, place
from mlplatform.project.bundle.schema import DOCUMENTED_KINDS, SUPPORTED_KINDS
from mlplatform.project.model import (
    Experiment,
    InferenceLog,
    Library,
    ModelAlias,
    MonitorSchedule,
    Pipeline,
    QualityMonitor,
    RegisteredModel,
    TimeSeries,
)

PROBLEM_TYPES = ("PROBLEM_TYPE_CLASSIFICATION", "PROBLEM_TYPE_REGRESSION")
GRANULARITIES = (
    "5 minutes",
    "30 minutes",
    "1 hour",
    "1 day",
    "1 week",
    "2 weeks",
    "3 weeks",
    "4 weeks",
    "1 month",
    "1 year",
)
"""The window sizes Lakehouse Monitoring documents for `granularities`."""
METRIC_TYPES = (
    "CUSTOM_METRIC_TYPE_AGGREGATE",
    "CUSTOM_METRIC_TYPE_DERIVED",
    "CUSTOM_METRIC_TYPE_DRIFT",
)


class Builder:
    """Turns `config["resources"]` into model objects, reporting what it cannot."""

    def __init__(self, root: Path, places: Places, problems: Problems):
        self.root = root
        self.places = places
        self.problems = problems

    def kinds(self, resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Model objects per supported kind; other kinds give a warning each."""
        built: dict[str, dict[str, Any]] = {kind: {} for kind in SUPPORTED_KINDS}
        makers = {
            "pipelines": self.pipeline,
            "registered_models": self.registered_model,
            "experiments": self.experiment,
            "quality_monitors": self.quality_monitor,
        }
        for kind, items in resources.items():
            at = place(self.places, ("resources", kind))
            if kind not in SUPPORTED_KINDS:
                if kind in DOCUMENTED_KINDS:
                    self.problems.warn(f"resource kind {kind} is not supported by mlplatform", at)
                else:
                    self.problems.warn(f"unknown resource kind: {kind}", at)
                continue
            for key, body in (items or {}).items():
                if not isinstance(body, dict):
                    continue
                make = makers.get(kind)
                built[kind][key] = make(key, body) if make else body
        return built

    def pipeline(self, key: str, body: dict) -> Pipeline:
        path = ("resources", "pipelines", key)
        libraries = []
        for index, entry in enumerate(body.get("libraries") or []):
            library = self._library(entry, (*path, "libraries", index))
            if library is not None:
                libraries.append(library)
        root_path = body.get("root_path")
        return Pipeline(
            key=key,
            name=str(body.get("name") or key),
            libraries=tuple(libraries),
            catalog=body.get("catalog"),
            schema=body.get("schema") or body.get("target"),
            configuration={k: _text(v) for k, v in (body.get("configuration") or {}).items()},
            development=bool(body.get("development", False)),
            continuous=bool(body.get("continuous", False)),
            root_path=self._path(root_path, (*path, "root_path")) if root_path else None,
            position=place(self.places, path),
        )

    def _library(self, entry: Any, path: KeyPath) -> Library | None:
        if not isinstance(entry, dict):
            return None
        if isinstance(entry.get("glob"), dict) and entry["glob"].get("include"):
            include = entry["glob"]["include"]
            return Library(glob=str(self._path(include, (*path, "glob", "include"))))
        if isinstance(entry.get("file"), dict) and entry["file"].get("path"):
            return Library(file=self._path(entry["file"]["path"], (*path, "file", "path")))
        if isinstance(entry.get("notebook"), dict) and entry["notebook"].get("path"):
            return Library(
                notebook=self._path(entry["notebook"]["path"], (*path, "notebook", "path"))
            )
        kinds = ", ".join(entry) or "nothing"
        self.problems.warn(
            f"pipeline library of kind {kinds} is not supported by mlplatform (use file, glob "
            "or notebook)",
            place(self.places, path),
        )
        return None

    def _path(self, written: str, path: KeyPath) -> Path:
        """A path as written in a file, resolved against that file's folder."""
        declared_in = place(self.places, path).file
        return (self.root / Path(declared_in).parent / written).resolve()

    def registered_model(self, key: str, body: dict) -> RegisteredModel:
        path = ("resources", "registered_models", key)
        aliases = tuple(
            ModelAlias(str(a.get("alias_name")), int(a.get("version_num", 0)))
            for a in body.get("aliases") or []
            if isinstance(a, dict)
        )
        return RegisteredModel(
            key=key,
            name=str(body.get("name") or key),
            catalog=body.get("catalog_name"),
            schema=body.get("schema_name"),
            comment=body.get("comment"),
            aliases=aliases,
            position=place(self.places, path),
        )

    def experiment(self, key: str, body: dict) -> Experiment:
        tags = {
            str(t.get("key")): _text(t.get("value"))
            for t in body.get("tags") or []
            if isinstance(t, dict)
        }
        return Experiment(
            key=key,
            name=str(body.get("name") or key),
            artifact_location=body.get("artifact_location"),
            tags=tags,
            position=place(self.places, ("resources", "experiments", key)),
        )

    def quality_monitor(self, key: str, body: dict) -> QualityMonitor | None:
        path = ("resources", "quality_monitors", key)
        for field in ("table_name", "output_schema_name"):
            if not body.get(field):
                self.problems.error(
                    f"missing required field: {field}", place(self.places, (*path, field))
                )
        profiles = [k for k in ("inference_log", "time_series", "snapshot") if k in body]
        if len(profiles) != 1:
            self.problems.error(
                "a quality monitor needs exactly one of inference_log, time_series, snapshot "
                f"(found {', '.join(profiles) or 'none'})",
                place(self.places, path),
            )
        inference_log = self._inference_log(body.get("inference_log"), (*path, "inference_log"))
        series = body.get("time_series")
        time_series = None
        if isinstance(series, dict):
            self._require(series, ("timestamp_col", "granularities"), (*path, "time_series"))
            time_series = TimeSeries(
                str(series.get("timestamp_col")), tuple(series.get("granularities") or ())
            )
        for profile in ("inference_log", "time_series"):
            self._granularities(body.get(profile), (*path, profile, "granularities"))
        for index, metric in enumerate(body.get("custom_metrics") or []):
            kind = metric.get("type") if isinstance(metric, dict) else None
            if kind not in METRIC_TYPES:
                self.problems.error(
                    f'custom metric type is "{kind}": expected one of {", ".join(METRIC_TYPES)}',
                    place(self.places, (*path, "custom_metrics", index, "type")),
                )
        schedule = body.get("schedule")
        return QualityMonitor(
            key=key,
            table_name=str(body.get("table_name") or ""),
            output_schema_name=str(body.get("output_schema_name") or ""),
            inference_log=inference_log,
            time_series=time_series,
            snapshot="snapshot" in body,
            slicing_exprs=tuple(body.get("slicing_exprs") or ()),
            custom_metrics=tuple(body.get("custom_metrics") or ()),
            baseline_table_name=body.get("baseline_table_name"),
            schedule=MonitorSchedule(
                str(schedule.get("quartz_cron_expression")),
                str(schedule.get("timezone_id", "UTC")),
                str(schedule.get("pause_status", "UNPAUSED")),
            )
            if isinstance(schedule, dict)
            else None,
            assets_dir=body.get("assets_dir"),
            position=place(self.places, path),
        )

    def _inference_log(self, log: Any, path: KeyPath) -> InferenceLog | None:
        if not isinstance(log, dict):
            return None
        required = (
            "problem_type",
            "prediction_col",
            "timestamp_col",
            "model_id_col",
            "granularities",
        )
        self._require(log, required, path)
        problem = log.get("problem_type")
        if problem is not None and problem not in PROBLEM_TYPES:
            self.problems.error(
                f'problem_type is "{problem}": expected one of {", ".join(PROBLEM_TYPES)}',
                place(self.places, (*path, "problem_type")),
            )
        return InferenceLog(
            problem_type=str(problem),
            prediction_col=str(log.get("prediction_col")),
            timestamp_col=str(log.get("timestamp_col")),
            model_id_col=str(log.get("model_id_col")),
            granularities=tuple(log.get("granularities") or ()),
            label_col=log.get("label_col"),
            prediction_proba_col=log.get("prediction_proba_col"),
        )

    def _granularities(self, profile: Any, path: KeyPath) -> None:
        if not isinstance(profile, dict):
            return
        for index, value in enumerate(profile.get("granularities") or []):
            if value not in GRANULARITIES:
                self.problems.error(
                    f'granularity "{value}" is not one of {", ".join(GRANULARITIES)}',
                    place(self.places, (*path, index)),
                )

    def _require(self, body: dict, fields: tuple[str, ...], path: KeyPath) -> None:
        for field in fields:
            if body.get(field) in (None, "", []):
                self.problems.error(
                    f"missing required field: {field}", place(self.places, (*path, field))
                )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
