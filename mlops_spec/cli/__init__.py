"""Command line: thin argument parsing over the loader, the plan and the runtime.

Only the standard library, pydantic, pydantic-settings and yaml are imported at start; the
commands that run pipelines import the heavy libraries when called. Settings are built once
per command and handed to it as ``args.settings``. Exit codes: 0 ok (for `run`: a version was
registered, promoted or not), 1 bad input or a failed step, 2 a run stopped by a data
constraint, 3 an internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from mlops_spec.cli import project_commands, run_commands, spec_commands
from mlops_spec.cli.common import EXIT_INTERNAL, EXIT_INVALID, EXIT_STOPPED
from mlops_spec.errors import (
    MlopsSpecError,
    RunStopped,
    SettingsError,
    SpecError,
    disk_problem,
)
from mlops_spec.settings import Settings


def command_settings() -> Settings:
    """The command's one Settings (environment and ``.env``), passed down to what it runs; a
    malformed ``MLOPS_SPEC_*`` value is bad input, named, not an internal error."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"MLOPS_SPEC_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise SettingsError(f"settings: {problems}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlops-spec", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for commands in (spec_commands, project_commands, run_commands):
        commands.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.settings = command_settings()
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
        settings = getattr(args, "settings", None)
        if settings.debug if settings is not None else os.environ.get("MLOPS_SPEC_DEBUG"):
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
