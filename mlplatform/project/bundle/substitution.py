"""`${...}` references: `${var.x}`, `${var.x.field}`, `${bundle.name}`, `${bundle.target}`,
`${bundle.git.branch}`, `${workspace.current_user.userName}`, `${resources.pipelines.p.name}`...

A reference is a key path into the resolved configuration, where `var` names the variables'
values. A value that is one whole reference takes the referenced value with its type (a number,
a mapping); a reference inside a longer string is formatted into it (`true`/`false` for booleans).
References to references resolve in turn; a cycle is an error naming the chain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mlplatform.project.bundle.errors import Problems
from mlplatform.project.bundle.files import KeyPath, Places, key_text
from mlplatform.project.model import Position

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+|\[[0-9]+\])*)\}")


def parse_reference(text: str) -> KeyPath:
    """`var.x.items[0]` -> `("var", "x", "items", 0)`."""
    path: list[str | int] = []
    for word in text.split("."):
        name, *indexes = word.split("[")
        path.append(name)
        path.extend(int(index.rstrip("]")) for index in indexes)
    return tuple(path)


def has_reference(value: Any) -> bool:
    return isinstance(value, str) and REFERENCE.search(value) is not None


class _Unresolvable(Exception):
    def __init__(self, reference: str, why: str = "reference does not exist"):
        super().__init__(f"{why}: ${{{reference}}}")


class Resolver:
    """Resolves references in `root` in place.

    Args:
        root: the namespace references read (`var`, `bundle`, `workspace`, `resources`...).
        place_of: the position of a key path of `root` (for error messages).
        problems: where errors go.
        wanted: which references to resolve now (others are left as written).
    """

    def __init__(
        self,
        root: dict[str, Any],
        place_of: Callable[[KeyPath], Position | None],
        problems: Problems,
        wanted: Callable[[KeyPath], bool] = lambda path: True,
    ):
        self.root = root
        self.place_of = place_of
        self.problems = problems
        self.wanted = wanted
        self._done: dict[KeyPath, Any] = {}
        self._stack: list[KeyPath] = []

    def resolve(self, path: KeyPath) -> Any:
        """Resolve every reference under `root[path]`; give the resolved value."""
        node = self._at(path)
        return self._deep(node, path)

    def _at(self, path: KeyPath) -> Any:
        node: Any = self.root
        for part in path:
            node = node[part]
        return node

    def _put(self, path: KeyPath, value: Any) -> None:
        parent = self._at(path[:-1])
        parent[path[-1]] = value

    def _deep(self, node: Any, path: KeyPath) -> Any:
        if isinstance(node, str):
            return self._string(node, path) if has_reference(node) else node
        if isinstance(node, dict):
            for key in list(node):
                node[key] = self._deep(node[key], (*path, key))
        elif isinstance(node, list):
            for index in range(len(node)):
                node[index] = self._deep(node[index], (*path, index))
        return node

    def _string(self, text: str, path: KeyPath) -> Any:
        if path in self._done:
            return self._done[path]
        if path in self._stack:
            chain = [*self._stack[self._stack.index(path) :], path]
            self.problems.error(
                "cycle detected in field resolution: " + " -> ".join(key_text(p) for p in chain),
                self.place_of(path),
            )
            return text
        self._stack.append(path)
        try:
            result = self._substitute(text)
        except _Unresolvable as err:
            self.problems.error(str(err), self.place_of(path))
            result = text
        finally:
            self._stack.pop()
        self._done[path] = result
        if path and path[0] in self.root:
            try:
                self._put(path, result)
            except (KeyError, IndexError, TypeError):
                pass
        return result

    def _substitute(self, text: str) -> Any:
        whole = REFERENCE.fullmatch(text)
        if whole:
            target = parse_reference(whole.group(1))
            return self._referenced(target, whole.group(1)) if self.wanted(target) else text

        def formatted(match: re.Match) -> str:
            target = parse_reference(match.group(1))
            if not self.wanted(target):
                return match.group(0)
            value = self._referenced(target, match.group(1))
            if isinstance(value, (dict, list)):
                raise _Unresolvable(
                    match.group(1), "a mapping or sequence cannot be part of a string"
                )
            if isinstance(value, bool):
                return "true" if value else "false"
            return "" if value is None else str(value)

        return REFERENCE.sub(formatted, text)

    def _referenced(self, target: KeyPath, text: str) -> Any:
        node: Any = self.root
        walked: KeyPath = ()
        for part in target:
            if has_reference(node):
                node = self._string(node, walked)
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                raise _Unresolvable(text)
            walked = (*walked, part)
        return self._deep(node, walked)


def place_finder(
    places: Places, aliases: dict[str, KeyPath]
) -> Callable[[KeyPath], Position | None]:
    """A `place_of` for `Resolver`: the nearest recorded place of a key path, where the first
    part may be an alias (`var` -> `variables`)."""

    def place_of(path: KeyPath) -> Position | None:
        if path and path[0] in aliases:
            path = (*aliases[path[0]], *path[1:])
        while path:
            if path in places:
                return places[path]
            path = path[:-1]
        return None

    return place_of
