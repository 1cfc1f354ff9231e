"""The monitoring flow: the newest batch against the champion's reference profile.

A batch is a file of entity rows (keys, event time), like the spec's training entities; its
features come from Feast point-in-time, exactly as training's did, so what is compared is what
the model would see. The reference is the whylogs profile the champion's training run logged
(``profiles/reference_profile.bin``). Every feature gets PSI, KS and Hellinger; the spec's
method and thresholds decide. The report is a Prefect table and markdown artifact and an MLflow
monitoring run (metrics per feature, ``reports/drift.json``, a plot, the batch profile). On
drift the flow emits a Prefect event; with ``on_drift: retrain`` the training deployment's
trigger (see ``mlops-spec deploy``) starts retraining: Prefect's automations do the reacting.
A scheduled monitor that has nothing to compare yet (no champion, no batch file) ends
Completed in a state named ``Skipped`` with the reason, not Failed with a traceback.
"""

from __future__ import annotations

import glob
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from prefect import State, flow, get_run_logger
from prefect.events import emit_event
from prefect.runtime import flow_run
from prefect.states import Completed

from mlops_spec.adapters import data_files, mlflow_audit, mlflow_registry, mlflow_tracking
from mlops_spec.errors import DataSourceError, NothingToMonitor, StepError
from mlops_spec.events import ALERT_EVENT, DRIFT_EVENT, model_resource_id
from mlops_spec.loader import LoadedSpec
from mlops_spec.runtime import reports, steps
from mlops_spec.runtime.console import protect_logs
from mlops_spec.runtime.environment import command_settings
from mlops_spec.runtime.lineage import file_sha256
from mlops_spec.runtime.run_names import run_name_for
from mlops_spec.runtime.secret_blocks import use_secret_blocks
from mlops_spec.runtime.spec_cache import load_once
from mlops_spec.runtime.step_log import found, run_link
from mlops_spec.settings import Settings
from mlops_spec.spec.operations import Drift

if TYPE_CHECKING:
    from mlops_spec.adapters.drift import FeatureDrift

REFERENCE_ARTIFACT = "profiles/reference_profile.bin"
SKIPPED = "Skipped"  # the Completed state of a monitor run with nothing to compare


def newest_batch(loaded: LoadedSpec, override: str | None) -> Path:
    """The batch to check: ``override``, or the last file (by name) matching the spec's glob."""
    monitoring = loaded.spec.monitoring
    pattern = override or (monitoring.batch if monitoring else None)
    if not pattern:
        raise StepError(
            f"{loaded.display_path}: monitoring.batch is not set; give a batch path or glob"
        )
    matches = sorted(glob.glob(str(loaded.resolve(pattern))))
    if not matches:
        raise NothingToMonitor(
            f"{pattern}: no batch file matches yet (monitoring.batch); "
            "`mlops-spec demo-data` writes the demo batches"
        )
    return Path(matches[-1])


def _read_batch(path: Path, needed: list[str]) -> pd.DataFrame:
    frame = data_files.read_frame(path, required=needed, what="batch")
    if frame.empty:
        raise DataSourceError(f"{path}: the batch has no rows")
    return frame


@flow(name="mlops-spec-monitor", flow_run_name=run_name_for("monitor"), log_prints=True)
def monitor(
    spec_path: str, batch: str | None = None, version: int | None = None, alias: str | None = None
) -> dict[str, Any] | State:
    """Compare the newest batch with the champion's reference; report; emit on drift.

    With no champion yet, or no batch file, there is nothing to compare: the run ends
    Completed in a state named Skipped that says why (a schedule that starts before the first
    promotion is not a failure).

    Args:
        spec_path: The spec whose model is monitored, relative to the project root (for
            example specs/adult_income.yaml).
        batch: A batch file or glob to check instead of the spec's monitoring.batch (the
            newest match by file name is checked).
        version: Compare with this registered version's reference profile instead of the
            champion's.
        alias: Compare with the reference of the version this alias names (for example
            challenger); ignored when ``version`` is given.
    """
    protect_logs()
    settings = command_settings()
    loaded = load_once(spec_path, settings)
    try:
        return check_newest_batch(loaded, settings, batch, reference=(version, alias))
    except NothingToMonitor as exc:
        get_run_logger().warning("skipped: %s", exc)
        skipped = {"model": loaded.spec.metadata.name, "skipped": str(exc)}
        return Completed(name=SKIPPED, message=str(exc), data=skipped)


