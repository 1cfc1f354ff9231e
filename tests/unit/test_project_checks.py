"""Data-aware validation: the spec against its entity file and Feast repo, without Feast.

Each of the four problems below used to pass `validate` and stop `run` 40-60 s in; each is now
a located error. The static reading of Feast definitions is compared with Feast's own, and
what it cannot read must never become an error.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_spec.errors import SpecError, SpecIssue
from mlops_spec.loader import load_spec
from mlops_spec.loader.feast_static import read_definitions
from mlops_spec.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
ADULT = (ROOT / "specs" / "adult_income.yaml").read_text()
PENGUINS = (ROOT / "specs" / "penguins.yaml").read_text()
ROWS = 40


def _entities(path: Path, columns: dict[str, list[object]]) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    table = pa.table({"event_timestamp": [start + timedelta(hours=i) for i in range(ROWS)]})
    for name, values in columns.items():
        table = table.append_column(name, pa.array(values))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo repo's definitions and policy, with small entity files shaped like the demo's."""
    monkeypatch.delenv("MLOPS_SPEC_DATA_DIR", raising=False)
    shutil.copytree(ROOT / "feature_repo", tmp_path / "feature_repo")
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    data = tmp_path / ".mlops" / "data"
    _entities(
        data / "adult" / "entities.parquet",
        {
            "person_id": list(range(ROWS)),
            "income_gt_50k": [i % 2 for i in range(ROWS)],
            "sex": ["Female", "Male"] * (ROWS // 2),
            "race": ["White", "Black"] * (ROWS // 2),
            "age_band": ["young", "old"] * (ROWS // 2),
        },
    )
    _entities(
        data / "penguins" / "entities.parquet",
        {
            "penguin_id": list(range(ROWS)),
            "species": ["Adelie", "Gentoo"] * (ROWS // 2),
            "body_mass_g": [3000.0 + i for i in range(ROWS)],
        },
    )
    return tmp_path


def _issues(root: Path, text: str, name: str = "spec.yaml") -> list[SpecIssue]:
    spec = root / "specs" / name
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(text)
    try:
        load_spec(spec, Settings(project_root=root))
    except SpecError as exc:
        return exc.issues
    return []


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


def test_demo_specs_are_valid_against_their_data(project: Path) -> None:
    assert _issues(project, ADULT) == []
    assert _issues(project, PENGUINS) == []


def test_misspelled_service(project: Path) -> None:
    text = _edit(ADULT, "service: adult_features_v1", "service: adult_feature_v1")
    [issue] = _issues(project, text)
    assert (issue.key_path, issue.line) == ("features.service", 16)
    assert "'adult_feature_v1' is not defined in feature_repo" in issue.message
    assert issue.hint == "did you mean 'adult_features_v1'?"


def test_without_check_data_the_data_is_not_read(project: Path) -> None:
    """plan loads with check_data=False: a data mistake is validate's and run's to report."""
    spec = project / "specs" / "spec.yaml"
    spec.parent.mkdir()
    spec.write_text(_edit(ADULT, "service: adult_features_v1", "service: adult_feature_v1"))
    assert load_spec(spec, Settings(project_root=project), check_data=False).spec
    with pytest.raises(SpecError):
        load_spec(spec, Settings(project_root=project))


def test_misspelled_constraint_column(project: Path) -> None:
    text = _edit(ADULT, "{column: hours_per_week,", "{column: hours_per_wek,")
    [issue] = _issues(project, text)
    assert issue.key_path == "constraints.data.1.column"
    assert "neither in the entity file nor a feature of service" in issue.message
    assert issue.hint == "did you mean 'hours_per_week'?"


def test_unknown_estimator_parameter(project: Path) -> None:
    text = _edit(ADULT, "params: {max_iter: 200,", "params: {max_iterr: 200,")
    [issue] = _issues(project, text)
    assert issue.key_path == "model.params.max_iterr"
    assert issue.message == "'max_iterr' is not a parameter of HistGradientBoostingClassifier"
    assert issue.hint == "did you mean 'max_iter'?"


def test_stratified_split_for_a_regression(project: Path) -> None:
    text = _edit(PENGUINS, "task: multiclass_classification", "task: regression")
    text = _edit(text, "sklearn.linear_model.LogisticRegression", "sklearn.linear_model.Ridge")
    text = _edit(text, "params: {max_iter: 2000}", "params: {max_iter: 200}")
    text = _edit(text, "    C: {float:", "    alpha: {float:")
    text = _edit(text, "metric: f1_macro\n", "metric: rmse\n")
    text = text.replace("{metric: accuracy, min: 0.9}", "{metric: r2, min: 0.1}")
    text = text.replace("metric: f1_macro,", "metric: r2,")
    issues = _issues(project, text)
    assert [i.key_path for i in issues][:1] == ["split.method"]
    assert "stratified split" in issues[0].message and issues[0].line == 16
    # the label is text: a regression cannot learn it either
    assert any(i.key_path == "model.task" and "numeric label" in i.message for i in issues)


def test_label_values_against_the_task(project: Path) -> None:
    three = _edit(ADULT, "label: income_gt_50k", "label: race")
    three = _edit(three, "sensitive: [sex, race]", "sensitive: [sex]")
    _entities(
        project / ".mlops" / "data" / "adult" / "entities.parquet",
        {
            "person_id": list(range(ROWS)),
            "income_gt_50k": [None] + [i % 2 for i in range(1, ROWS)],
            "sex": ["Female", "Male"] * (ROWS // 2),
            "race": ["White", "Black", "Asian", "Other"] * (ROWS // 4),
            "age_band": ["young", "old"] * (ROWS // 2),
        },
    )
    [issue] = [i for i in _issues(project, three) if i.key_path == "model.task"]
    assert "binary task needs 2 label values; 'race' has 4 distinct values" in issue.message
    [missing] = _issues(project, ADULT)
    assert (missing.key_path, missing.message) == (
        "data.label",
        f"1 of {ROWS} entity rows have no 'income_gt_50k'",
    )


def test_entity_columns_and_join_keys(project: Path) -> None:
    _entities(
        project / ".mlops" / "data" / "penguins" / "entities.parquet",
        {"penguin": list(range(ROWS)), "species": ["Adelie", "Gentoo"] * (ROWS // 2)},
    )
    issues = _issues(project, PENGUINS)
    assert [i.key_path for i in issues] == ["features.service", "data.entity_key"]
    assert "view 'penguin_features' joins on 'penguin_id', which the entity file lacks" in (
        issues[0].message
    )
    assert issues[1].message == "column 'penguin_id' is not in the entity file"
    assert issues[1].hint == "did you mean 'penguin'?"


def test_skipped_when_the_data_is_absent(project: Path) -> None:
    shutil.rmtree(project / ".mlops")
    text = _edit(ADULT, "service: adult_features_v1", "service: adult_feature_v1")
    assert _issues(project, text) == []  # the run will say; validate cannot know yet
    shutil.rmtree(project / "feature_repo")
    assert _issues(project, ADULT) == []


# --- the static reader ----------------------------------------------------------------------


def _feast_view(repo: Path) -> dict[str, object]:
    """What Feast itself parses from ``repo`` (services, view features, view join keys)."""
    from feast.repo_operations import parse_repo

    sys.path.insert(0, str(repo))
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in the repo
    try:
        contents = parse_repo(repo.resolve())
    finally:
        sys.dont_write_bytecode = saved
        sys.path.remove(str(repo))
        for name in [m for m in sys.modules if m.startswith(("demo_", "corpus_"))]:
            del sys.modules[name]
    keys = {e.name: e.join_key for e in contents.entities}
    return {
        "services": {
            s.name: [
                (p.name_to_use(), [f.name for f in p.features]) for p in s.feature_view_projections
            ]
            for s in contents.feature_services
        },
        "views": {
            v.name: ([f.name for f in v.features], [keys[e] for e in v.entities])
            for v in contents.feature_views
        },
    }


@pytest.mark.parametrize(
    "repo", [ROOT / "feature_repo", CORPUS / "feature_repo"], ids=["demo", "corpus"]
)
def test_static_reading_agrees_with_feast(repo: Path) -> None:
    found = read_definitions(repo)
    assert found.views_complete and found.services_complete
    static = {
        "services": {
            name: [(view.name, list(features)) for view, features in service.projections or ()]
            for name, service in found.services.items()
        },
        "views": {
            name: (list(view.features or ()), list(view.join_keys or ()))
            for name, view in found.views.items()
        },
    }
    assert static == _feast_view(repo)


UNREADABLE = {
    "helper": (
        "from feast import FeatureView, Field\nfrom feast.types import Int64\n"
        "def view(name):\n"
        "    return FeatureView(name=name, schema=[Field(name='x', dtype=Int64)])\n"
        "hidden = view('hidden')\n"
    ),
    "kwargs": (
        "from feast import FeatureView, FeatureService\nCOMMON = dict(name='hidden')\n"
        "hidden = FeatureView(**COMMON)\nsvc = FeatureService(**{'name': 'other'})\n"
    ),
    "outside-package": "from shared_features import hidden\n",
    "on-demand": (
        "from feast import on_demand_feature_view\n@on_demand_feature_view(sources=[])\n"
        "def hidden(df):\n    return df\n"
    ),
    "syntax-error": "from feast import FeatureView\nhidden = FeatureView(name='hidden'\n",
}


@pytest.mark.parametrize("source", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_what_cannot_be_read_is_not_an_error(project: Path, source: str) -> None:
    """Definitions the reader cannot see may exist: no 'not defined' for them."""
    (project / "feature_repo" / "extra_defs.py").write_text(source)
    refs = _edit(PENGUINS, "  service: penguin_features_v1", "  refs: [hidden:x]")
    assert not [i for i in _issues(project, refs) if i.key_path.startswith("features")]
    if "FeatureService" in source or "shared_features" in source or "syntax" in source:
        service = _edit(PENGUINS, "service: penguin_features_v1", "service: other")
        assert not [i for i in _issues(project, service) if i.key_path.startswith("features")]


def test_validate_with_data_stays_light_and_fast(project: Path) -> None:
    """validate reads the data with pyarrow (so numpy), without Feast, scikit-learn, Prefect,
    MLflow, whylogs or pandas."""
    (project / "specs").mkdir()
    (project / "specs" / "adult.yaml").write_text(ADULT)
    code = (
        "import sys, time; t = time.perf_counter(); from mlops_spec.cli import main;"
        "code = main(['validate', 'specs/adult.yaml']); took = time.perf_counter() - t;"
        "heavy = {'feast', 'sklearn', 'prefect', 'mlflow', 'whylogs', 'pandas'};"
        "print(code, sorted(heavy & {m.split('.')[0] for m in sys.modules}), took,"
        " 'pyarrow' in sys.modules)"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(project)},
    )
    wall = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("0 [] ") and last.endswith(" True"), result.stdout  # data read
    assert wall < 2.0, f"validate took {wall:.2f}s"
