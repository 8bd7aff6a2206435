"""Loading the definitions stays cheap: every `dagster` command and code-server start pays it."""

import subprocess
import sys

HEAVY = ("numpy", "pandas", "pyarrow", "pyspark", "pandera", "mlflow", "sklearn", "scipy")


def test_the_definitions_import_no_numeric_or_engine_library():
    code = (
        "import sys, mlplatform.definitions; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
