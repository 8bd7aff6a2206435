"""Diagnostics of a bundle: what is wrong, and where (file, line, column, key)."""

from __future__ import annotations

from dataclasses import dataclass

from mlplatform.project.model import Position, Warning_


def where(position: Position | None) -> str:
    """`  at <key>\\n  in <file>:<line>[:<column>]` (empty when the place is unknown)."""
    if position is None:
        return ""
    lines = []
    if position.key:
        lines.append(f"  at {position.key}")
    column = f":{position.column}" if position.column else ""
    lines.append(f"  in {position.file}:{position.line}{column}")
    return "\n" + "\n".join(lines)


@dataclass(frozen=True)
class Diagnostic:
    """One error of a bundle, shaped like `databricks bundle validate` prints it."""

    summary: str
    position: Position | None = None

    def __str__(self) -> str:
        return f"Error: {self.summary}{where(self.position)}"


class BundleError(Exception):
    """A bundle that cannot be loaded: every error found, each with its position."""

    def __init__(self, diagnostics: list[Diagnostic], warnings: tuple[Warning_, ...] = ()):
        self.diagnostics = list(diagnostics)
        self.warnings = tuple(warnings)
        super().__init__("\n\n".join(str(d) for d in self.diagnostics))


class Problems:
    """Collects errors and warnings while a bundle loads, so one run reports them all."""

    def __init__(self) -> None:
        self.errors: list[Diagnostic] = []
        self.warnings: list[Warning_] = []

    def error(self, summary: str, position: Position | None = None) -> None:
        self.errors.append(Diagnostic(summary, position))

    def warn(self, summary: str, position: Position) -> None:
        self.warnings.append(Warning_(position, summary))

    def raise_if_any(self) -> None:
        """Raise a `BundleError` holding every error collected so far."""
        if self.errors:
            raise BundleError(self.errors, tuple(self.warnings))
