"""`mlops-spec features add`: a parquet table becomes a Feast module, entity rows and a spec that
validates; bad input is one line, exit 1 and nothing written. No Feast import is needed."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from mlops_spec.cli import main
from mlops_spec.project import files as project_files
from mlops_spec.project.scaffold import create_project
from mlops_spec.project.table import feast_type

ROWS = 60


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("MLOPS_SPEC_"):
            monkeypatch.delenv(key)
    root = create_project(tmp_path / "proj")
    monkeypatch.chdir(root)
    return root


def table(rows: int = ROWS, **extra: object) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(1, rows + 1, dtype="int64"),
            "event_time": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(np.arange(rows), unit="D"),
            "income": rng.normal(50_000, 10_000, rows),
            "visits": rng.integers(0, 30, rows).astype("int32"),
            "plan": pd.Series(rng.choice(["basic", "pro"], rows), dtype=object),
            "active": rng.random(rows) > 0.5,
            "churned": rng.integers(0, 2, rows),
            "sex": rng.choice(["f", "m"], rows),
        }
    )
    for name, values in extra.items():
        frame[name] = values
    return frame


def write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def add(*args: str) -> int:
    return main(["features", "add", *args])


BASE = ("--entity", "customer_id", "--timestamp", "event_time")


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def fields(module: Path) -> dict[str, str]:
    """Field(name=..., dtype=...) pairs of the generated module, read from its syntax tree."""
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Field":
            kw = {k.arg: k.value for k in node.keywords}
            name, dtype = kw["name"], kw["dtype"]
            assert isinstance(name, ast.Constant) and isinstance(dtype, ast.Name)
            found[str(name.value)] = dtype.id
    return found


def test_table_to_module_entity_rows_and_a_valid_spec(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(table(), project / "data" / "customers.parquet")
    assert add("data/customers.parquet", *BASE, "--label", "churned", "--keep", "sex") == 0
    module = project / "feature_repo" / "customers.py"
    assert fields(module) == {
        "income": "Float64",
        "visits": "Int32",
        "plan": "String",
        "active": "Bool",
    }  # neither the label nor the kept column is a feature
    text = module.read_text()
    assert 'path=str((HERE / "../data/customers.parquet").resolve())' in text
    assert 'FeatureService(\n    name="customers_v1"' in text
    assert "import mlops_spec" not in text and "from mlops_spec" not in text
    rows = pq.read_table(project / "data/customers/entities.parquet")
    assert rows.column_names == ["customer_id", "event_time", "churned", "sex"]
    assert rows.num_rows == ROWS
    assert rows.schema.field("event_time").type == pa.timestamp("ns", tz="UTC")
    spec = yaml.safe_load((project / "specs/customers.yaml").read_text())
    assert spec["model"]["task"] == "binary_classification"
    assert "positive_label" not in spec["model"]  # 0/1 labels
    assert spec["features"] == {"repo": "feature_repo", "service": "customers_v1"}
    assert spec["constraints"]["fairness"]["sensitive"] == ["sex"]
    out = capsys.readouterr().out
    assert "4 features, service customers_v1" in out and "60 entity rows" in out
    assert main(["validate", "specs/"]) == 0


def test_text_labels_give_a_positive_class_and_multiclass(project: Path) -> None:
    frame = table()
    frame["outcome"] = np.where(frame["churned"] == 1, "left", "stayed")
    frame["tier"] = np.resize(["gold", "silver", "bronze"], ROWS)
    write(frame, project / "data" / "t.parquet")
    assert add("data/t.parquet", *BASE, "--label", "outcome", "--exclude", "churned,tier") == 0
    spec = yaml.safe_load((project / "specs/t.yaml").read_text())
    assert spec["model"]["positive_label"] == "stayed"  # the second class, said out loud
    assert add("data/t.parquet", *BASE, "--label", "tier", "--name", "tiers", "--exclude",
               "outcome,churned") == 0  # fmt: skip
    multi = yaml.safe_load((project / "specs/tiers.yaml").read_text())
    assert multi["model"]["task"] == "multiclass_classification"
    assert multi["tuning"]["metric"] == "f1_macro"
    assert main(["validate", "specs/"]) == 0


def test_a_numeric_target_is_a_regression(project: Path) -> None:
    write(table(), project / "data" / "spend.parquet")
    assert add("data/spend.parquet", *BASE, "--label", "income", "--exclude", "churned") == 0
    spec = yaml.safe_load((project / "specs/spend.yaml").read_text())
    assert spec["model"]["task"] == "regression"
    assert spec["model"]["estimator"].endswith("HistGradientBoostingRegressor")
    assert spec["tuning"]["metric"] == "r2"
    assert "fairness" not in spec["constraints"]
    assert main(["validate", "specs/spend.yaml"]) == 0


def test_timestamps_other_than_the_event_time_stay_out_of_the_service(project: Path) -> None:
    frame = table(signup=pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(ROWS), "D"))
    write(frame, project / "data" / "c.parquet")
    assert add("data/c.parquet", *BASE, "--label", "churned", "--ttl", "30d") == 0
    module = project / "feature_repo" / "c.py"
    assert fields(module)["signup"] == "UnixTimestamp"
    text = module.read_text()
    service = text.split("c_v1 = FeatureService")[1]
    assert "features=[c_features[[" in service and '"signup"' not in service
    assert "ttl=timedelta(days=30)" in text
    assert main(["validate", "specs/c.yaml"]) == 0


def test_a_table_outside_the_project_keeps_its_absolute_path(project: Path, tmp_path: Path) -> None:
    outside = write(table(), tmp_path / "warehouse" / "customers.parquet")
    assert add(str(outside), *BASE) == 0  # no label: features only
    text = (project / "feature_repo" / "customers.py").read_text()
    assert f"path={str(outside)!r}".replace("'", '"') in text and "HERE" not in text
    assert not (project / "specs" / "customers.yaml").exists()
    assert not (project / "data" / "customers").exists()


def test_naive_event_times_are_taken_as_utc(project: Path) -> None:
    frame = table()
    frame["event_time"] = frame["event_time"].dt.tz_localize(None)
    write(frame, project / "data" / "n.parquet")
    assert add("data/n.parquet", *BASE, "--label", "churned") == 0
    times = pd.read_parquet(project / "data/n/entities.parquet")["event_time"]
    assert str(times.dt.tz) == "UTC"
    assert (times.dt.tz_localize(None) == frame["event_time"]).all()


def test_unlabelled_rows_are_left_out_and_said_so(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = table()
    frame["score"] = np.where(np.arange(ROWS) < 5, np.nan, np.arange(ROWS) % 2)
    write(frame, project / "data" / "u.parquet")
    assert add("data/u.parquet", *BASE, "--label", "score", "--exclude", "churned") == 0
    assert pq.read_metadata(project / "data/u/entities.parquet").num_rows == ROWS - 5
    assert "5 rows without a label left out" in capsys.readouterr().out


def bad_tables() -> list[tuple[str, pd.DataFrame, tuple[str, ...], str]]:
    dup = table()
    dup.loc[1, ["customer_id", "event_time"]] = dup.loc[0, ["customer_id", "event_time"]]
    text_time = table()
    text_time["event_time"] = text_time["event_time"].astype(str)
    return [
        ("unknown column", table(), ("--label", "churn"), "no column 'churn' for --label"),
        ("did you mean", table(), ("--label", "churnd"), "did you mean 'churned'?"),
        ("float key", table(customer_id=np.linspace(0, 1, ROWS)), (), "an entity key is"),
        ("text time", text_time, (), "not a timestamp"),
        ("label twice", table(), ("--label", "churned", "--keep", "churned"), "both --label"),
        ("list feature", table(tags=[[1, 2]] * ROWS), ("--label", "churned"), "--exclude tags"),
        ("duplicates", dup, ("--label", "churned"), "1 (customer_id, event_time) pairs"),
        ("one class", table(churned=np.zeros(ROWS, "int64")), ("--label", "churned"), "1 distinct"),
        ("bad task", table(), ("--label", "plan", "--task", "regression"), "not numbers"),
    ]


@pytest.mark.parametrize(
    ("case", "frame", "extra", "message"), [pytest.param(*c, id=c[0]) for c in bad_tables()]
)
def test_bad_input_is_one_line_and_writes_nothing(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
    frame: pd.DataFrame,
    extra: tuple[str, ...],
    message: str,
) -> None:
    write(frame, project / "data" / "bad.parquet")
    before = snapshot(project)
    assert add("data/bad.parquet", *BASE, *extra) == 1, case
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert snapshot(project) == before


def test_missing_file_existing_module_and_bad_names(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add("data/nope.parquet", *BASE) == 1
    assert "file not found" in capsys.readouterr().err
    write(table(), project / "data" / "json.parquet")
    assert add("data/json.parquet", *BASE) == 1  # feast apply would import it as `json`
    assert "shadow the Python module" in capsys.readouterr().err
    assert add("data/json.parquet", *BASE, "--name", "Bad-Name") == 1
    assert add("data/json.parquet", *BASE, "--ttl", "soon", "--name", "j") == 1
    assert add("data/json.parquet", *BASE, "--name", "customers") == 0
    before = snapshot(project)
    assert add("data/json.parquet", *BASE, "--name", "customers") == 1
    assert "feature_repo/customers.py exists" in capsys.readouterr().err
    (project / "data" / "notes.txt").write_text("not parquet")
    assert add("data/notes.txt", *BASE) == 1
    assert "not a readable parquet file" in capsys.readouterr().err
    assert snapshot(project) - before == {"data/notes.txt"}


def test_outside_a_project_it_says_where_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write(table(), tmp_path / "t.parquet")
    assert add("t.parquet", *BASE) == 1
    assert "init --project" in capsys.readouterr().err


def test_a_failed_write_leaves_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(table(), project / "data" / "c.parquet")
    before = snapshot(project)
    real = os.replace
    calls = []

    def failing(src: str | Path, dst: str | Path) -> None:
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(project_files.os, "replace", failing)
    assert add("data/c.parquet", *BASE, "--label", "churned") == 1
    assert len(calls) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and "nothing was written" in err
    assert snapshot(project) == before


def test_feast_is_not_imported(project: Path) -> None:
    """Feast's import costs about 5 s; only `feast apply` and the runs need it."""
    write(table(), project / "data" / "c.parquet")
    code = (
        "import sys; from mlops_spec.cli import main; "
        "rc = main(['features', 'add', 'data/c.parquet', '--entity', 'customer_id', "
        "'--timestamp', 'event_time', '--label', 'churned']); "
        "assert rc == 0 and 'feast' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=project, check=True, capture_output=True)


@pytest.mark.parametrize(
    ("arrow", "feast"),
    [
        (pa.int8(), "Int32"),
        (pa.uint32(), "Int64"),
        (pa.int64(), "Int64"),
        (pa.float32(), "Float32"),
        (pa.float64(), "Float64"),
        (pa.string(), "String"),
        (pa.large_string(), "String"),
        (pa.dictionary(pa.int32(), pa.string()), "String"),
        (pa.bool_(), "Bool"),
        (pa.timestamp("us", tz="UTC"), "UnixTimestamp"),
        (pa.decimal128(10, 2), None),
        (pa.list_(pa.int64()), None),
        (pa.date32(), None),
    ],
)
def test_arrow_to_feast_types(arrow: pa.DataType, feast: str | None) -> None:
    assert feast_type(arrow) == feast
