"""Feature views: which columns of each source are features, and how long a value stays valid.

A TTL bounds how old a feature row may be, relative to the entity row's timestamp, to be joined.
Census and penguin attributes are dated with their entity rows and never expire, but a finite
TTL is still set because ``feast materialize-incremental`` starts at ``now - ttl`` on its first
run, and these rows date from 2007-2020. Weather must be fresh: with a 2-hour TTL, a flight
gets the latest hourly observation at or before its scheduled departure, or nulls if the
station reported nothing for two hours.
"""

from datetime import timedelta

from demo_entities import flight, origin, penguin, person
from demo_sources import adult_source, flight_source, penguin_source, weather_source
from feast import FeatureView, Field
from feast.types import Float64, Int64, String

NEVER_EXPIRES = timedelta(days=365 * 100)

adult_features = FeatureView(
    name="adult_features",
    entities=[person],
    ttl=NEVER_EXPIRES,
    schema=[
        Field(name="age", dtype=Int64),
        Field(name="workclass", dtype=String),
        Field(name="education_num", dtype=Int64),
        Field(name="marital_status", dtype=String),
        Field(name="occupation", dtype=String),
        Field(name="relationship", dtype=String),
        Field(name="capital_gain", dtype=Int64),
        Field(name="capital_loss", dtype=Int64),
        Field(name="hours_per_week", dtype=Int64),
        Field(name="native_country", dtype=String),
    ],
    source=adult_source,
    online=True,
    description="Census attributes; sex, race and age band stay on the entity rows.",
)

penguin_features = FeatureView(
    name="penguin_features",
    entities=[penguin],
    ttl=NEVER_EXPIRES,
    schema=[
        Field(name="island", dtype=String),
        Field(name="bill_length_mm", dtype=Float64),
        Field(name="bill_depth_mm", dtype=Float64),
        Field(name="flipper_length_mm", dtype=Float64),
        Field(name="body_mass_g", dtype=Float64),
        Field(name="delta_15_n", dtype=Float64),
        Field(name="delta_13_c", dtype=Float64),
    ],
    source=penguin_source,
    online=True,
    description="Body measurements and blood isotopes; sex stays on the entity rows.",
)

flight_features = FeatureView(
    name="flight_features",
    entities=[flight],
    ttl=timedelta(days=1),
    schema=[
        Field(name="carrier", dtype=String),
        Field(name="distance", dtype=Int64),
        Field(name="sched_dep_hour", dtype=Int64),
        Field(name="dest", dtype=String),
        Field(name="day_of_week", dtype=Int64),
    ],
    source=flight_source,
    online=True,
    description="What is known when the flight is scheduled (local hour and weekday).",
)

origin_weather = FeatureView(
    name="origin_weather",
    entities=[origin],
    ttl=timedelta(hours=2),
    schema=[
        Field(name="temp", dtype=Float64),
        Field(name="dewp", dtype=Float64),
        Field(name="humid", dtype=Float64),
        Field(name="wind_dir", dtype=Float64),
        Field(name="wind_speed", dtype=Float64),
        Field(name="wind_gust", dtype=Float64),
        Field(name="precip", dtype=Float64),
        Field(name="pressure", dtype=Float64),
        Field(name="visib", dtype=Float64),
    ],
    source=weather_source,
    online=True,
    description="Hourly weather at the origin airport; valid for two hours.",
)
