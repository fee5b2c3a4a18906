"""Images: ingestion, detection labelers, box consolidation, exchange formats."""
