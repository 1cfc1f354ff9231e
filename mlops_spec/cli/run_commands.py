"""Commands that run pipelines or talk to services: run, score, monitor, serve, canary, audit,
rollback, the project's Prefect server, and the demo data. Each imports the runtime only when
called, so the other commands stay light."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mlops_spec.cli.common import EXIT_INVALID, EXIT_OK, EXIT_STOPPED

if TYPE_CHECKING:
    from mlops_spec.loader import LoadedSpec


def cmd_run(args: argparse.Namespace) -> int:
    from mlops_spec.loader import document_kind

    if document_kind(args.spec, args.settings) == "FairnessAudit":
        return _run_fairness_audit(args)
    from mlops_spec.runtime.entry import run_spec

    outcome = run_spec(args.spec, args.settings, show_progress=not args.no_progress)
    print(outcome.summary())
    return EXIT_OK


def _run_fairness_audit(args: argparse.Namespace) -> int:
    """A ``kind: FairnessAudit`` spec: one audit flow run; exit 2 when a blocking rule broke."""
    from mlops_spec.loader import load_audit
    from mlops_spec.runtime.entry import run_tags
    from mlops_spec.runtime.environment import use_prefect

    audit = load_audit(args.spec, args.settings)  # a bad spec fails before Prefect starts
    use_prefect(args.settings)
    from mlops_spec.runtime.fairness_audit import fairness_audit

    with run_tags("fairness-audit", audit.spec.metadata.name):
        state = fairness_audit(spec_path=args.spec, return_state=True)
    result = cast("dict[str, Any]", state.result())
    print(audit_summary(result))
    return EXIT_OK if result["passed"] else EXIT_STOPPED


def audit_summary(result: dict[str, Any]) -> str:
    """The audit's verdict, its rules and the per-group table, as the terminal shows them."""
    from mlops_spec.runtime.outcome import rates_table

    verdict = "every blocking fairness rule holds" if result["passed"] else "rules broken"
    lines = [f"{result['audit']}: {verdict} ({result['rows']} rows)"]
    for rule in result["rules"]:
        mark = "pass" if rule["passed"] else ("FAIL" if rule["severity"] == "block" else "warn")
        value = "n/a" if rule["value"] is None else f"{rule['value']:.4f}"
        lines.append(f"  {rule['metric']} on {rule['sensitive']}: {value} ({rule['bound']}) {mark}")
    lines.append(
        rates_table([{"sensitive": "(all)", "group": "", **result["overall"]}, *result["groups"]])
    )
    lines.append(
        f"  mlflow run {result['mlflow_run_id']}; prefect flow run {result['prefect_flow_run_id']}"
    )
    return "\n".join(lines)


def cmd_audit(args: argparse.Namespace) -> int:
    from mlops_spec.runtime.audit import audit_text

    print(audit_text(args.model, args.version))
    return EXIT_OK


def cmd_demo_data(args: argparse.Namespace) -> int:
    from mlops_spec.demo_data import prepare_all

    data_dir = Path(args.dir) if args.dir else args.settings.data_path
    for name, path in sorted(prepare_all(data_dir).items()):
        print(f"{name}: {path}")
    return EXIT_OK


def _prepared(args: argparse.Namespace, *, prefect: bool = True) -> LoadedSpec:
    """Load and check the spec first (a bad spec fails before any backend is touched), then
    point Prefect (the project's server, started if needed), MLflow and the rest at the
    command's settings; ``prefect=False`` for commands that run no flow. The spec stays
    loaded for the flow the command runs next (``spec_cache``)."""
    from mlops_spec.runtime.environment import prepare_environment, use_prefect
    from mlops_spec.runtime.spec_cache import load_once

    loaded = load_once(args.spec, args.settings)
    (use_prefect if prefect else prepare_environment)(args.settings)
    return loaded


def cmd_score(args: argparse.Namespace) -> int:
    loaded = _prepared(args)
    from mlops_spec.plan.deployments import SCORE
    from mlops_spec.runtime.entry import run_tags
    from mlops_spec.runtime.scoring import check_input, score

    data = loaded.spec.data
    check_input(loaded.resolve(args.input), [*data.entity_keys, data.timestamp], args.input)
    with run_tags(SCORE.tag, loaded.spec.metadata.name):  # as a deployed run is tagged
        result = score(
            spec_path=args.spec,
            input_path=args.input,
            output_path=args.output,
            version=args.version.number,
            alias=args.version.alias,
        )
    print(
        f"{result['model']} v{result['version']}: scored {result['rows']} rows -> "
        f"{result['output']} (mlflow run {result['mlflow_run_id']})"
    )
    return EXIT_OK


