"""Commands on spec files that start no service: validate, plan, schema, deploy."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mlops_spec.cli.common import EXIT_INVALID, EXIT_OK, spec_files, write_atomic
from mlops_spec.errors import SpecError


def cmd_validate(args: argparse.Namespace) -> int:
    from mlops_spec.loader import validate_file

    settings = args.settings
    files = spec_files(args.paths)
    if not files:
        print(f"error: no .yaml files under {' '.join(args.paths)}", file=sys.stderr)
        return EXIT_INVALID
    invalid = 0
    issue_count = 0
    for file in files:
        try:
            verdict = validate_file(file, settings)
        except SpecError as exc:
            invalid += 1
            issue_count += len(exc.issues)
            for issue in exc.issues:
                print(issue.render(), file=sys.stderr)
            continue
        if not args.quiet:
            print(verdict)
    if invalid:
        print(f"{invalid} of {len(files)} specs invalid ({issue_count} issues)", file=sys.stderr)
        return EXIT_INVALID
    if not args.quiet:
        print(f"{len(files)} specs valid")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from mlops_spec.loader import document_kind, load_audit, load_spec
    from mlops_spec.plan import compile_plan, render_json, render_text
    from mlops_spec.plan.compile import compile_audit_plan

    if document_kind(args.spec) == "FairnessAudit":
        plan = compile_audit_plan(load_audit(args.spec))
    else:
        plan = compile_plan(load_spec(args.spec, check_data=False))
    sys.stdout.write(render_json(plan) if args.json else render_text(plan))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from mlops_spec.schema import audit_schema_text, policy_schema_text, schema_text

    if args.audit:
        text = audit_schema_text()
    else:
        text = policy_schema_text() if args.policy else schema_text()
    if args.output:
        write_atomic(Path(args.output), text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_deploy(args: argparse.Namespace) -> int:
    """Write prefect.yaml from the specs; `--check` compares, `--apply` runs `prefect deploy`."""
    import difflib

    from mlops_spec.loader import document_kind, load_spec
    from mlops_spec.plan.deployments import prefect_document, render_prefect_yaml

    settings = args.settings
    files = spec_files(args.paths)
    if not files:
        print(f"error: no .yaml files under {' '.join(args.paths)}", file=sys.stderr)
        return EXIT_INVALID
    issues = []
    loaded = []
    for file in files:
        if document_kind(file, settings) in ("FairnessAudit", "Policy"):
            continue  # no deployment: an audit runs from the CLI, a policy is not a pipeline
        try:
            loaded.append(load_spec(file, settings))
        except SpecError as exc:
            issues.extend(exc.issues)
    if issues:
        raise SpecError(issues)
    text = render_prefect_yaml(prefect_document(loaded))
    target = Path(args.output)
    current = target.read_text() if target.is_file() else ""
    if args.check:
        if current == text:
            print(f"{target} is up to date with {len(loaded)} specs")
            return EXIT_OK
        diff = difflib.unified_diff(
            current.splitlines(), text.splitlines(), str(target), "from the specs", lineterm=""
        )
        print("\n".join(diff), file=sys.stderr)
        print(f"{target} is stale: run `mlops-spec deploy`", file=sys.stderr)
        return EXIT_INVALID
    if current != text:
        write_atomic(target, text)
    print(f"wrote {target}: {text.count('- name: ')} deployments from {len(loaded)} specs")
    if args.apply:
        from mlops_spec.runtime.environment import use_prefect

        return _prefect_deploy_all(target, use_prefect(settings))
    return EXIT_OK


def _prefect_deploy_all(prefect_file: Path, url: str | None) -> int:
    import shutil
    import subprocess

    if not url:
        print(
            "error: --apply needs a Prefect server: unset MLOPS_SPEC_PREFECT_SERVER=ephemeral "
            "(the project's own server is then started), or set PREFECT_API_URL",
            file=sys.stderr,
        )
        return EXIT_INVALID
    prefect = shutil.which("prefect", path=str(Path(sys.executable).parent)) or "prefect"
    env = {**os.environ, "PREFECT_API_URL": url, "PREFECT_CLI_PROMPT": "false"}
    command = [prefect, "deploy", "--no-prompt", "--all", "--prefect-file", str(prefect_file)]
    result = subprocess.run(command, env=env, check=False)
    if result.returncode != 0:
        shown = " ".join(command[1:])
        print(f"error: `{shown}` failed (exit {result.returncode})", file=sys.stderr)
        return EXIT_INVALID
    from mlops_spec.runtime.automations import ensure_crash_detection
    from mlops_spec.runtime.environment import point_prefect_at

    point_prefect_at(url)
    created = ensure_crash_detection()
    print(f"crash detection automation {'created' if created else 'already present'}")
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """validate, plan, schema and deploy."""
    p = sub.add_parser("validate", help="validate spec files or folders of them")
    p.add_argument("paths", nargs="+")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plan", help="print the steps and gates a spec compiles to")
    p.add_argument("spec")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("schema", help="print (or write) the JSON Schema of the spec language")
    p.add_argument("-o", "--output")
    p.add_argument("--policy", action="store_true", help="the schema of policy files instead")
    p.add_argument("--audit", action="store_true", help="the schema of FairnessAudit specs")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("deploy", help="write prefect.yaml from the specs (and apply it)")
    p.add_argument("paths", nargs="*", default=["specs"])
    p.add_argument("-o", "--output", default="prefect.yaml")
    p.add_argument("--check", action="store_true", help="fail if prefect.yaml is stale")
    p.add_argument(
        "--apply", action="store_true", help="then run `prefect deploy --all` on the server"
    )
    p.set_defaults(func=cmd_deploy)