def check_newest_batch(
    loaded: LoadedSpec,
    settings: Settings,
    batch: str | None,
    reference: tuple[int | None, str | None] = (None, None),
) -> dict[str, Any]:
    """The monitor's work: the batch's features from Feast, drift per feature against the
    champion's reference (or ``reference``'s: a version or an alias), reports, the event."""
    logger = get_run_logger()
    spec = loaded.spec
    name = spec.metadata.name
    if spec.monitoring is None:
        raise StepError(f"{loaded.display_path}: the spec has no monitoring block")
    monitoring = spec.monitoring
    use_secret_blocks()
    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    champion = _reference_version(name, spec.governance.promotion.alias, *reference)
    batch_path = newest_batch(loaded, batch)
    entities = _read_batch(batch_path, [*spec.data.entity_keys, spec.data.timestamp])
    retrieved = steps.spec_features(loaded, entities, file_sha256(batch_path))
    features = [c for c in retrieved.feature_columns if c != spec.data.label]
    results, run_id = _measure_drift(
        loaded, monitoring.drift, champion, batch_path, retrieved.frame[features]
    )
    drifted = [r.feature for r in results if r.drifted]
    records = [r.to_record() for r in results]
    verdict = f"drift in {', '.join(drifted)}" if drifted else "no drift"
    _publish(
        name,
        monitoring.drift,
        champion.version,
        batch_path,
        len(entities),
        records,
        verdict,
        run_id,
    )
    event = None
    if drifted:
        event = DRIFT_EVENT if monitoring.on_drift == "retrain" else ALERT_EVENT
        _emit(event, loaded, champion.version, batch_path, drifted, run_id)
        logger.warning("%s: %s; emitted %s (%s)", name, verdict, event, run_link(run_id))
    else:
        found(
            run_id,
            "%s: %s in %s against champion v%d",
            name,
            verdict,
            batch_path.name,
            champion.version,
        )
    return {
        "model": name,
        "champion_version": champion.version,
        "batch": str(batch_path),
        "drifted": drifted,
        "event": event,
        "mlflow_run_id": run_id,
        "features": records,
    }


def _reference_version(
    name: str, alias: str, version: int | None, other_alias: str | None
) -> mlflow_audit.VersionRecord:
    """The version to compare with: the promotion alias's, or the one asked for, which must
    have a training run (the reference profile is one of its artifacts). A missing champion
    is nothing to do yet; a missing version or alias that was asked for is an error."""
    if version is not None:
        champion = mlflow_audit.describe_version(name, str(version))
        alias = f"v{version}"
    else:
        if other_alias is not None:
            if mlflow_registry.get_alias_version(name, other_alias) is None:
                raise StepError(f"{name} has no {other_alias!r} version to compare with")
            alias = other_alias
        elif mlflow_registry.get_alias_version(name, alias) is None:
            raise NothingToMonitor(
                f"{name} has no {alias!r} version to monitor yet: train and promote one"
            )
        champion = mlflow_audit.describe_version(name, alias)
    if champion.run_id is None:
        raise StepError(f"{name}@{alias} (v{champion.version}) has no training run to compare with")
    return champion


