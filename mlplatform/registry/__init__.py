"""A model registry with Unity Catalog's semantics over mlplatform's MLflow store.

Code written for Databricks calls ``mlflow.set_registry_uri("databricks-uc")`` and registers
``catalog.schema.model`` names. mlplatform registers two MLflow plugins (entry points in
``pyproject.toml``): a model registry store for the ``databricks-uc`` scheme
(``uc_store.UcRegistryStore``, over the same database as the tracking store) and an artifact
repository for ``models:/`` URIs (``models_repo``) that resolves them through that store
instead of Databricks' Unity Catalog service.

MLflow loads the plugins while it imports itself: this package and ``models_repo`` import
nothing of MLflow at module level, ``uc_store`` only MLflow's public store modules.
"""
