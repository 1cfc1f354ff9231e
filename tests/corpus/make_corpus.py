"""Writes the bad-input corpus from base.yaml: each case is one small, deliberate edit.

Run from this folder (`python make_corpus.py`) after changing a case; the files are committed
so a reviewer sees exactly what each case feeds the loader. It also writes the entity file
base.yaml names (data/rows.parquet), so the data-aware checks have data to check against,
beside the Feast definitions in feature_repo/ (base.yaml is valid against both).
"""

from pathlib import Path

BASE = Path(__file__).with_name("base.yaml").read_text()
ROWS = 12


def write_rows(path: Path) -> None:
    """The entity rows: key, event time, a 0/1 label, two sensitive columns and an age."""
    from datetime import UTC, datetime, timedelta

    import pyarrow as pa
    import pyarrow.parquet as pq

    start = datetime(2024, 1, 1, tzinfo=UTC)
    table = pa.table(
        {
            "id": list(range(1, ROWS + 1)),
            "ts": [start + timedelta(days=i) for i in range(ROWS)],
            "y": [i % 2 for i in range(ROWS)],
            "sex": ["f", "m"] * (ROWS // 2),
            "race": ["a", "b", "c"] * (ROWS // 3),
            "age": [20 + 3 * i for i in range(ROWS)],
        }
    )
    path.parent.mkdir(exist_ok=True)
    pq.write_table(table, path)


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def as_regression_with(block: str) -> str:
    """The base spec as a Ridge regression (its metric, search space and gate to match),
    with ``block`` put before ``governance``."""
    return (
        edit(
            "  task: binary_classification\n  estimator: sklearn.ensemble."
            "HistGradientBoostingClassifier",
            "  task: regression\n  estimator: sklearn.linear_model.Ridge",
        )
        .replace("metric: roc_auc\n", "metric: rmse\n")
        .replace("    learning_rate: {float:", "    alpha: {float:")
        .replace("{metric: roc_auc, min: 0.7}", "{metric: r2, min: 0.1}")
        .replace("governance:\n", block + "governance:\n")
    )


CASES: dict[str, str] = {
    "yaml_unclosed_flow": edit("  search_space:\n", "  search_space: {\n"),
    "yaml_tab_indent": edit("  n_trials: 5", "\tn_trials: 5"),
    "yaml_bad_indent": edit("  owner: team@example.com", "    owner: team@example.com"),
    "yaml_two_documents": BASE + "---\nkind: TrainingPipeline\n",
    "empty_file": "",
    "only_comments": "# nothing here yet\n# still nothing\n",
    "top_level_list": "- apiVersion: mlops-spec/v1\n- kind: TrainingPipeline\n",
    "top_level_scalar": "just a string\n",
    "duplicate_key": edit("  n_trials: 5\n", "  n_trials: 5\n  n_trials: 50\n"),
    "duplicate_section": BASE + "model:\n  task: regression\n",
    "python_object_tag": edit(
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier",
        '  estimator: !!python/object/apply:os.system ["echo pwned"]',
    ),
    "python_name_tag": edit("  n_trials: 5", "  n_trials: !!python/name:os.system"),
    "custom_include_tag": edit("  service: svc_v1", "  service: !include other.yaml"),
    "merge_key": edit("  gates:\n", "  <<: {gates: []}\n  gates:\n"),
    "unknown_top_level_key": edit("tuning:\n", "tunning:\n"),
    "unknown_key_metadata": edit("  owner: team@example.com", "  ownr: team@example.com"),
    "unknown_key_tuning": edit("  n_trials: 5", "  n_trails: 5"),
    "unknown_key_gate": edit("{metric: roc_auc, min: 0.7}", "{metric: roc_auc, minimum: 0.7}"),
    "missing_api_version": edit("apiVersion: mlops-spec/v1\n", ""),
    "wrong_api_version": edit("apiVersion: mlops-spec/v1", "apiVersion: mlops-spec/v2"),
    "wrong_kind": edit("kind: TrainingPipeline", "kind: TrainingPipelin"),
    "missing_metadata_name": edit("  name: corpus-case\n", ""),
    "name_not_a_slug": edit("  name: corpus-case", "  name: Corpus Case"),
    "owner_not_an_email": edit("  owner: team@example.com", "  owner: the team"),
    "missing_label": edit("  label: y\n", ""),
    "n_trials_wrong_type": edit("  n_trials: 5", "  n_trials: forty"),
    "n_trials_zero": edit("  n_trials: 5", "  n_trials: 0"),
    "entity_key_wrong_type": edit("  entity_key: id", "  entity_key: {a: b}"),
    "bad_duration": edit("  n_trials: 5", "  n_trials: 5\n  timeout: 10 minutes"),
    "negative_duration": edit("  n_trials: 5", "  n_trials: 5\n  timeout: -5m"),
    "cron_bad_minute": edit('cron: "0 3 * * 1"', 'cron: "61 * * * *"'),
    "cron_too_few_fields": edit('cron: "0 3 * * 1"', 'cron: "* * *"'),
    "timezone_typo": edit("timezone: UTC", "timezone: Europe/Pari"),
    "estimator_outside_allow_list": edit(
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier",
        "  estimator: os.system",
    ),
    "estimator_typo": edit(
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier",
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifer",
    ),
    "estimator_code_injection": edit(
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier",
        "  estimator: __import__('os').system('echo pwned')",
    ),
    "label_listed_as_feature": edit("  service: svc_v1", "  refs: [applicant:income, applicant:y]"),
    "service_and_refs": edit("  service: svc_v1", "  service: svc_v1\n  refs: [a:b]"),
    "feature_ref_without_view": edit("  service: svc_v1", "  refs: [income]"),
    "tuning_metric_wrong_task": edit("  metric: roc_auc", "  metric: rmse"),
    "gate_metric_typo": edit("{metric: roc_auc, min: 0.7}", "{metric: roc_aux, min: 0.7}"),
    "gate_without_bounds": edit("{metric: roc_auc, min: 0.7}", "{metric: roc_auc}"),
    "champion_gate_negative": edit(
        "{metric: roc_auc, min: 0.7}",
        "{metric: roc_auc, min: 0.7}\n    - {compare_to: champion, metric: roc_auc, "
        "max_regression: -0.1}",
    ),
    "search_space_reversed": edit(
        "{float: [0.01, 0.3], log: true}", "{float: [0.3, 0.01], log: true}"
    ),
    "search_space_unknown_kind": edit("{float: [0.01, 0.3], log: true}", "{floats: [0.01, 0.3]}"),
    "search_space_log_nonpositive": edit(
        "{float: [0.01, 0.3], log: true}", "{float: [0.0, 0.3], log: true}"
    ),
    "split_test_size_too_big": edit("model:\n", "split: {test_size: 1.5}\nmodel:\n"),
    "split_method_unknown": edit("model:\n", "split: {method: temporal}\nmodel:\n"),
    "task_unknown": edit("  task: binary_classification", "  task: binary_clasification"),
    "fairness_rule_without_bounds": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex]\n    rules:\n"
        "      - {metric: disparate_impact}\ngovernance:\n",
    ),
    "fairness_metric_typo": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex]\n    rules:\n"
        "      - {metric: disparate_impakt, min: 0.8}\ngovernance:\n",
    ),
    "fairness_on_regression": as_regression_with(
        "constraints:\n  fairness:\n    sensitive: [sex]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\n"
    ),
    "sensitive_not_a_column": edit(
        "  label: y\n", "  label: y\n  columns: [id, ts, y, sex]\n"
    ).replace(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex, race]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\ngovernance:\n",
    ),
    "constraint_without_check": edit(
        "governance:\n", "constraints:\n  data:\n    - {column: age}\ngovernance:\n"
    ),
    "constraint_range_reversed": edit(
        "governance:\n",
        "constraints:\n  data:\n    - {column: age, in_range: [100, 0]}\ngovernance:\n",
    ),
    "policy_cycle": edit("governance:\n", "governance:\n  policy: policies/cycle_a.yaml\n"),
    "policy_missing": edit("governance:\n", "governance:\n  policy: policies/nope.yaml\n"),
    "policy_outside_root": edit("governance:\n", "governance:\n  policy: ../../policy.yaml\n"),
    "policy_with_typo": edit(
        "governance:\n", "governance:\n  policy: policies/typo.yaml\n"
    ).replace("  gates:\n    - {metric: roc_auc, min: 0.7}\n", ""),
    "path_outside_root": edit("  entities: data/rows.parquet", "  entities: ../../etc/passwd"),
    "absolute_path": edit("  entities: data/rows.parquet", "  entities: /etc/passwd"),
    "secret_in_spec": edit(
        "  description: a case of the bad-input corpus",
        "  description: ${WAREHOUSE_PASSWORD}",
    ),
    "env_var_missing": edit(
        "  entities: data/rows.parquet", "  entities: ${CORPUS_UNSET_VARIABLE}/rows.parquet"
    ),
    "required_metadata_missing": edit(
        "  gates:\n", "  required_metadata: [cost_center]\n  gates:\n"
    ),
    "drift_method_typo": BASE + "monitoring:\n  drift: {method: psy}\n",
    "retrain_without_batch": BASE + "monitoring:\n  on_drift: retrain\n",
    "alias_bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    ),
    "label_is_entity_key": edit("  label: y", "  label: id"),
    "approval_unknown_value": edit("  gates:\n", "  promotion: {approval: maybe}\n  gates:\n"),
    # --- data-aware: the spec against data/rows.parquet and feature_repo/ --------------------
    "service_not_in_repo": edit("  service: svc_v1", "  service: svc_1"),
    "feature_view_not_in_repo": edit("  service: svc_v1", "  refs: [applicnt:income]"),
    "feature_not_in_view": edit("  service: svc_v1", "  refs: [applicant:incme]"),
    "view_key_not_in_entity_file": edit("  service: svc_v1", "  refs: [account:balance]"),
    "constraint_column_typo": edit(
        "governance:\n", "constraints:\n  data:\n    - {column: incme, min: 0}\ngovernance:\n"
    ),
    "drift_feature_typo": BASE + "monitoring:\n  drift: {features: {incme: 0.3}}\n",
    "data_column_not_in_file": edit("  label: y\n", "  label: y\n  columns: [id, ts, y, gender]\n"),
    "sensitive_not_in_entity_file": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [gender]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\ngovernance:\n",
    ),
    "label_not_in_entity_file": edit("  label: y", "  label: target"),
    "binary_label_three_values": edit("  label: y", "  label: race"),
    "regression_text_label": edit(
        "  task: binary_classification\n  estimator: sklearn.ensemble."
        "HistGradientBoostingClassifier",
        "  task: regression\n  estimator: sklearn.ensemble.HistGradientBoostingRegressor",
    )
    .replace("  label: y", "  label: sex")
    .replace("metric: roc_auc\n", "metric: rmse\n")
    .replace("{metric: roc_auc, min: 0.7}", "{metric: r2, min: 0.1}"),
    "positive_label_not_a_value": edit(
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier",
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier\n  positive_label: yes_50k",
    ),
    # --- estimators: parameters and task (the committed table, no scikit-learn import) ------
    "param_typo": edit(
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier",
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier\n  params: {max_iterr: 100}",
    ),
    "search_space_param_of_other_estimator": edit(
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier",
        "  estimator: sklearn.linear_model.LogisticRegression",
    ),
    "param_fixed_and_searched": edit(
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier",
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier\n"
        "  params: {learning_rate: 0.1}",
    ),
    "regressor_for_classification": edit(
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier",
        "  estimator: sklearn.ensemble.HistGradientBoostingRegressor",
    ),
    "stratified_split_for_regression": edit(
        "  task: binary_classification\n  estimator: sklearn.ensemble."
        "HistGradientBoostingClassifier",
        "  task: regression\n  estimator: sklearn.ensemble.HistGradientBoostingRegressor",
    )
    .replace("model:\n", "split: {method: stratified}\nmodel:\n")
    .replace("metric: roc_auc\n", "metric: rmse\n")
    .replace("{metric: roc_auc, min: 0.7}", "{metric: r2, min: 0.1}"),
    # --- duplicates and identities ----------------------------------------------------------
    "sensitive_duplicate": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex, race, sex]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\ngovernance:\n",
    ),
    "sensitive_is_entity_key": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [id]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\ngovernance:\n",
    ),
    "entity_key_duplicate": edit("  entity_key: id", "  entity_key: [id, id]"),
    "timestamp_is_entity_key": edit("  timestamp: ts", "  timestamp: id"),
    "feature_ref_duplicate": edit(
        "  service: svc_v1", "  refs: [applicant:income, applicant:tenure, applicant:income]"
    ),
    # --- paths, numbers and durations -------------------------------------------------------
    "batch_absolute_path": BASE + "monitoring:\n  batch: /var/data/batches/*.parquet\n",
    "batch_outside_root": BASE + "monitoring:\n  batch: ../../batches/*.parquet\n",
    "gate_bound_nan": edit("{metric: roc_auc, min: 0.7}", "{metric: roc_auc, min: .nan}"),
    "in_range_infinite": edit(
        "governance:\n",
        "constraints:\n  data:\n    - {column: age, in_range: [0, .inf]}\ngovernance:\n",
    ),
    "champion_gate_infinite": edit(
        "{metric: roc_auc, min: 0.7}",
        "{metric: roc_auc, min: 0.7}\n    - {compare_to: champion, metric: roc_auc, "
        "max_regression: .inf}",
    ),
    "drift_threshold_negative": BASE + "monitoring:\n  drift: {features: {income: -0.1}}\n",
    "search_space_bound_nan": edit(
        "{float: [0.01, 0.3], log: true}", "{float: [.nan, 0.3], log: true}"
    ),
    "search_space_log_with_step": edit(
        "{float: [0.01, 0.3], log: true}", "{float: [0.01, 0.3], log: true, step: 0.01}"
    ),
    "timeout_overflow": edit("  n_trials: 5", "  n_trials: 5\n  timeout: 99999999999999d"),
    "timeout_infinite": edit("  n_trials: 5", "  n_trials: 5\n  timeout: .inf"),
    "seed_out_of_range": edit("model:\n", "split: {seed: -1}\nmodel:\n"),
    # --- fairness rules with severity, `on` and a reference group ----------------------------
    "fairness_on_not_sensitive": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8, on: [race]}\ngovernance:\n",
    ),
    "fairness_reference_in_two_columns": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex, race]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8, reference_group: f}\ngovernance:\n",
    ),
    "fairness_severity_unknown": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8, severity: soft}\ngovernance:\n",
    ),
    "fairness_label_rule_needs_predictions": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex]\n    label_rules:\n"
        "      - {metric: equal_opportunity_difference, max: 0.1}\ngovernance:\n",
    ),
    "fairness_without_rules": edit(
        "governance:\n", "constraints:\n  fairness:\n    sensitive: [sex]\ngovernance:\n"
    ),
    # --- intersections and task-dependent fairness metrics ---------------------------------
    "intersection_unknown_column": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex, [race, gender]]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\ngovernance:\n",
    ),
    "intersection_of_one_column": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex, [race]]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\ngovernance:\n",
    ),
    "intersection_column_twice": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [[race, race]]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\ngovernance:\n",
    ),
    "intersection_with_label": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive:\n      - [sex, y]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\ngovernance:\n",
    ),
    "intersection_listed_twice": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [[race, sex], [sex, race]]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\ngovernance:\n",
    ),
    "intersection_on_not_sensitive": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex, race]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8, on: [[race, sex]]}\ngovernance:\n",
    ),
    "intersection_reference_one_value": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [[race, sex]]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8, reference_group: [a]}\ngovernance:\n",
    ),
    "fairness_regression_metric_on_classifier": edit(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex]\n    rules:\n"
        "      - {metric: mae_ratio, max: 1.25}\ngovernance:\n",
    ),
    "fairness_label_rules_on_regression": as_regression_with(
        "constraints:\n  fairness:\n    sensitive: [sex]\n    rules:\n"
        "      - {metric: mae_ratio, max: 1.25}\n    label_rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\n"
    ),
    # --- decision thresholds ------------------------------------------------------------------
    "threshold_out_of_range": edit(
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier\n",
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier\n  threshold: 1.5\n",
    ),
    "threshold_two_goals": edit(
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier\n",
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier\n"
        "  threshold: {optimize: f1, precision_at: 0.9}\n",
    ),
    "threshold_for_regression": edit(
        "  task: binary_classification\n"
        "  estimator: sklearn.ensemble.HistGradientBoostingClassifier\n",
        "  task: regression\n  estimator: sklearn.ensemble.HistGradientBoostingRegressor\n"
        "  threshold: 0.3\n",
    ).replace("metric: roc_auc", "metric: rmse"),
    # --- splits by date, group and column -------------------------------------------------
    "split_cutoff_not_a_date": edit("model:\n", "split: {cutoff: next spring}\nmodel:\n"),
    "split_cutoff_impossible_date": edit("model:\n", "split: {cutoff: 2024-02-30}\nmodel:\n"),
    "split_cutoff_with_test_size": edit(
        "model:\n", "split:\n  cutoff: 2024-01-08\n  test_size: 0.2\nmodel:\n"
    ),
    "split_cutoff_on_random": edit(
        "model:\n", "split:\n  method: random\n  cutoff: 2024-01-08\nmodel:\n"
    ),
    "split_validation_cutoff_after_cutoff": edit(
        "model:\n", "split:\n  cutoff: 2024-01-08\n  validation_cutoff: 2024-01-09\nmodel:\n"
    ),
    "split_validation_cutoff_alone": edit(
        "model:\n", "split:\n  validation_cutoff: 2024-01-05\nmodel:\n"
    ),
    "split_group_without_by": edit("model:\n", "split:\n  method: group\nmodel:\n"),
    "split_group_column_missing": edit(
        "model:\n", "split:\n  method: group\n  by: person\nmodel:\n"
    ),
    "split_column_value_twice": edit(
        "model:\n",
        "split:\n  method: column\n  column: sex\n  values:\n    train: [f]\n"
        "    test: [m, f]\nmodel:\n",
    ),
    "split_column_unknown_side": edit(
        "model:\n",
        "split:\n  method: column\n  column: sex\n  values: {train: [f], holdout: [m]}\nmodel:\n",
    ),
    # --- aliases and schedules --------------------------------------------------------------
    "promotion_alias_challenger": edit(
        "  gates:\n", "  promotion: {alias: challenger}\n  gates:\n"
    ),
    "policy_alias_challenger": edit(
        "governance:\n", "governance:\n  policy: policies/challenger_alias.yaml\n"
    ),
    "serving_candidate_is_promotion_alias": BASE + "serving: {candidate_alias: champion}\n",
    "cron_six_fields": edit('cron: "0 3 * * 1"', 'cron: "0 0 3 * * 1"'),
    # --- interpolation ----------------------------------------------------------------------
    "env_url_with_password": edit(
        "  description: a case of the bad-input corpus",
        "  description: ${CORPUS_UNSET_VARIABLE:-postgresql://ml:s3cr3t@db:5432/features}",
    ),
    "env_connection_setting": edit(
        "  description: a case of the bad-input corpus",
        "  description: ${MLOPS_SPEC_MLFLOW_TRACKING_URI:-sqlite:///mlflow.db}",
    ),
    # --- keys that only look right ----------------------------------------------------------
    "key_cyrillic_letter": edit("model:\n", "m\u043edel:\n"),
    "key_zero_width_space": edit("  n_trials: 5", "  n_\u200btrials: 5"),
}

if __name__ == "__main__":
    write_rows(Path(__file__).with_name("data") / "rows.parquet")
    out = Path(__file__).with_name("cases")
    out.mkdir(exist_ok=True)
    for old in out.glob("*.yaml"):
        old.unlink()
    for name, text in CASES.items():
        (out / f"{name}.yaml").write_text(text)
    print(f"{len(CASES)} cases")
