"""What ``mlplatform pipelines dry-run`` reports: each dataset, what it reads, and every problem
(unknown names, cycles, tables without a query) found without running anything."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlplatform.dlt.analysis import DltDefinitionError
from mlplatform.dlt.pipeline import Pipeline


@dataclass
class GraphReport:
    datasets: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # key -> kind, deps
    errors: list[str] = field(default_factory=list)


def analyze(pipeline: Pipeline) -> GraphReport:
    report = GraphReport()
    for ds in pipeline.datasets.values():
        key = ds.sink or pipeline.key(ds.name)
        try:
            if ds.kind == "view":
                deps = [i.key for i in pipeline.table_definition(ds).upstream]
                report.datasets[key] = ("temporary view", deps)
            elif ds.changes is not None:
                report.datasets[key] = ("auto cdc", [pipeline.key(ds.changes.source)])
            elif ds.snapshot is not None:
                src = ds.snapshot.source
                report.datasets[key] = ("snapshot cdc", [src] if isinstance(src, str) else [])
            elif not ds.flows and ds.func is None:
                report.errors.append(f"{ds.kind} {ds.name!r} has no query or flow")
            else:
                defn = pipeline.table_definition(ds)
                kind = "streaming table" if defn.streaming else "materialized view"
                kind = "sink" if ds.kind == "sink" else kind
                report.datasets[key] = (kind, [i.key for i in defn.upstream])
        except DltDefinitionError as err:
            report.errors.append(str(err))
    cycle = find_cycle({k: deps for k, (_, deps) in report.datasets.items()})
    if cycle:
        report.errors.append("cycle: " + " -> ".join(cycle))
    return report


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep in graph and state.get(dep) is None:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None
