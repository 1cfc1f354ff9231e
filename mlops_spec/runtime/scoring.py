"""Batch scoring: the champion on new entity rows, with point-in-time features from Feast.

The input is a parquet file of entity rows (keys and event time, as in the spec's ``data``); the
features are joined exactly as for training (rows in == rows out), so a score is the model's
answer on what was known at each row's time. The output parquet carries the model name,
version and training run with every prediction, and is written atomically: a failed run leaves
no partial file. A whylogs profile of inputs and predictions goes to an MLflow scoring run, for
monitoring.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow
from prefect.runtime import flow_run

from mlops_spec.adapters import (
    data_files,
    mlflow_audit,
    mlflow_registry,
    mlflow_tracking,
    prediction,
)
from mlops_spec.errors import StepError
from mlops_spec.runtime import reports, steps
from mlops_spec.runtime.console import protect_logs
from mlops_spec.runtime.environment import command_settings
from mlops_spec.runtime.gates import AliasRole, alias_refusal
from mlops_spec.runtime.lineage import file_sha256
from mlops_spec.runtime.run_names import run_name_for
from mlops_spec.runtime.secret_blocks import use_secret_blocks
from mlops_spec.runtime.spec_cache import load_once
from mlops_spec.runtime.step_log import found


def check_input(source: Path, keys: list[str], shown: str) -> list[str]:
    """Fail early, naming the file, when the input is missing, unreadable or lacks a key.

    Only the file's schema is read, so the CLI can call this before a flow run starts.
    """
    data_files.require_columns(
        source, keys, what="input", shown=shown, required_as="entity column(s)"
    )
    return keys


def scoring_version(
    name: str, alias: str, version: int | None, other_alias: str | None = None
) -> mlflow_audit.VersionRecord:
    """The version to score with, refused in one line if its recorded verdict does not allow it.

    Through the promotion alias, the version must be allowed as champion (it passed every
    gate); a version named explicitly, by number or by another alias (``other_alias``), must
    at least have been judged. An unjudged version (no ``governance.verdict``) scores nothing
    either way.
    """
    if version is None:
        chosen = other_alias or alias
        if mlflow_registry.get_alias_version(name, chosen) is None:
            raise StepError(
                f"{name} has no {chosen!r} version to score with: train and promote one"
            )
        record = mlflow_audit.describe_version(name, chosen)
        role: AliasRole = "champion" if chosen == alias else "challenger"
        shown = f"{name}@{chosen} (v{record.version})"
    else:
        record = mlflow_audit.describe_version(name, str(version))
        role, shown = "challenger", f"{name} v{version}"
    refusal = alias_refusal(role, record.version_tags)
    if refusal is not None:
        raise StepError(f"{shown} may not score: {refusal}")
    return record


def _publish(
    name: str, version: int, scored: pd.DataFrame, input_path: str, output_path: str, run_id: str
) -> None:
    """The Prefect markdown artifact of a scoring run: what was scored, and the mean outputs."""
    reports.markdown(
        name,
        "scoring",
        f"# {name} v{version} scored {len(scored)} rows\n\n"
        f"input `{input_path}`, output `{output_path}`, MLflow scoring run `{run_id}`\n\n"
        + reports.markdown_table(
            [
                {"output": column, "mean": float(scored[column].mean())}
                for column in scored.columns
                if column.startswith(prediction.PROBA_PREFIX)
                or (
                    column == prediction.PREDICTION
                    and pd.api.types.is_numeric_dtype(scored[column])
                )
            ]
        ),
        "batch scoring with a registered version",
    )


def _log_scoring_run(
    name: str, version: int, X: pd.DataFrame, scored: pd.DataFrame, source: Path, target: Path
) -> str:
    """An MLflow scoring run with a whylogs profile of inputs and predictions (for monitoring);
    the output file is written inside it, so a failed run leaves no file. Its run id."""
    from mlops_spec.adapters import whylogs_profiling

    with tempfile.TemporaryDirectory() as tmp:
        view = whylogs_profiling.profile_frame(
            pd.concat([X.reset_index(drop=True), scored.filter(like="pred")], axis=1)
        )
        profile = whylogs_profiling.write_profile(view, Path(tmp) / "scoring_profile.bin")
        with mlflow_registry.tracked_run(
            name,
            str(flow_run.name or "score"),
            {
                "mlops_spec.kind": "scoring",
                "scoring.input": str(source),
                "scoring.input_sha256": file_sha256(source),
                "scoring.output": str(target),
                "scoring.model_version": str(version),
                "prefect.flow_run_id": str(flow_run.id or ""),
            },
        ) as run_id:
            mlflow_tracking.log_metrics(run_id, {"scoring.rows": float(len(scored))})
            mlflow_tracking.log_artifact_file(run_id, profile, "profiles")
            data_files.write_frame(scored, target)
    return run_id


@flow(name="mlops-spec-score", flow_run_name=run_name_for("score"), log_prints=True)
def score(
    spec_path: str,
    input_path: str,
    output_path: str,
    version: int | None = None,
    alias: str | None = None,
) -> dict[str, Any]:
    """Score ``input_path``'s entity rows with the champion (or ``version``); write
    ``output_path``. A version whose recorded verdict does not allow it is refused first.

    Args:
        spec_path: The spec whose model scores, relative to the project root (for example
            specs/penguins.yaml).
        input_path: A parquet file of entity rows: the spec's entity keys and event time.
        output_path: Where the predictions are written (parquet, replaced atomically).
        version: A registered version to score with instead of the champion (it must have
            been judged by the gates).
        alias: An alias whose version scores instead of the champion (for example
            challenger); ignored when ``version`` is given.
    """
    protect_logs()
    settings = command_settings()
    loaded = load_once(spec_path, settings)
    spec = loaded.spec
    name, other_alias = spec.metadata.name, alias
    alias = spec.governance.promotion.alias
    source = loaded.resolve(input_path)
    target = loaded.resolve(output_path)
    keys = check_input(source, [*spec.data.entity_keys, spec.data.timestamp], input_path)
    entities = data_files.read_frame(source, what="input", shown=input_path)

    use_secret_blocks()
    mlflow_tracking.configure(settings.tracking_uri, settings.artifact_root)
    champion = scoring_version(name, alias, version, other_alias)
    model = mlflow_registry.load_model(f"models:/{name}/{champion.version}")
    retrieved = steps.spec_features(loaded, entities[keys], file_sha256(source))
    features = list(getattr(model, "feature_names_in_", retrieved.feature_columns))
    X = retrieved.frame[features]
    answers = prediction.predict(model, X, spec.model.task)
    scored = pd.concat([entities[keys].reset_index(drop=True), answers], axis=1)
    scored["model_name"] = name
    scored["model_version"] = champion.version
    scored["model_run_id"] = champion.run_id
    scored["scoring_flow_run_id"] = str(flow_run.id or "")
    if len(scored) != len(entities):
        raise StepError(f"scored {len(scored)} rows for {len(entities)} input rows")

    run_id = _log_scoring_run(name, champion.version, X, scored, source, target)
    _publish(name, champion.version, scored, input_path, output_path, run_id)
    found(run_id, "scored %d rows with %s v%d -> %s", len(scored), name, champion.version, target)
    return {
        "model": name,
        "version": champion.version,
        "rows": len(scored),
        "output": str(target),
        "mlflow_run_id": run_id,
    }
