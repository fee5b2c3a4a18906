"""Dagster Definitions, jobs and sensors for every labeling project in the workspace."""
