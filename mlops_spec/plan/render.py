"""Plain-text rendering of a plan: stable, diff-able, and readable in a terminal."""

from __future__ import annotations

import json

from mlops_spec.plan.model import Plan


def render_text(plan: Plan) -> str:
    lines = [
        f"plan for {plan.spec_name} ({plan.spec_path})",
        f"  content hash  {plan.content_hash}",
        f"  registers     {plan.registered_model}",
        "",
    ]
    for index, step in enumerate(plan.steps, start=1):
        lines.append(f"{index:>2}. {step.name:<18} [{step.library}] {step.purpose}")
        for key, value in step.settings:
            shown = json.dumps(value) if not isinstance(value, str) else value
            lines.append(f"      {key}: {shown}")
        if step.retries:
            every = f" (every {step.retry_delay_s} s)" if step.retry_delay_s else ""
            lines.append(f"      retries: {step.retries}{every}")
        if step.cache is not None:
            cache = step.cache
            lines.append(f"      cache: {cache.key} ({cache.inputs}), {cache.hours} h")
        for guard in step.guards:
            lines.append(f"      guard {guard.name}: {guard.rule}")
    return "\n".join(lines) + "\n"


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_dict(), indent=2, sort_keys=False) + "\n"
