"""What a table update is asked to do (``RunOptions``) and what it did (``TableRun``)."""

from __future__ import annotations

import resource
from dataclasses import dataclass, field

from mlplatform.lakehouse.engines.base import EngineEvaluation
from mlplatform.lakehouse.expectations import RuleResult
from mlplatform.lakehouse.ledger import DEFAULT_LEASE_S

DEFAULT_MAX_BYTES = 128 * 1024**2
"""Landing bytes per micro-batch when neither the table nor the run sets it. Measured on the demo
data's shape (5M events): a bronze micro-batch peaks at about 7x its JSON bytes, so 128 MiB gives
1.1 GiB (256 MiB gave 1.9 GiB); Databricks uses 1 GiB of files."""
DEFAULT_STREAM_BYTES = 32 * 1024**2
"""Upstream Parquet bytes per micro-batch of a stream input: bronze's Parquet is about 8x denser
than its JSON (62 MiB of it, 5M rows, peaked at 1.7 GiB in silver)."""


class UpstreamMissingError(RuntimeError):
    """An upstream table has never been materialized."""


@dataclass
class RunOptions:
    """Per-run choices, set from the asset's config."""

    full_refresh: bool = False
    schema_evolution_mode: str | None = None
    allow_overwrites: bool = False
    max_files_per_trigger: int | None = None
    max_bytes_per_trigger: int | str | None = None
    ignore_corrupt_files: bool | None = None
    ignore_missing_files: bool | None = None
    replay_quarantine: bool = False
    busy_timeout_s: float = 0.0
    lease_s: float = DEFAULT_LEASE_S


@dataclass
class TableRun:
    """What one update did: the numbers that become materialization metadata."""

    batch_id: int
    mode: str
    input_rows: int = 0
    written_rows: int = 0
    quarantined_rows: int = 0
    dropped_rows: int = 0
    evaluation: EngineEvaluation | None = None
    version: int | None = None
    quarantine_version: int | None = None
    redo: bool = False
    nothing_new: bool = False
    counts: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    upstream_versions: dict = field(default_factory=dict)
    results: list[RuleResult] | None = None
    micro_batches: int = 0

    def absorb(self, step: TableRun) -> None:
        """Add a later micro-batch of the same update."""
        self.batch_id, self.version = step.batch_id, step.version
        self.quarantine_version = step.quarantine_version
        self.redo = self.redo or step.redo
        self.nothing_new = False
        for name in ("input_rows", "written_rows", "quarantined_rows", "dropped_rows"):
            setattr(self, name, getattr(self, name) + getattr(step, name))
        self.upstream_versions.update(step.upstream_versions)
        self.warnings.extend(step.warnings)
        self.counts = add_counts(self.counts, step.counts)
        self.results = _add_results(self.results, step.rule_results())
        self.evaluation = step.evaluation

    def rule_results(self) -> list[RuleResult]:
        if self.results is not None:
            return self.results
        return list(self.evaluation.results) if self.evaluation else []


def add_counts(a: dict, b: dict) -> dict:
    """Counts of two batches added: numbers summed, lists joined, flags and text the later."""
    out = dict(a)
    for key, value in b.items():
        old = out.get(key)
        if isinstance(value, bool) or old is None or isinstance(old, str):
            out[key] = value
        elif isinstance(value, int | float):
            out[key] = old + value
        elif isinstance(value, list):
            out[key] = list(old) + [v for v in value if v not in old]
        elif isinstance(value, dict):
            out[key] = add_counts(old, value)
        else:
            out[key] = value
    return out


def _add_results(a: list[RuleResult] | None, b: list[RuleResult]) -> list[RuleResult]:
    if not a:
        return list(b)
    by_name = {r.expectation.name: r for r in b}
    return [
        RuleResult(
            r.expectation,
            r.passed_records + by_name[r.expectation.name].passed_records,
            r.failed_records + by_name[r.expectation.name].failed_records,
            r.failing_sample or by_name[r.expectation.name].failing_sample,
        )
        if r.expectation.name in by_name
        else r
        for r in a
    ]


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
