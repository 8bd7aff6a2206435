"""`include`: more configuration files, globbed relative to the bundle root, merged into it.

Each included file may hold `resources`, `variables`, `targets`, `artifacts`, `sync`... A
resource key or a variable declared twice is an error naming both places; a pattern that
matches no file is a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlplatform.project.bundle.errors import BundleError, Problems
from mlplatform.project.bundle.files import Places, place, read_yaml
from mlplatform.project.bundle.merge import merge


def include_files(
    root: Path, main_file: Path, config: dict[str, Any], places: Places, problems: Problems
):
    """Read the files `config["include"]` names and merge them into `config`, in place."""
    patterns = config.get("include") or []
    if not isinstance(patterns, list):
        return  # the schema check reports it
    seen: set[Path] = {main_file.resolve()}
    for index, pattern in enumerate(patterns):
        at = place(places, ("include", index))
        if not isinstance(pattern, str):
            problems.error(f"an include pattern is a string, not {pattern!r}", at)
            continue
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            problems.error(f"include pattern {pattern} must stay inside the bundle root", at)
            continue
        matches = sorted(p for p in root.glob(pattern) if p.is_file())
        if not matches:
            problems.warn(f"include pattern {pattern} matched no files", at)
        for path in matches:
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            _merge_file(root, path, config, places, problems, len(seen))


def _merge_file(root: Path, path: Path, config: dict, places: Places, problems: Problems, n: int):
    shown = path.relative_to(root)
    try:
        data, found = read_yaml(path, shown)
    except BundleError as err:
        problems.errors.extend(err.diagnostics)
        return
    if not data:
        return
    if not isinstance(data, dict):
        problems.error("an included file must hold a mapping", found.get(()))
        return
    prefix = ("\0include", n)
    for key_path, position in found.items():
        places[(*prefix, *key_path)] = position
    if "include" in data:
        problems.error("include is only allowed in the bundle's root file", found.get(("include",)))
        data.pop("include")
    for section, keyed in (("resources", 2), ("variables", 1)):
        _refuse_duplicates(config, data, section, keyed, places, prefix, problems)
    merge(config, data, (), prefix, places)


def _refuse_duplicates(config, data, section, depth, places, prefix, problems):
    new, old = data.get(section), config.get(section)
    if not isinstance(new, dict) or not isinstance(old, dict):
        return
    if depth == 1:
        pairs = [((section, key), old, new, key) for key in list(new) if key in old]
    else:
        pairs = [
            ((section, kind, key), old[kind], new[kind], key)
            for kind in new
            if isinstance(new[kind], dict) and isinstance(old.get(kind), dict)
            for key in list(new[kind])
            if key in old[kind]
        ]
    for path, _old_parent, new_parent, key in pairs:
        first, second = places.get(path), places.get((*prefix, *path))
        problems.error(
            f"{'.'.join(path)} is declared twice: in {first.file}:{first.line} "
            f"and in {second.file}:{second.line}",
            second,
        )
        new_parent.pop(key)
