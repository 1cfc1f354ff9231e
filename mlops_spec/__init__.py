"""mlops-spec: declarative MLOps specs compiled into Prefect flows."""

__version__ = "0.1.0"
