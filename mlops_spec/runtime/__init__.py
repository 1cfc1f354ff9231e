"""Prefect flows and tasks built from a plan: the only package that imports Prefect."""
