"""The process engine: SpiffWorkflow 3.x behind a small persisted API (the only place that imports it)."""
