"""Jobs over the whole asset graph, shared by the definitions, schedule and sensor."""

from __future__ import annotations

import dagster as dg

refresh_everything = dg.define_asset_job(
    "refresh_everything",
    selection=dg.AssetSelection.all(),
    description=(
        "Fetch reference data, load and tag new conversations for the day's partition, "
        "and rebuild every mart."
    ),
)
