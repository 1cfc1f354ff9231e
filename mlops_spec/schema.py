"""The JSON Schema of the spec language, generated from the pydantic models (one source)."""

from __future__ import annotations

import json
from typing import Any

from mlops_spec.spec import TrainingPipeline

SCHEMA_PATH = "schema/mlops-spec.schema.json"


def spec_schema() -> dict[str, Any]:
    schema = TrainingPipeline.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://mlops-spec.dev/schema/mlops-spec.schema.json",
        "title": "mlops-spec TrainingPipeline",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2, sort_keys=True) + "\n"
