"""Benchmark: a training run (`ml_training_job`) on 1M demo events, run by hand.

    python bench/training.py [--events 1000000] [--customers 25000] [--home DIR]

Generates demo data into a fresh home, refreshes the feature tables once (`feature_pipeline_job`,
timed separately), then times `dagster job execute -j ml_training_job` end to end twice (the
feature steps find nothing new; training, the model checks and the evaluation do the work; the
second run also scores a champion) and reports each step's duration from the run's event log,
plus the model's AUC against the ceiling.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - start


def step_durations(dagster_home: Path, job: str) -> tuple[dict[str, float], dict]:
    """Step durations (s) of the job's latest run, and the model's materialization metadata."""
    import dagster as dg
    from dagster import DagsterEventType
    from dagster._core.instance.ref import InstanceRef

    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
    [run] = instance.get_runs(filters=dg.RunsFilter(job_name=job), limit=1)
    steps = {
        e.step_key: e.dagster_event.event_specific_data.duration_ms / 1000
        for e in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_SUCCESS)
    }
    event = instance.get_latest_materialization_event(dg.AssetKey(["ml", "churn_model"]))
    meta = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    return steps, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=25_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--home", type=Path, default=None, help="default: a temporary folder")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="mlplatform-bench-training-"))
    if home.exists() and any(home.iterdir()):
        sys.exit(f"{home} is not empty; the benchmark needs a fresh home")
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True)
    shutil.copyfile(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env |= {"MLPLATFORM_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    os.environ.update({"MLPLATFORM_HOME": str(home), "DAGSTER_HOME": str(dagster_home)})

    generate = timed(
        [
            str(BIN / "mlplatform"),
            "demo-data",
            "--events",
            str(args.events),
            "--customers",
            str(args.customers),
            "--files",
            str(args.files),
        ],
        env,
    )
    dagster = [str(BIN / "dagster"), "job", "execute", "-m", "mlplatform.definitions", "-j"]
    features = timed([*dagster, "feature_pipeline_job"], env)
    print(f"home: {home}")
    print(f"demo data: {args.events:,} events, {args.customers:,} customers ({generate:.1f} s)")
    print(f"feature_pipeline_job (first refresh): {features:.1f} s wall")
    for attempt in ("first (creates the MLflow store)", "second (scores a champion too)"):
        if attempt.startswith("second"):  # what promote_model_sensor would have launched
            timed([str(BIN / "mlplatform"), "promote", "--version", "1", "--reason", "bench"], env)
        training = timed([*dagster, "ml_training_job"], env)
        steps, meta = step_durations(dagster_home, "ml_training_job")
        print(f"ml_training_job, {attempt}: {training:.1f} s wall (CLI start, code load, steps)")
        for step, seconds in steps.items():
            print(f"  {step:40s} {seconds:6.2f} s")
    print(
        f"model: version {meta['model_version']}, {meta['labelled_customers']:,} labelled "
        f"customers, holdout ROC AUC {meta['holdout_roc_auc']:.4f}, "
        f"ceiling {meta['ceiling_roc_auc']:.4f}"
    )
    sys.stdout.flush()
    os._exit(0)  # delta-rs can abort at interpreter exit; the work is done


if __name__ == "__main__":
    main()
