"""Economic Index pipeline: Dagster assets and dbt models that measure AI use by O*NET task."""
