"""Dagster definitions: every asset, resource, job and schedule of the pipeline."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration import settings
from orchestration.defs.conversations.assets import conversation_tables
from orchestration.defs.dbt.assets import DBT_PROJECT, economic_index_dbt
from orchestration.defs.reference.assets import REFERENCE_ASSETS
from orchestration.defs.reference.resource import ReferenceData
from orchestration.defs.report.assets import usage_report
from orchestration.defs.tagging.assets import conversation_tags
from orchestration.defs.tagging.resource import Tagging
from orchestration.defs.warehouse.resource import Warehouse

ALL_ASSETS = [
    *REFERENCE_ASSETS,
    conversation_tables,
    conversation_tags,
    economic_index_dbt,
    usage_report,
]

refresh_everything = dg.define_asset_job(
    "refresh_everything",
    selection=dg.AssetSelection.all(),
    description="Fetch reference data, load and tag new conversations, rebuild every mart.",
)

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_everything,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    # Runs whenever the Dagster daemon runs (`make ui` starts one); stop it in the UI.
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


def build_resources() -> dict[str, object]:
    """Return the resources; their unset paths are read from the environment at run time."""
    return {
        "warehouse": Warehouse(),
        "reference": ReferenceData(),
        "tagging": Tagging(),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT.project_dir),
            profiles_dir=str(settings.PROJECT_ROOT),
            dbt_executable=settings.dbt_executable(),
        ),
    }


defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[refresh_everything],
    schedules=[daily_refresh],
    resources=build_resources(),
)
