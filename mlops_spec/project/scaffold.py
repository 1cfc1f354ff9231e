"""``mlops-spec init --project DIR``: a complete, working project outside this repository.

A team's project needs what this repository has, minus the demos: ``specs/``, a Feast repo whose
state stays in the project's own ``.mlops/``, a shared policy, the static Prefect entrypoints
that ``prefect.yaml`` names (an installed mlops-spec has no ``flows/`` folder, so three small
files that import from the package are written), and the JSON Schema the specs' editor header
points at. The project is assembled in a temporary folder next to ``DIR`` and renamed into
place, so a failure leaves nothing behind.

Commands find the project by the working directory (``Settings.project_root`` defaults to it),
so they are run from ``DIR``; everything they write goes to ``DIR/.mlops``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from importlib.resources import files
from pathlib import Path

from mlops_spec.project import ProjectError

TEMPLATES = "templates/project"
SCHEMA_FILE = "schema/mlops-spec.schema.json"
POLICY_SCHEMA_FILE = "schema/mlops-spec-policy.schema.json"
POLICY_FILE = "policies/default.yaml"
# template file (under templates/project) -> where it goes in the project
COPIED = {
    "feature_repo/feature_store.yaml": "feature_repo/feature_store.yaml",
    "feature_repo/project.py.tmpl": "feature_repo/project.py",
    "policies/default.yaml": POLICY_FILE,
    "flows/train.py.tmpl": "flows/train.py",
    "flows/score.py.tmpl": "flows/score.py",
    "flows/monitor.py.tmpl": "flows/monitor.py",
    "gitignore": ".gitignore",
    "README.md": "README.md",
}
KEEP_EMPTY = ("specs/.gitkeep", "data/.gitkeep")


def feast_project_name(folder_name: str) -> str:
    """Feast project names are letters, digits and underscores, starting with a letter."""
    name = re.sub(r"[^a-z0-9]+", "_", folder_name.lower()).strip("_")
    if not name:
        return "mlops_project"
    return name if name[0].isalpha() else f"p_{name}"


def template_text(relative: str) -> str:
    """A file shipped in the package (package data), by path under ``mlops_spec/``."""
    return files("mlops_spec").joinpath(relative).read_text(encoding="utf-8")


def project_files(folder_name: str) -> dict[str, str]:
    """Every file of a new project, by path relative to its root (pure: no disk writes)."""
    from mlops_spec.plan.deployments import prefect_document, render_prefect_yaml
    from mlops_spec.schema import policy_schema_text, schema_text

    project = feast_project_name(folder_name)
    out: dict[str, str] = {}
    for source, target in COPIED.items():
        text = template_text(f"{TEMPLATES}/{source}")
        out[target] = text.replace("__PROJECT_TITLE__", folder_name).replace("__PROJECT__", project)
    out[SCHEMA_FILE] = schema_text()
    out[POLICY_SCHEMA_FILE] = policy_schema_text()
    # The same document `mlops-spec deploy` writes for no specs yet, so `deploy --check` holds.
    out["prefect.yaml"] = render_prefect_yaml(prefect_document([]))
    for keep in KEEP_EMPTY:
        out[keep] = ""
    return out


def create_project(target: Path) -> Path:
    """Write a new project at ``target`` (absent or an empty folder); return its path."""
    target = target.expanduser().absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ProjectError(
            f"{target} exists and is not an empty folder; choose a new folder for the project"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.init-", dir=target.parent))
    except OSError as exc:
        raise ProjectError(f"cannot create {target}: {exc.strerror or exc}") from exc
    try:
        for relative, text in project_files(target.name).items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        staging.chmod(0o777 & ~_umask())
        if target.exists():
            target.rmdir()  # empty, checked above
        os.rename(staging, target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise ProjectError(
                f"cannot create {target}: {exc.strerror or exc}; nothing was written"
            ) from exc
        raise
    return target


def _umask() -> int:
    """mkdtemp makes a private (0700) folder; the project should get the user's usual mode."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def spec_from_template(name: str, spec_dir: Path, root: Path) -> str:
    """The ``init NAME`` spec, made to validate where it is written: its editor header points at
    the project's schema from the spec's own folder, and it names the shared policy only when
    the project has one (a missing policy file is a validation error)."""
    text = template_text("templates/spec.yaml").replace("__NAME__", name)
    folder = spec_dir.absolute().resolve()
    if folder.is_relative_to(root):
        schema = os.path.relpath(root / SCHEMA_FILE, folder).replace(os.sep, "/")
        text = text.replace("$schema=../schema/mlops-spec.schema.json", f"$schema={schema}", 1)
    if not (root / POLICY_FILE).is_file():
        text = text.replace(f"  policy: {POLICY_FILE}\n", "", 1)
    return text
