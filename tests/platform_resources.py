"""The platform's resources for tests that materialize assets or evaluate sensors directly (as
`mlplatform.definitions` binds them: unset fields read the test's environment at run time)."""


def platform_resources() -> dict:
    from mlplatform.definitions import platform_resources as resources

    return resources()


def sensor_resources() -> dict:
    """The resources a sensor takes (no MLflow run: a tick starts none)."""
    from mlplatform.lakehouse.resource import LakehouseResource

    return {"lakehouse": LakehouseResource()}
