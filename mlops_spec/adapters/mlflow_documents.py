"""What the MLflow UI shows people about a model besides numbers: the data it saw, and the
descriptions of the registered model and of each version.

MLflow renders both descriptions as markdown on the model and version pages, and lists a
run's logged datasets (name, digest, source, context) under "Datasets"; these are its own
places for that, so the model card lives there rather than only as a file among artifacts.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import DatasetInput, InputTag
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from mlops_spec.adapters.mlflow_backend import backend_call
from mlops_spec.adapters.mlflow_tracking import client

__all__ = ["describe_model", "describe_version", "log_datasets", "model_description"]


def log_datasets(
    run_id: str, frames: Mapping[str, pd.DataFrame], *, name: str, source: str, label: str
) -> None:
    """Record each frame as a dataset input of the run, its key as the context.

    MLflow computes each dataset's digest and schema from the frame itself, so two runs on the
    same rows show the same digest in the UI. ``source`` is where the rows came from (the
    entity file the features were joined onto).
    """
    inputs = []
    for context, frame in frames.items():
        with warnings.catch_warnings():
            # MLflow warns that a local path matches its local source type twice, and that
            # integer columns cannot hold gaps: neither concerns a record of what was used.
            warnings.simplefilter("ignore", UserWarning)
            dataset = from_pandas(frame, source=source, name=f"{name}-{context}", targets=label)
        tags = [InputTag(key=MLFLOW_DATASET_CONTEXT, value=context)]
        inputs.append(DatasetInput(dataset=dataset._to_mlflow_entity(), tags=tags))
    with backend_call(f"log the datasets of run {run_id}"):
        client().log_inputs(run_id, datasets=inputs)


def describe_version(name: str, version: int, markdown: str) -> None:
    """Set the version page's description (its model card)."""
    with backend_call(f"describe {name} v{version}"):
        client().update_model_version(name, str(version), description=markdown)


def describe_model(name: str, markdown: str) -> None:
    """Set the registered model page's description."""
    with backend_call(f"describe {name}"):
        client().update_registered_model(name, description=markdown)


def model_description(name: str) -> str:
    """The registered model's current description ("" when it has none)."""
    with backend_call(f"read the description of {name}"):
        return str(client().get_registered_model(name).description or "")
