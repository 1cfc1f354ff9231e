"""A project of one's own: ``mlops-spec init --project DIR`` and ``mlops-spec features add``.

``scaffold`` writes a new project (specs, a Feast repo, a policy, Prefect entrypoints, the JSON
Schema); ``table`` reads a parquet table's arrow schema and entity rows (pyarrow only);
``feature_module`` and ``spec_text`` render the readable files ``features add`` writes;
``features`` ties them together and writes everything or nothing. None of these modules
imports Feast: reading a schema and writing text must not pay Feast's five-second import.
"""

from __future__ import annotations

from mlops_spec.errors import MlopsSpecError


class ProjectError(MlopsSpecError):
    """A project or feature definition could not be written; nothing was left behind."""
