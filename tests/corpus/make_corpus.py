"""Writes the bad-input corpus from base.yaml: each case is one small, deliberate edit.

Run from this folder (`python make_corpus.py`) after changing a case; the files are committed
so a reviewer sees exactly what each case feeds the loader.
"""

from pathlib import Path

BASE = Path(__file__).with_name("base.yaml").read_text()


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


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
    "fairness_on_regression": edit(
        "  task: binary_classification\n  estimator: sklearn.ensemble."
        "HistGradientBoostingClassifier",
        "  task: regression\n  estimator: sklearn.linear_model.Ridge",
    )
    .replace("metric: roc_auc\n", "metric: rmse\n")
    .replace("{metric: roc_auc, min: 0.7}", "{metric: r2, min: 0.1}")
    .replace(
        "governance:\n",
        "constraints:\n  fairness:\n    sensitive: [sex]\n    rules:\n"
        "      - {metric: disparate_impact, min: 0.8}\ngovernance:\n",
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
}

if __name__ == "__main__":
    out = Path(__file__).with_name("cases")
    out.mkdir(exist_ok=True)
    for old in out.glob("*.yaml"):
        old.unlink()
    for name, text in CASES.items():
        (out / f"{name}.yaml").write_text(text)
    print(f"{len(CASES)} cases")
