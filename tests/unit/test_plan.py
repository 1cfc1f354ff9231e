"""Plans of the demo specs match their golden files; the plan path stays free of heavy imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_spec.loader import load_spec
from mlops_spec.plan import compile_plan, render_json, render_text
from mlops_spec.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(ROOT)
    for name in ("MLOPS_SPEC_DATA_DIR", "FLIGHTS_ENTITIES"):
        monkeypatch.delenv(name, raising=False)
    return Settings(project_root=ROOT)


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_plan_matches_golden(spec: Path, at_root: Settings) -> None:
    plan = compile_plan(load_spec(spec.relative_to(ROOT), at_root))
    for suffix, text in ((".plan.txt", render_text(plan)), (".plan.json", render_json(plan))):
        golden = GOLDEN / f"{spec.stem}{suffix}"
        if UPDATE:
            golden.write_text(text)
        assert text == golden.read_text(), (
            f"plan changed; review and run UPDATE_GOLDEN=1 ({golden})"
        )


def test_plan_order_and_guards(at_root: Settings) -> None:
    plan = compile_plan(load_spec("specs/adult_income.yaml", at_root))
    names = [step.name for step in plan.steps]
    assert names.index("check_constraints") < names.index("split") < names.index("tune")
    assert names.index("governance") < names.index("register") < names.index("promote")
    assert any(g.rule == "disparate_impact >= 0.8" for g in plan.step("fairness").guards)
    for step in plan.steps:
        assert all(dep in names[: names.index(step.name)] for dep in step.depends_on)


def test_plan_imports_no_heavy_library() -> None:
    code = (
        "import sys; from mlops_spec.cli import main; main(['plan', 'specs/penguins.yaml']);"
        "heavy = {'prefect','mlflow','feast','whylogs','optuna','sklearn','pandas','numpy'};"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("split", "shown", "hidden"),
    [
        (
            "{method: time, cutoff: 2009-01-01, validation_cutoff: 2008-06-01}",
            ["cutoff: 2009-01-01T00:00:00+00:00", "validation_cutoff: 2008-06-01T00:00:00+00:00"],
            ["test_size"],
        ),
        (
            "{method: group, by: individual_id, seed: 3}",
            ["by: individual_id", "test_size: 0.2"],
            [],
        ),
        (
            "{method: column, column: study_name, values: {train: [PAL0708], test: [PAL0910]}}",
            ["column: study_name", '"train": ["PAL0708"]', '"test": ["PAL0910"]'],
            ["test_size"],
        ),
    ],
)
def test_the_split_step_shows_what_decides_the_split(
    split: str, shown: list[str], hidden: list[str], at_root: Settings, tmp_path: Path
) -> None:
    text = (ROOT / "specs" / "penguins.yaml").read_text()
    old = "split: {method: stratified, test_size: 0.3, seed: 7}"
    assert old in text
    spec = ROOT / "specs" / f"_plan_split_{tmp_path.name}.yaml"
    spec.write_text(text.replace(old, f"split: {split}"))
    try:
        plan = compile_plan(load_spec(spec.relative_to(ROOT), at_root))
    finally:
        spec.unlink()
    rendered = render_text(plan)
    block = rendered[rendered.index("split   ") : rendered.index(" 6. ")]
    for part in shown:
        assert part in block, block
    for part in hidden:
        assert part not in block.replace("validation_size", ""), block
