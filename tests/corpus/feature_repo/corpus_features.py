"""Feast definitions of the bad-input corpus: what base.yaml's `service: svc_v1` names.

`applicant` joins on the entity file's `id`; `account` joins on `account_id`, which the entity
file (data/rows.parquet, written by make_corpus.py) lacks, for the join-key case.
"""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64

applicant = Entity(name="applicant", join_keys=["id"], value_type=ValueType.INT64)
account = Entity(name="account", join_keys=["account_id"], value_type=ValueType.INT64)

applicant_source = FileSource(path="../data/features.parquet", timestamp_field="ts")
account_source = FileSource(path="../data/accounts.parquet", timestamp_field="ts")

applicant_view = FeatureView(
    name="applicant",
    entities=[applicant],
    ttl=timedelta(days=365),
    schema=[
        Field(name="id", dtype=Int64),
        Field(name="income", dtype=Float64),
        Field(name="tenure", dtype=Int64),
    ],
    source=applicant_source,
)

account_view = FeatureView(
    name="account",
    entities=[account],
    ttl=timedelta(days=365),
    schema=[Field(name="balance", dtype=Float64)],
    source=account_source,
)

svc_v1 = FeatureService(name="svc_v1", features=[applicant_view])