def _measure_drift(
    loaded: LoadedSpec,
    drift: Drift,
    champion: mlflow_audit.VersionRecord,
    batch_path: Path,
    frame: pd.DataFrame,
) -> tuple[list[FeatureDrift], str]:
    """Each feature's drift from the champion's reference profile to the batch, recorded as an
    MLflow monitoring run; with that run's id. The profiles live in a temporary folder only
    until MLflow has them."""
    from mlops_spec.adapters import whylogs_profiling
    from mlops_spec.adapters.drift import feature_drift

    assert champion.run_id is not None
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow_audit.download_artifact(champion.run_id, REFERENCE_ARTIFACT, Path(tmp))
        reference = whylogs_profiling.read_profile(local)
        batch_view = whylogs_profiling.profile_frame(frame)
        batch_profile = whylogs_profiling.write_profile(batch_view, Path(tmp) / "batch.bin")
        results = feature_drift(
            reference,
            batch_view,
            list(frame.columns),
            method=drift.method.value,
            threshold=drift.threshold,
            per_feature=drift.features,
        )
        run_id = _log_monitoring_run(
            loaded, drift, champion.version, batch_path, results, batch_profile
        )
    return results, run_id


def _log_monitoring_run(
    loaded: LoadedSpec,
    drift: Drift,
    champion_version: int,
    batch_path: Path,
    results: list[FeatureDrift],
    batch_profile: Path,
) -> str:
    """The MLflow monitoring run: drift metrics per feature, ``reports/drift.json``, a plot and
    the batch profile; its run id."""
    from mlops_spec.adapters import plots

    drifted = [r.feature for r in results if r.drifted]
    with mlflow_registry.tracked_run(
        loaded.spec.metadata.name,
        str(flow_run.name or "monitor"),
        {
            "mlops_spec.kind": "monitoring",
            "mlops_spec.spec_hash": loaded.content_hash,
            "monitoring.batch": str(batch_path),
            "monitoring.batch_sha256": file_sha256(batch_path),
            "monitoring.champion_version": str(champion_version),
            "monitoring.drifted": ",".join(drifted),
            "prefect.flow_run_id": str(flow_run.id or ""),
        },
    ) as run_id:
        mlflow_tracking.log_metrics(
            run_id,
            {
                f"drift.{r.feature}.{key}": value
                for r in results
                for key, value in (("psi", r.psi), ("ks", r.ks), ("hellinger", r.hellinger))
                if value is not None and value != float("inf")
            }
            | {"drift.features_drifted": float(len(drifted))},
        )
        records = [r.to_record() for r in results]
        mlflow_tracking.log_dict(run_id, {"features": records}, "reports/drift.json")
        figure = plots.drift_figure(
            [r.feature for r in results],
            [r.score if r.score is not None else 0.0 for r in results],
            [r.threshold for r in results],
            drift.method.value,
        )
        mlflow_tracking.log_figure(run_id, figure, "reports/drift.png")
        mlflow_tracking.log_artifact_file(run_id, batch_profile, "profiles")
    return run_id


def _publish(
    name: str,
    drift: Drift,
    champion_version: int,
    batch_path: Path,
    rows: int,
    records: list[dict[str, Any]],
    verdict: str,
    run_id: str,
) -> None:
    """The Prefect artifacts: the drift table, and a summary of what was compared with what."""
    reports.table(
        name,
        "drift",
        records,
        f"{drift.method.value} per feature vs v{champion_version}",
    )
    reports.markdown(
        name,
        "drift-summary",
        f"# {name}: {verdict}\n\n"
        f"batch `{batch_path.name}` ({rows} rows) against the reference profile of "
        f"champion v{champion_version}; method {drift.method.value}, threshold "
        f"{drift.threshold} (per feature: {dict(drift.features) or 'none'});"
        f" MLflow run `{run_id}`\n\n" + reports.markdown_table(records),
        "the newest batch compared with the champion's training profile",
    )


def _emit(
    event: str,
    loaded: LoadedSpec,
    champion_version: int,
    batch_path: Path,
    drifted: list[str],
    run_id: str,
) -> None:
    """The Prefect event a retraining trigger (``on_drift: retrain``) or an alert reacts to."""
    name = loaded.spec.metadata.name
    emit_event(
        event=event,
        resource={
            "prefect.resource.id": model_resource_id(name),
            "prefect.resource.name": name,
            "mlops-spec.spec_path": loaded.display_path,
        },
        payload={
            "drifted": drifted,
            "batch": str(batch_path),
            "champion_version": champion_version,
            "mlflow_run_id": run_id,
        },
    )
