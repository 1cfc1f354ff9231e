"""Loader behaviour beyond the corpus: interpolation, policies, hashing, positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_spec.errors import SpecError
from mlops_spec.loader import load_spec
from mlops_spec.settings import Settings
from mlops_spec.spec import ThresholdGate

CORPUS_BASE = (Path(__file__).resolve().parents[1] / "corpus" / "base.yaml").read_text()


def _project(tmp_path: Path, spec_text: str, **files: str) -> tuple[Path, Settings]:
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    spec = tmp_path / "specs" / "s.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(spec_text)
    return spec, Settings(project_root=tmp_path)


def test_base_spec_is_valid(tmp_path: Path) -> None:
    spec, settings = _project(tmp_path, CORPUS_BASE)
    loaded = load_spec(spec, settings)
    assert loaded.spec.metadata.name == "corpus-case"
    assert len(loaded.content_hash) == 64


def test_env_interpolation_types_plain_scalars(tmp_path: Path) -> None:
    text = CORPUS_BASE.replace("n_trials: 5", "n_trials: ${TRIALS}").replace(
        "data/rows.parquet", "${DATA_DIR:-data}/rows.parquet"
    )
    spec, settings = _project(tmp_path, text)
    loaded = load_spec(spec, settings, env={"TRIALS": "17"})
    assert loaded.spec.tuning is not None and loaded.spec.tuning.n_trials == 17
    assert loaded.spec.data.entities == "data/rows.parquet"
    other = load_spec(spec, settings, env={"TRIALS": "17", "DATA_DIR": "elsewhere"})
    assert other.spec.data.entities == "elsewhere/rows.parquet"
    assert other.content_hash != loaded.content_hash


def test_dollar_escape(tmp_path: Path) -> None:
    text = CORPUS_BASE.replace("a case of the bad-input corpus", "'costs $$5 per ${UNIT}'")
    spec, settings = _project(tmp_path, text)
    loaded = load_spec(spec, settings, env={"UNIT": "run"})
    assert loaded.spec.metadata.description == "costs $5 per run"


def test_policy_merged_under_spec(tmp_path: Path) -> None:
    policy = (
        "kind: Policy\nextends: policies/base.yaml\ngovernance:\n"
        "  gates: [{metric: accuracy, min: 0.6}]\n  promotion: {approval: required}\n"
    )
    base = "kind: Policy\ngovernance:\n  required_metadata: [owner]\n"
    text = CORPUS_BASE.replace("governance:\n", "governance:\n  policy: policies/team.yaml\n")
    spec, settings = _project(
        tmp_path,
        text,
        **{
            "policies/team.yaml": policy,
            "policies/base.yaml": base,
        },
    )
    loaded = load_spec(spec, settings)
    governance = loaded.spec.governance
    # the spec's gates replace the policy's list; mappings merge key by key
    assert governance.gates == [ThresholdGate(metric="roc_auc", min=0.7)]
    assert governance.promotion.approval == "required"
    assert governance.required_metadata == ["owner"]
    assert [Path(s).name for s in loaded.sources] == ["s.yaml", "team.yaml", "base.yaml"]


def test_hash_ignores_formatting(tmp_path: Path) -> None:
    spec, settings = _project(tmp_path, CORPUS_BASE)
    first = load_spec(spec, settings).content_hash
    spec.write_text("# a comment\n" + CORPUS_BASE.replace("n_trials: 5", "n_trials:    5"))
    assert load_spec(spec, settings).content_hash == first
    spec.write_text(CORPUS_BASE.replace("n_trials: 5", "n_trials: 6"))
    assert load_spec(spec, settings).content_hash != first


def test_every_issue_reported(tmp_path: Path) -> None:
    text = (
        CORPUS_BASE.replace("n_trials: 5", "n_trails: 5")
        .replace("ownr", "x")
        .replace("  owner: team@example.com", "  ownr: team@example.com")
    )
    spec, settings = _project(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_spec(spec, settings)
    keys = {issue.key_path for issue in caught.value.issues}
    assert {"tuning.n_trails", "metadata.ownr", "metadata.owner"} <= keys


def test_the_estimator_is_checked_when_other_keys_are_wrong(tmp_path: Path) -> None:
    """The allow-list runs on the written estimator even when the models fail elsewhere."""
    text = CORPUS_BASE.replace("n_trials: 5", "n_trails: 5").replace(
        "HistGradientBoostingClassifier", "HistGradientBoostingClasifier"
    )
    spec, settings = _project(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_spec(spec, settings)
    by_key = {issue.key_path: issue for issue in caught.value.issues}
    assert set(by_key) == {"tuning.n_trails", "model.estimator"}
    estimator = by_key["model.estimator"]
    assert estimator.line == 17 and "allow-list" in estimator.message
    assert "HistGradientBoostingClassifier" in (estimator.hint or "")


def test_a_policy_file_is_validated_as_a_policy(tmp_path: Path) -> None:
    from mlops_spec.loader import validate_file

    good = "kind: Policy\ngovernance:\n  gates: [{metric: accuracy, min: 0.6}]\n"
    bad = "kind: Policy\ntuning:\n  timeout: soon\ngovernance:\n  gatez: []\n"
    _, settings = _project(tmp_path, CORPUS_BASE, **{"p/good.yaml": good, "p/bad.yaml": bad})
    assert validate_file(tmp_path / "p/good.yaml", settings) == "p/good.yaml: ok (policy)"
    with pytest.raises(SpecError) as caught:
        validate_file(tmp_path / "p/bad.yaml", settings)
    found = {(issue.key_path, issue.line) for issue in caught.value.issues}
    assert {key for key, _ in found} == {"tuning.timeout", "governance"}, found
    assert ("tuning.timeout", 3) in found


def test_outside_root_allowed_by_settings(tmp_path: Path) -> None:
    text = CORPUS_BASE.replace("data/rows.parquet", "/srv/shared/rows.parquet")
    spec, _ = _project(tmp_path, text)
    settings = Settings(project_root=tmp_path, allow_paths_outside_root=True)
    assert load_spec(spec, settings).spec.data.entities == "/srv/shared/rows.parquet"


def test_extra_estimators_from_settings(tmp_path: Path) -> None:
    text = CORPUS_BASE.replace(
        "sklearn.ensemble.HistGradientBoostingClassifier", "sklearn.tree.DecisionTreeClassifier"
    ).replace("learning_rate:", "ccp_alpha:")
    spec, _ = _project(tmp_path, text)
    with pytest.raises(SpecError):
        load_spec(spec, Settings(project_root=tmp_path))
    settings = Settings(
        project_root=tmp_path, extra_estimators=["sklearn.tree.DecisionTreeClassifier"]
    )
    assert load_spec(spec, settings).spec.model.estimator.endswith("DecisionTreeClassifier")


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://ml:s3cr3t@db:5432/features",
        "see redis://:hunter22@cache:6379/0 for details",
        "https://user:pa%40ss@example.com/path",
    ],
)
def test_url_with_password_refused_whatever_the_name(tmp_path: Path, value: str) -> None:
    text = CORPUS_BASE.replace("a case of the bad-input corpus", "${FEATURE_NOTES}")
    spec, settings = _project(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_spec(spec, settings, env={"FEATURE_NOTES": value})
    [issue] = caught.value.issues
    assert issue.message.startswith("'${FEATURE_NOTES}' holds a URL with a password")
    assert "s3cr3t" not in issue.render() and "hunter22" not in issue.render()


def test_url_without_password_is_fine(tmp_path: Path) -> None:
    text = CORPUS_BASE.replace("a case of the bad-input corpus", "'${DOCS_URL}'")
    spec, settings = _project(tmp_path, text)
    loaded = load_spec(spec, settings, env={"DOCS_URL": "https://user@example.com/docs"})
    assert loaded.spec.metadata.description == "https://user@example.com/docs"


@pytest.mark.parametrize(
    "name", ["MLOPS_SPEC_MLFLOW_TRACKING_URI", "mlops_spec_optuna_storage", "PREFECT_API_URL"]
)
def test_connection_settings_are_not_spec_values(tmp_path: Path, name: str) -> None:
    text = CORPUS_BASE.replace("a case of the bad-input corpus", f"${{{name}:-x}}")
    spec, settings = _project(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_spec(spec, settings, env={name: "sqlite:///mlflow.db"})
    assert "is a connection setting of mlops-spec" in caught.value.issues[0].message


def test_connection_settings_name_settings_fields() -> None:
    from mlops_spec.secrets import CONNECTION_SETTINGS

    ours = {n.removeprefix("MLOPS_SPEC_").lower() for n in CONNECTION_SETTINGS if "MLOPS" in n}
    assert ours <= set(Settings.model_fields)
    assert {"mlflow_tracking_uri", "optuna_storage", "prefect_api_url"} <= ours


def test_lookalike_key_is_named_and_not_reported_missing(tmp_path: Path) -> None:
    spec, settings = _project(tmp_path, CORPUS_BASE.replace("model:\n", "m\u043edel:\n"))
    with pytest.raises(SpecError) as caught:
        load_spec(spec, settings)
    [issue] = caught.value.issues
    assert issue.message == "unknown key 'm\u043edel'"
    assert issue.hint == (
        "key 'm\u043edel' contains U+043E CYRILLIC SMALL LETTER O; did you mean 'model'?"
    )


def test_policy_cannot_promote_to_challenger(tmp_path: Path) -> None:
    policy = "kind: Policy\ngovernance:\n  promotion: {alias: challenger}\n"
    text = CORPUS_BASE.replace("governance:\n", "governance:\n  policy: policies/p.yaml\n")
    spec, settings = _project(tmp_path, text, **{"policies/p.yaml": policy})
    with pytest.raises(SpecError) as caught:
        load_spec(spec, settings)
    [issue] = caught.value.issues
    assert (issue.file, issue.line, issue.key_path) == (
        "policies/p.yaml",
        3,
        "governance.promotion.alias",
    )


def test_hostile_values_are_located(tmp_path: Path) -> None:
    """One spec, many hostile values: each its own located issue."""
    text = (
        CORPUS_BASE.replace("{metric: roc_auc, min: 0.7}", "{metric: roc_auc, min: .nan}")
        .replace("  n_trials: 5", "  n_trials: 5\n  timeout: 99999999999999d\n  seed: -3")
        .replace('cron: "0 3 * * 1"', 'cron: "0 0 3 * * 1"')
        .replace("  entity_key: id", "  entity_key: [id, id]")
    )
    text += "monitoring:\n  batch: /srv/batches/*.parquet\nserving: {candidate_alias: champion}\n"
    spec, settings = _project(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_spec(spec, settings)
    keys = {issue.key_path for issue in caught.value.issues}
    assert {
        "governance.gates.0.min",
        "tuning.timeout",
        "tuning.seed",
        "schedule.cron",
        "monitoring.batch",
    } <= keys
    fixed = text.replace("min: .nan", "min: 0.7").replace("  timeout: 99999999999999d\n", "")
    fixed = fixed.replace("  seed: -3", "").replace('"0 0 3 * * 1"', '"0 3 * * 1"')
    spec.write_text(fixed.replace("  batch: /srv/batches/*.parquet\n", "  batch: b/*.parquet\n"))
    with pytest.raises(SpecError) as caught:
        load_spec(spec, settings)
    assert [i.key_path for i in caught.value.issues] == [
        "data.entity_key.1",
        "serving.candidate_alias",
    ]
