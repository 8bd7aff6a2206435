"""What the project declares about the model `mlplatform serve` serves: its identifier columns
(lookup keys) and online table, read from the model asset's metadata in the project's
definitions (`ModelLifecycle.serving_metadata`)."""

from __future__ import annotations

import json

import click


def served_declaration(model: str | None) -> tuple[str, tuple[str, ...], str | None]:
    """(registered model, identifier columns, online table) of `model` (default: the project's
    first registered model). A model the project does not declare is served without
    identifiers or lookup.

    Raises:
        click.ClickException: no model named and no project to take the default from.
    """
    from mlplatform.project_loading import ProjectError, default_model, project_definitions

    try:
        name = model or default_model()
        defs = project_definitions()
    except ProjectError as err:
        if model is None:
            raise click.ClickException(f"{err} (or name the model with --model)") from err
        return model, (), None
    # the assets' own specs: resolving the whole repository would also need the resources
    # (`mlplatform.definitions` adds them), which reading metadata does not
    specs = (spec for asset in defs.assets or () for spec in getattr(asset, "specs", [asset]))
    for spec in specs:
        meta = spec.metadata
        if meta.get("mlplatform/registered_model") == name:
            ids = tuple(json.loads(meta.get("mlplatform/id_columns") or "[]"))
            return name, ids, meta.get("mlplatform/online_table") or None
    return name, (), None
