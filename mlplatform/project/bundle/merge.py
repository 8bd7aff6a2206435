"""Merging one configuration tree into another, as bundle includes and target overrides merge:
mappings key by key, sequences appended (job tasks, job clusters and pipeline clusters matched
by their key), scalars replaced. Positions move with the values."""

from __future__ import annotations

from mlplatform.project.bundle.files import KeyPath, Places

KEYED_SEQUENCES = {"tasks": "task_key", "job_clusters": "job_cluster_key", "clusters": "label"}


def move_places(places: Places, src: KeyPath, dst: KeyPath) -> None:
    """Give every place under `src` to the same relative path under `dst`."""
    size = len(src)
    for path, position in [(p, v) for p, v in places.items() if p[:size] == src]:
        places[(*dst, *path[size:])] = position


def merge(dst: dict, src: dict, dst_path: KeyPath, src_path: KeyPath, places: Places) -> None:
    """Merge `src` (placed at `src_path`) into `dst` (placed at `dst_path`), in place."""
    for key, value in src.items():
        here, there = (*dst_path, key), (*src_path, key)
        old = dst.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            if there in places:
                places.setdefault(here, places[there])
            merge(old, value, here, there, places)
        elif isinstance(old, list) and isinstance(value, list):
            _merge_sequence(old, value, key, here, there, places)
        else:
            dst[key] = value
            move_places(places, there, here)


def _merge_sequence(old: list, new: list, key: str, here: KeyPath, there: KeyPath, places: Places):
    by = KEYED_SEQUENCES.get(key)
    for index, item in enumerate(new):
        match = None
        if by and isinstance(item, dict) and item.get(by) is not None:
            match = next(
                (i for i, o in enumerate(old) if isinstance(o, dict) and o.get(by) == item[by]),
                None,
            )
        if match is None:
            old.append(item)
            move_places(places, (*there, index), (*here, len(old) - 1))
        else:
            merge(old[match], item, (*here, match), (*there, index), places)
