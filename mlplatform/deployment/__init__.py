"""Per-environment deployment: the bundle in deploy/, its rendered manifests and their validation.

`mlplatform deploy --target T` merges deploy/base.yaml with deploy/targets/T.yaml (as Databricks
Asset Bundles merge a target over the bundle), validates the result offline and renders the Dagster
instance, the workspace, the Helm values of the code-location deployment and the container image.
"""
