"""Names shared across domains: the registry aliases, the evaluation decisions and model tags.

Cheap to import (no dependencies): every domain reads these, none defines its own copy. What a
project names (its registered models, feature columns, tables) comes from its declaration
(`mlplatform.training.lifecycle.ModelLifecycle`), not from here.
"""

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"

PROMOTE, SKIP = "promote", "skip"
"""Values of the evaluation's `decision` metadata (read by the promotion sensor)."""

AS_OF_TAG = "as_of"
"""Model version tag: the ISO time derived features were measured against (score with the same)."""
FEATURES_TAG = "feature_columns"
"""Model version tag: JSON list of the model's input columns."""
DELTA_VERSION_TAG = "delta_version."
"""Prefix of the model version tags holding the Delta version of each table read, e.g.
`delta_version.ml/<model>_training_set`: what the version was trained on, the baseline monitoring
compares the served features with (`Table.version_tag`)."""
