"""Spec -> ordered, frozen steps: pure, printable and comparable as golden files."""

from mlops_spec.plan.compile import compile_plan, study_name
from mlops_spec.plan.model import Cache, Guard, Plan, Step
from mlops_spec.plan.render import render_json, render_text

__all__ = [
    "Cache",
    "Guard",
    "Plan",
    "Step",
    "compile_plan",
    "render_json",
    "render_text",
    "study_name",
]
