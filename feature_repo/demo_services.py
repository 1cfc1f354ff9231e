"""Feature services: the named, versioned feature sets a spec asks for.

A spec names a service rather than listing views, so a model's inputs change only when a new
service version (``_v2``) is added; the old one stays for reproducing earlier runs.
"""

from demo_views import adult_features, flight_features, origin_weather, penguin_features
from feast import FeatureService

adult_features_v1 = FeatureService(
    name="adult_features_v1",
    features=[adult_features],
    description="Income > 50K: all census attributes except the sensitive ones.",
    owner="risk-ml@example.com",
    tags={"dataset": "uci-adult", "model": "adult-income"},
)

penguin_features_v1 = FeatureService(
    name="penguin_features_v1",
    features=[penguin_features],
    description="Species: body measurements, island and isotopes.",
    owner="field-biology@example.com",
    tags={"dataset": "palmer-penguins", "model": "penguin-species"},
)

flight_weather_v1 = FeatureService(
    name="flight_weather_v1",
    features=[flight_features, origin_weather],
    description="Arrival delay: schedule attributes plus origin weather at departure.",
    owner="ops-analytics@example.com",
    tags={"dataset": "nycflights13", "model": "flight-delays"},
)
