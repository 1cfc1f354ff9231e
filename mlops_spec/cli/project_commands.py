"""Commands that write a project of one's own: init and features add."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlops_spec.cli.common import EXIT_INVALID, EXIT_OK, rel, write_atomic


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
    write_atomic(target, spec_from_template(args.name, target.parent, args.settings.root))
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
        f"wrote {rel(added.module)} (entity {found.key}, {len(found.served)} features, "
        f"service {added.name}_v1)"
    )
    if added.entities is None or added.spec is None:
        print("no --label: features only; a training spec needs a label column")
    else:
        count = added.dropped_unlabelled
        dropped = f"; {count} rows without a label left out" if count else ""
        print(f"wrote {rel(added.entities)} ({added.entity_rows} entity rows{dropped})")
        positive = "" if added.positive_label is None else f", positive {added.positive_label!r}"
        print(f"wrote {rel(added.spec)} ({added.task}, label {found.label}{positive})")
    spec = rel(added.spec) if added.spec else "specs/SPEC.yaml"
    print(f"next: feast -c feature_repo apply; mlops-spec validate {spec}; mlops-spec run {spec}")
    return EXIT_OK


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


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """init and features add."""
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
