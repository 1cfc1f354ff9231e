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
)

penguin_features_v1 = FeatureService(
    name="penguin_features_v1",
    features=[penguin_features],
    description="Species: body measurements, island and isotopes.",
)

flight_weather_v1 = FeatureService(
    name="flight_weather_v1",
    features=[flight_features, origin_weather],
    description="Arrival delay: schedule attributes plus origin weather at departure.",
)
