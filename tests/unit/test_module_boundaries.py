"""What the import contracts cannot see, checked on the source: modules meet through public
names, data files are read and written by the data-file adapter, and models are asked for
predictions by the prediction adapter alone (issue 16.2)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mlops_spec"

# Imports of another module's private names still to be made public.
PRIVATE_ALLOWED: set[tuple[str, str]] = set()

FILE_IO = {
    "read_parquet",
    "to_parquet",
    "read_csv",
    "to_csv",
    "read_table",
    "write_table",
    "read_schema",
    "ParquetFile",
}
FILE_IO_ALLOWED = {
    # the owner of parquet and CSV I/O
    "mlops_spec/adapters/data_files.py",
    # checks that a Feast FileSource can be read before Feast's DuckDB store reads it
    "mlops_spec/adapters/feast_store.py",
    # the loader sits below the adapters (validate imports none of them) and reads only an
    # entity file's schema and its label column, batch by batch
    "mlops_spec/loader/entity_file.py",
    # the demo data sets: raw downloads with per-source CSV options, and Feast sources written
    # with microsecond timestamps through pyarrow, which the frame-level adapter does not offer
    "mlops_spec/demo_data/_io.py",
    "mlops_spec/demo_data/adult.py",
    "mlops_spec/demo_data/compas.py",
    "mlops_spec/demo_data/flights.py",
    # project scaffolding reads a user's table at the arrow level (types, row groups, counts)
    # to generate Feast definitions, and writes the entity rows it derives
    "mlops_spec/project/features.py",
    "mlops_spec/project/table.py",
}

MODEL_METHODS = {"predict", "predict_proba", "predict_log_proba", "decision_function"}
MODEL_CALLS_ALLOWED = {
    # the one prediction function
    "mlops_spec/adapters/prediction.py",
    # the registered model's signature is inferred from what its pyfunc predict_fn returns on an
    # example: a description of the model, not an answer anyone is given
    "mlops_spec/adapters/mlflow_registry.py",
}


@cache
def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_names_used(tree: ast.Module) -> Iterator[str]:
    """Private names this module takes from other mlops_spec modules: imported by name, or read
    as an attribute of an imported mlops_spec module."""
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "mlops_spec":
                continue
            for alias in node.names:
                if _private(alias.name):
                    yield f"{node.module}.{alias.name}"
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mlops_spec":
                    imported[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
            and _private(node.attr)
        ):
            yield f"{imported[node.value.id]}.{node.attr}"


def calls_named(tree: ast.Module, names: set[str]) -> Iterator[tuple[int, str]]:
    """Calls of a function or method by one of ``names``, skipping calls of mlops_spec's own
    modules (``prediction.predict`` is the adapter, not a model)."""
    own = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlops_spec")
        for alias in node.names
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in names:
            if isinstance(func.value, ast.Name) and func.value.id in own:
                continue
            yield node.lineno, ast.unparse(func)
        elif isinstance(func, ast.Name) and func.id in names and func.id not in own:
            yield node.lineno, func.id


def test_no_module_imports_another_modules_private_names() -> None:
    found = {(module, name) for module, tree in _modules() for name in private_names_used(tree)}
    unexpected = sorted(found - PRIVATE_ALLOWED)
    assert not unexpected, "make these public in their module, or move them:\n" + "\n".join(
        f"{module}: {name}" for module, name in unexpected
    )


def test_only_the_data_file_adapter_reads_and_writes_data_files() -> None:
    found = [
        f"{module}:{line}: {call}"
        for module, tree in _modules()
        if module not in FILE_IO_ALLOWED
        for line, call in calls_named(tree, FILE_IO)
    ]
    assert not found, "use mlops_spec.adapters.data_files instead:\n" + "\n".join(found)


def test_only_the_prediction_adapter_asks_a_model_for_answers() -> None:
    found = [
        f"{module}:{line}: {call}"
        for module, tree in _modules()
        if module not in MODEL_CALLS_ALLOWED
        for line, call in calls_named(tree, MODEL_METHODS)
    ]
    assert not found, "use mlops_spec.adapters.prediction.predict instead:\n" + "\n".join(found)


def test_the_scans_see_what_they_look_for() -> None:
    source = (
        "import pandas as pd\n"
        "from mlops_spec.adapters import feast_store, prediction\n"
        "from mlops_spec.adapters.feast_store import _open_store\n"
        "frame = pd.read_parquet('x')\n"
        "frame.to_csv('y')\n"
        "feast_store._collect([])\n"
        "model.predict_proba(frame)\n"
        "prediction.predict(model, frame)\n"
    )
    tree = ast.parse(source)
    assert sorted(private_names_used(tree)) == [
        "mlops_spec.adapters.feast_store._collect",
        "mlops_spec.adapters.feast_store._open_store",
    ]
    assert [call for _, call in calls_named(tree, FILE_IO)] == ["pd.read_parquet", "frame.to_csv"]
    assert [call for _, call in calls_named(tree, MODEL_METHODS)] == ["model.predict_proba"]


def test_every_allowed_file_exists() -> None:
    """A renamed or deleted module must leave the allow-lists too."""
    listed = {m for m, _ in PRIVATE_ALLOWED} | FILE_IO_ALLOWED | MODEL_CALLS_ALLOWED
    assert not sorted(m for m in listed if not (ROOT / m).is_file())
