"""Entities of the demo repo: what each feature row is about."""

from feast import Entity, ValueType

person = Entity(
    name="person",
    join_keys=["person_id"],
    value_type=ValueType.INT64,
    description="One UCI Adult census record (row number over adult.data then adult.test).",
    owner="risk-ml@example.com",
    tags={"dataset": "uci-adult"},
)

penguin = Entity(
    name="penguin",
    join_keys=["penguin_id"],
    value_type=ValueType.INT64,
    description="One bird sampled by Palmer Station LTER (row number of the raw table).",
    owner="field-biology@example.com",
    tags={"dataset": "palmer-penguins"},
)

flight = Entity(
    name="flight",
    join_keys=["flight_id"],
    value_type=ValueType.INT64,
    description="One scheduled 2013 departure from New York (row number in flights.csv).",
    owner="ops-analytics@example.com",
    tags={"dataset": "nycflights13"},
)

origin = Entity(
    name="origin",
    join_keys=["origin"],
    value_type=ValueType.STRING,
    description="Origin airport of a flight (EWR, JFK, LGA): the key of the hourly weather.",
    owner="ops-analytics@example.com",
    tags={"dataset": "nycflights13"},
)
