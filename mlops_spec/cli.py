"""Command line: thin argument parsing over the loader, the plan and the runtime.

Only the standard library, pydantic and yaml are imported at start; the commands that run
pipelines import the heavy libraries when called. Exit codes: 0 ok, 1 bad input or a failed
step, 2 a run stopped by a rule the spec declares (constraint or gate), 3 an internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_spec.errors import MlopsSpecError, RunStopped, SpecError, disk_problem

if TYPE_CHECKING:
    from mlops_spec.loader import LoadedSpec

EXIT_OK, EXIT_INVALID, EXIT_STOPPED, EXIT_INTERNAL = 0, 1, 2, 3


def _spec_files(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"}))
        else:
            files.append(path)
    return files


def cmd_validate(args: argparse.Namespace) -> int:
    from mlops_spec.loader import load_spec
    from mlops_spec.settings import Settings

    settings = Settings()
    files = _spec_files(args.paths)
    if not files:
        print(f"error: no .yaml files under {' '.join(args.paths)}", file=sys.stderr)
        return EXIT_INVALID
    invalid = 0
    issue_count = 0
    for file in files:
        try:
            loaded = load_spec(file, settings)
        except SpecError as exc:
            invalid += 1
            issue_count += len(exc.issues)
            for issue in exc.issues:
                print(issue.render(), file=sys.stderr)
            continue
        if not args.quiet:
            print(
                f"{loaded.display_path}: ok ({loaded.spec.metadata.name}, "
                f"hash {loaded.content_hash[:12]})"
            )
    if invalid:
        print(f"{invalid} of {len(files)} specs invalid ({issue_count} issues)", file=sys.stderr)
        return EXIT_INVALID
    if not args.quiet:
        print(f"{len(files)} specs valid")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    from mlops_spec.loader import load_spec
    from mlops_spec.plan import compile_plan, render_json, render_text

    plan = compile_plan(load_spec(args.spec, check_data=False))
    sys.stdout.write(render_json(plan) if args.json else render_text(plan))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from mlops_spec.schema import schema_text

    text = schema_text()
    if args.output:
        _write_atomic(Path(args.output), text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    """``init NAME``: a spec from the template; ``init --project DIR``: a whole new project."""
    if args.project is not None:
        if args.name is not None:
            print("error: give a spec NAME or --project DIR, not both", file=sys.stderr)
            return EXIT_INVALID
        return _init_project(Path(args.project))
    if args.name is None:
        print("error: give a spec NAME (or --project DIR for a new project)", file=sys.stderr)
        return EXIT_INVALID
    import re

    from mlops_spec.project.scaffold import spec_from_template
    from mlops_spec.settings import Settings

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", args.name):
        print(
            f"error: '{args.name}' is not a valid name; use lower-case letters, digits, - and _",
            file=sys.stderr,
        )
        return EXIT_INVALID
    target = Path(args.dir) / f"{args.name}.yaml"
    if target.exists():
        print(f"error: {target} exists; choose another name or remove it", file=sys.stderr)
        return EXIT_INVALID
    _write_atomic(target, spec_from_template(args.name, target.parent, Settings().root))
    print(f"wrote {target}; edit data and features, then `mlops-spec validate {target}`")
    return EXIT_OK


def _init_project(folder: Path) -> int:
    from mlops_spec.project.scaffold import create_project

    root = create_project(folder)
    print(f"wrote a new mlops-spec project in {root}")
    print(
        f"next, from that folder (cd {folder}):\n"
        "  mlops-spec features add data/TABLE.parquet --entity ID --timestamp TIME --label LABEL\n"
        "  feast -c feature_repo apply\n"
        "  mlops-spec validate specs/ && mlops-spec run specs/TABLE.yaml"
    )
    return EXIT_OK


def _columns(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in (value or "").split(",") if c.strip())


def cmd_features_add(args: argparse.Namespace) -> int:
    """Feast definitions, entity rows and a spec from one parquet table (no Feast import)."""
    from mlops_spec.project.features import FeatureRequest, add_features
    from mlops_spec.spec.common import parse_duration

    try:
        ttl = parse_duration(args.ttl) if args.ttl is not None else None
    except ValueError as exc:
        print(f"error: --ttl {args.ttl}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    request = FeatureRequest(
        table=Path(args.table),
        key=args.entity,
        timestamp=args.timestamp,
        label=args.label,
        keep=_columns(args.keep),
        exclude=_columns(args.exclude),
        ttl_seconds=ttl,
        name=args.name,
        task=args.task,
    )
    added = add_features(request)
    found = added.layout
    print(
        f"wrote {_rel(added.module)} (entity {found.key}, {len(found.served)} features, "
        f"service {added.name}_v1)"
    )
    if added.entities is None or added.spec is None:
        print("no --label: features only; a training spec needs a label column")
    else:
        count = added.dropped_unlabelled
        dropped = f"; {count} rows without a label left out" if count else ""
        print(f"wrote {_rel(added.entities)} ({added.entity_rows} entity rows{dropped})")
        positive = "" if added.positive_label is None else f", positive {added.positive_label!r}"
        print(f"wrote {_rel(added.spec)} ({added.task}, label {found.label}{positive})")
    spec = _rel(added.spec) if added.spec else "specs/SPEC.yaml"
    print(f"next: feast -c feature_repo apply; mlops-spec validate {spec}; mlops-spec run {spec}")
    return EXIT_OK


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def cmd_run(args: argparse.Namespace) -> int:
    from mlops_spec.runtime.entry import run_spec

    outcome = run_spec(args.spec, show_progress=not args.no_progress)
    print(outcome.summary())
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from mlops_spec.runtime.audit import audit_text

    print(audit_text(args.model, args.version))
    return EXIT_OK


def cmd_demo_data(args: argparse.Namespace) -> int:
    from mlops_spec.demo_data import prepare_all
    from mlops_spec.settings import Settings

    data_dir = Path(args.dir) if args.dir else Settings().state / "data"
    for name, path in sorted(prepare_all(data_dir).items()):
        print(f"{name}: {path}")
    return EXIT_OK


def _prepared(spec_path: str, *, prefect: bool = True) -> LoadedSpec:
    """Load and check the spec first (a bad spec fails before any backend is touched), then
    point Prefect (the project's server, started if needed), MLflow and the rest at the
    settings; ``prefect=False`` for commands that run no flow."""
    from mlops_spec.loader import load_spec
    from mlops_spec.runtime.environment import prepare_environment, use_prefect
    from mlops_spec.settings import Settings

    settings = Settings()
    loaded = load_spec(spec_path, settings)
    (use_prefect if prefect else prepare_environment)(settings)
    return loaded


def cmd_score(args: argparse.Namespace) -> int:
    loaded = _prepared(args.spec)
    from mlops_spec.runtime.scoring import check_input, score

    data = loaded.spec.data
    check_input(loaded.resolve(args.input), [*data.entity_keys, data.timestamp], args.input)
    result = score(
        spec_path=args.spec, input_path=args.input, output_path=args.output, version=args.version
    )
    print(
        f"{result['model']} v{result['version']}: scored {result['rows']} rows -> "
        f"{result['output']} (mlflow run {result['mlflow_run_id']})"
    )
    return EXIT_OK


def cmd_monitor(args: argparse.Namespace) -> int:
    """Exit 0 with a report either way: drift is news for Prefect's automations, not an error."""
    _prepared(args.spec)
    from mlops_spec.runtime.monitoring import monitor

    result = monitor(spec_path=args.spec, batch=args.batch)
    verdict = "drift in " + ", ".join(result["drifted"]) if result["drifted"] else "no drift"
    print(
        f"{result['model']}: {verdict} (batch {result['batch']}, champion v"
        f"{result['champion_version']}, mlflow run {result['mlflow_run_id']})"
    )
    for row in result["features"]:
        mark = "DRIFT" if row["drifted"] else "ok"
        score = "n/a" if row["score"] is None else f"{row['score']:.4f}"
        print(f"  {row['feature']}: {row['method']}={score} (threshold {row['threshold']}) {mark}")
    if result["event"]:
        print(f"  emitted {result['event']}")
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    from mlops_spec.runtime.rollback import rollback

    event = rollback(args.model, args.alias, actor=args.actor, reason=args.reason)
    print(
        f"{args.model}@{args.alias}: v{event['from_version']} -> v{event['to_version']} "
        f"(rollback by {event['actor']}: {args.reason})"
    )
    return EXIT_OK


def cmd_deploy(args: argparse.Namespace) -> int:
    """Write prefect.yaml from the specs; `--check` compares, `--apply` runs `prefect deploy`."""
    import difflib

    from mlops_spec.loader import load_spec
    from mlops_spec.plan.deployments import prefect_document, render_prefect_yaml
    from mlops_spec.settings import Settings

    settings = Settings()
    files = _spec_files(args.paths)
    if not files:
        print(f"error: no .yaml files under {' '.join(args.paths)}", file=sys.stderr)
        return EXIT_INVALID
    issues = []
    loaded = []
    for file in files:
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
        _write_atomic(target, text)
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
    os.environ["PREFECT_API_URL"] = url
    from mlops_spec.runtime.automations import ensure_crash_detection

    created = ensure_crash_detection()
    print(f"crash detection automation {'created' if created else 'already present'}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    _prepared(args.spec, prefect=False)
    from mlops_spec.runtime.serving_app import serve

    serve(args.spec, host=args.host, port=args.port, materialize=args.materialize)
    return EXIT_OK


def cmd_server(args: argparse.Namespace) -> int:
    """The project's own Prefect server: status, start, stop, or the UI's or API's address."""
    from mlops_spec.runtime import local_server
    from mlops_spec.runtime.environment import prepare_environment
    from mlops_spec.settings import Settings

    settings = Settings()
    prepare_environment(settings)
    state = settings.state
    if args.action == "stop":
        stopped = local_server.stop_server(state)
        print(f"stopped the Prefect server (pid {stopped.pid})" if stopped else "not running")
        return EXIT_OK
    if args.action == "start":
        record, started = local_server.ensure_server(state, dict(os.environ))
    else:
        found = local_server.running_server(state)
        if found is None:
            print(f"not running (state {state}); `mlops-spec server start` starts it")
            return EXIT_OK if args.action == "status" else EXIT_INVALID
        record, started = found, False
    if args.action == "ui":
        print(f"{record.url}/runs")
    elif args.action == "api":  # for `export PREFECT_API_URL=$(mlops-spec server api)`
        print(record.api_url)
    else:
        how = "started" if started else "running"
        print(f"{how}: {record.url} (pid {record.pid}, since {record.started_at}, state {state})")
    return EXIT_OK


def cmd_canary(args: argparse.Namespace) -> int:
    _prepared(args.spec)
    from mlops_spec.runtime.canary import canary

    verdict = canary(spec_path=args.spec, outcomes_path=args.outcomes)
    print(
        f"canary v{verdict['canary_version']} (champion v{verdict['champion_version']}): "
        f"{verdict['decision']} ({verdict['reason']})"
    )
    return EXIT_OK


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _add_features_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``features add``: one parquet table to Feast definitions, entity rows and a spec."""
    p = sub.add_parser("features", help="Feast definitions from your own tables")
    features = p.add_subparsers(dest="features_command", required=True)
    p = features.add_parser(
        "add", help="Feast module, entity rows and a spec from one parquet table"
    )
    p.add_argument("table", help="a parquet file: one row per entity key and event time")
    p.add_argument("--entity", required=True, metavar="KEY", help="the entity key column")
    p.add_argument("--timestamp", required=True, metavar="COLUMN", help="the event-time column")
    p.add_argument("--label", metavar="COLUMN", help="the label; without it, features only")
    p.add_argument("--keep", metavar="COLS", help="sensitive columns for the entity rows (a,b)")
    p.add_argument("--exclude", metavar="COLS", help="columns that are not features (a,b)")
    p.add_argument("--ttl", help="how long a feature value stays valid (30d; default: forever)")
    p.add_argument("--name", help="module, Feast and spec name (default: the file's name)")
    p.add_argument(
        "--task",
        choices=["binary_classification", "multiclass_classification", "regression"],
        help="default: guessed from the label",
    )
    p.set_defaults(func=cmd_features_add)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlops-spec", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

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
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("init", help="write a new spec from the template, or a new project")
    p.add_argument("name", nargs="?", help="the spec's name (a slug)")
    p.add_argument("--dir", default="specs", help="where the spec goes (default specs/)")
    p.add_argument(
        "--project",
        metavar="DIR",
        help="write a new project (specs, Feast repo, policy, prefect.yaml...) in DIR",
    )
    p.set_defaults(func=cmd_init)

    _add_features_parser(sub)

    p = sub.add_parser("run", help="run a spec's training pipeline as one Prefect flow run")
    p.add_argument("spec")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("audit", help="print a model version's lineage and gate decisions")
    p.add_argument("model")
    p.add_argument(
        "version",
        nargs="?",
        default="@champion",
        help="a version number or @alias (default @champion)",
    )
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("score", help="score entity rows with the champion (batch)")
    p.add_argument("spec")
    p.add_argument("--input", required=True, help="parquet of entity rows (keys, event time)")
    p.add_argument("--output", required=True, help="predictions parquet to write")
    p.add_argument(
        "--version",
        type=int,
        help="score with this registered version instead of the champion (it must be judged)",
    )
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("monitor", help="compare the newest batch with the champion's profile")
    p.add_argument("spec")
    p.add_argument("--batch", help="a batch file or glob (default: the spec's monitoring.batch)")
    p.set_defaults(func=cmd_monitor)

    p = sub.add_parser("rollback", help="move the champion alias back to the previous champion")
    p.add_argument("model")
    p.add_argument("--alias", default="champion")
    p.add_argument("--reason", default="manual rollback")
    p.add_argument("--actor", help="who rolls back (default: the current user)")
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("deploy", help="write prefect.yaml from the specs (and apply it)")
    p.add_argument("paths", nargs="*", default=["specs"])
    p.add_argument("-o", "--output", default="prefect.yaml")
    p.add_argument("--check", action="store_true", help="fail if prefect.yaml is stale")
    p.add_argument(
        "--apply", action="store_true", help="then run `prefect deploy --all` on the server"
    )
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("serve", help="serve online predictions over HTTP (FastAPI)")
    p.add_argument("spec")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--materialize",
        action="store_true",
        help="first load the latest feature values into the Feast online store",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("server", help="the project's own Prefect server (started on demand)")
    p.add_argument("action", choices=["status", "start", "stop", "ui", "api"])
    p.set_defaults(func=cmd_server)

    p = sub.add_parser("canary", help="promote or roll back the served canary from its log")
    p.add_argument("spec")
    p.add_argument("--outcomes", help="parquet of entity keys and true labels (optional)")
    p.set_defaults(func=cmd_canary)

    p = sub.add_parser("demo-data", help="prepare the demo datasets (parquet) for the feature repo")
    p.add_argument("--dir", help="data folder (default: <state>/data)")
    p.set_defaults(func=cmd_demo_data)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SpecError as exc:
        for issue in exc.issues:
            print(issue.render(), file=sys.stderr)
        return EXIT_INVALID
    except RunStopped as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        return EXIT_STOPPED
    except MlopsSpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: no traceback for users
        if os.environ.get("MLOPS_SPEC_DEBUG"):
            raise
        disk = disk_problem(exc)
        if disk is not None:
            print(f"error: {disk}", file=sys.stderr)
            return EXIT_INVALID
        print(
            f"internal error: {type(exc).__name__}: {exc} (set MLOPS_SPEC_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
