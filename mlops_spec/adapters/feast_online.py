"""Feast online features for serving: one store opened per process, read per request.

The online store holds the latest materialized value of each feature per entity, so a request
needs only entity keys. Any failure to read it (server down, database missing or corrupt) is
an ``OnlineStoreUnavailable``, for the service to handle as its spec says; an entity the store
has never seen is not a failure, its features simply come back missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mlops_spec.adapters.feast_store import materialize, open_store, requested_features
from mlops_spec.errors import OnlineStoreUnavailable, UnservableEntityKey


class OnlineFeatures:
    """The features of a feature service (or explicit refs), read from the online store."""

    def __init__(
        self, repo_path: Path, *, service: str | None = None, refs: Sequence[str] | None = None
    ) -> None:
        if (service is None) == (refs is None):
            raise ValueError("give exactly one of service= or refs=")
        self.repo_path = repo_path
        self._store = open_store(repo_path)
        self._service, self.refs, views = requested_features(self._store, repo_path, service, refs)
        self.views = [view.name for view in views]
        self.columns = tuple(ref.split(":", 1)[1] for ref in self.refs)
        self._reopen = False

    def get(
        self, entity_rows: Sequence[Mapping[str, Any]], *, keys_checked: bool = False
    ) -> pd.DataFrame:
        """One row per entity row, in order, with a column per feature (missing -> NA).

        After a failure the store is reopened on the next call: online stores keep a
        connection (SQLite's remembers a vanished schema), and a recovered store must serve
        again without a restart. Keys are converted to Feast's value protos first, so a key
        no store could hold is ``UnservableEntityKey`` (bad input), not an outage
        (``keys_checked``: the caller did that with ``check_keys`` already).
        """
        if not keys_checked:
            check_keys(entity_rows)
        try:
            if self._reopen:
                self._store = open_store(self.repo_path)
                self._service = (
                    self._store.get_feature_service(self._service.name) if self._service else None
                )
                self._reopen = False
            response = self._store.get_online_features(
                features=self._service if self._service is not None else list(self.refs),
                entity_rows=[dict(row) for row in entity_rows],
                full_feature_names=False,
            )
            frame = response.to_df()
        except Exception as exc:  # sqlite, redis and network errors alike mean "unavailable"
            self._reopen = True
            raise OnlineStoreUnavailable(
                f"feast online store unavailable: {type(exc).__name__}: {exc}"
            ) from exc
        return frame[list(self.columns)]

    def ensure_tables(self) -> None:
        """Create the online tables of these views if missing, as ``feast apply`` does.

        The registry remembers the tables it created, so a plan sees nothing to do when the
        online database was deleted or replaced since; materializing would then fail.
        """
        store: Any = self._store
        views = [store.get_feature_view(name) for name in self.views]
        entities = [store.get_entity(e) for view in views for e in view.entities]
        try:
            store._get_provider().update_infra(
                project=store.project,
                tables_to_delete=[],
                tables_to_keep=views,
                entities_to_delete=[],
                entities_to_keep=entities,
                partial=True,
            )
        except Exception as exc:
            raise OnlineStoreUnavailable(
                f"feast online store cannot be prepared: {type(exc).__name__}: {exc}"
            ) from exc

    def materialize_all(self, end: datetime | None = None) -> None:
        """Load the latest value of every feature up to ``end`` (now) into the online store."""
        self.ensure_tables()
        materialize(
            self.repo_path,
            datetime(1970, 1, 1, tzinfo=UTC),
            end or datetime.now(UTC),
            views=self.views,
        )


def check_keys(entity_rows: Sequence[Mapping[str, Any]]) -> None:
    """Convert every key value as Feast will, before the store is touched."""
    from feast.type_map import python_values_to_proto_values
    from feast.value_type import ValueType

    for row in entity_rows:
        for key, value in row.items():
            try:
                python_values_to_proto_values([value], ValueType.UNKNOWN)
            except (ValueError, TypeError, OverflowError) as exc:
                raise UnservableEntityKey(key, value, str(exc)) from None