def cmd_monitor(args: argparse.Namespace) -> int:
    """Exit 0 with a report either way: drift is news for Prefect's automations, not an error."""
    loaded = _prepared(args)
    from mlops_spec.plan.deployments import MONITOR
    from mlops_spec.runtime.entry import run_tags
    from mlops_spec.runtime.monitoring import monitor

    with run_tags(MONITOR.tag, loaded.spec.metadata.name):
        # the flow returns a state only to name it (Skipped); the call gives its result
        result = cast(
            "dict[str, Any]",
            monitor(
                spec_path=args.spec,
                batch=args.batch,
                version=args.version.number,
                alias=args.version.alias,
            ),
        )
    if "skipped" in result:  # no champion or no batch yet: nothing to compare, not a failure
        print(f"{result['model']}: skipped ({result['skipped']})")
        return EXIT_OK
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


def cmd_serve(args: argparse.Namespace) -> int:
    _prepared(args, prefect=False)
    from mlops_spec.runtime.serving_workers import serve

    serve(
        args.spec,
        host=args.host,
        port=args.port,
        materialize=args.materialize,
        workers=args.workers,
        access_log=args.access_log,
    )
    return EXIT_OK


def cmd_server(args: argparse.Namespace) -> int:
    """The project's own Prefect server: status, start, stop, or the UI's or API's address."""
    from mlops_spec.runtime import local_server
    from mlops_spec.runtime.environment import prepare_environment

    settings = args.settings
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
    loaded = _prepared(args)
    from mlops_spec.plan.deployments import CANARY_TAG
    from mlops_spec.runtime.canary import canary
    from mlops_spec.runtime.entry import run_tags

    with run_tags(CANARY_TAG, loaded.spec.metadata.name):
        verdict = canary(spec_path=args.spec, outcomes_path=args.outcomes)
    print(
        f"canary v{verdict['canary_version']} (champion v{verdict['champion_version']}): "
        f"{verdict['decision']} ({verdict['reason']})"
    )
    return EXIT_OK


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """run, audit, score, monitor, rollback, serve, server, canary and demo-data."""
    _add_model_parsers(sub)
    _add_service_parsers(sub)


def _add_model_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands on a spec's model: run, audit, score, monitor, rollback."""
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
        type=version_ref,
        default=VersionRef(),
        metavar="N|@ALIAS",
        help="score with this registered version (3) or alias (@challenger) instead of the "
        "champion (it must have been judged)",
    )
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("monitor", help="compare the newest batch with the champion's profile")
    p.add_argument("spec")
    p.add_argument("--batch", help="a batch file or glob (default: the spec's monitoring.batch)")
    p.add_argument(
        "--version",
        type=version_ref,
        default=VersionRef(),
        metavar="N|@ALIAS",
        help="compare with the reference profile of this version (3) or alias (@challenger) "
        "instead of the champion's",
    )
    p.set_defaults(func=cmd_monitor)

    p = sub.add_parser("rollback", help="move the champion alias back to the previous champion")
    p.add_argument("model")
    p.add_argument("--alias", default="champion")
    p.add_argument("--reason", default="manual rollback")
    p.add_argument("--actor", help="who rolls back (default: the current user)")
    p.set_defaults(func=cmd_rollback)


@dataclass(frozen=True)
class VersionRef:
    """A registered version by number or by alias; neither: the spec's promotion alias."""

    number: int | None = None
    alias: str | None = None


def version_ref(text: str) -> VersionRef:
    """``3`` or ``@challenger``, as ``--version`` takes it."""
    if text.startswith("@") and re.fullmatch(r"@[A-Za-z0-9_-]{1,255}", text):
        return VersionRef(alias=text[1:])
    if text.isdigit() and int(text) >= 1:
        return VersionRef(number=int(text))
    raise argparse.ArgumentTypeError(
        f"{text!r}: give a version number (3) or an alias (@challenger)"
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: give 1 or more")
    return value


def _add_service_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands that serve or manage services: serve, server, canary, demo-data."""
    p = sub.add_parser("serve", help="serve online predictions over HTTP (FastAPI)")
    p.add_argument("spec")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="worker processes (default: one per core)",
    )
    p.add_argument("--access-log", action="store_true", help="log every request (uvicorn's)")
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
