"""Dagster definitions: every asset, resource, job, schedule and sensor of the pipeline."""

from __future__ import annotations

import os

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration import settings
from orchestration.defs.clustering.assets import (
    clusters_page,
    conversation_clusters,
    conversation_facets_table,
    summary_embeddings,
)
from orchestration.defs.clustering.resource import Clustering
from orchestration.defs.conversations.assets import (
    conversation_inbox_sensor,
    conversation_tables,
)
from orchestration.defs.conversations.resource import Ingestion
from orchestration.defs.dbt.assets import DBT_PROJECT, economic_index_dbt
from orchestration.defs.hierarchy.assets import task_hierarchy
from orchestration.defs.reference.assets import REFERENCE_ASSETS
from orchestration.defs.reference.resource import ReferenceData
from orchestration.defs.report.assets import usage_report
from orchestration.defs.tagging.assets import conversation_tags
from orchestration.defs.tagging.resource import Tagging
from orchestration.defs.warehouse.resource import Warehouse
from orchestration.jobs import refresh_everything

ALL_ASSETS = [
    *REFERENCE_ASSETS,
    task_hierarchy,
    conversation_tables,
    conversation_tags,
    conversation_facets_table,
    summary_embeddings,
    conversation_clusters,
    economic_index_dbt,
    usage_report,
    clusters_page,
]

# Forgetting re-materializes the conversation tables with `forget_account` set in their run
# config, then everything downstream, so no mart keeps a trace of the account.
forget_account = dg.define_asset_job(
    "forget_account",
    selection=dg.AssetSelection.assets(conversation_tables).downstream(),
    description=(
        "Delete one account's conversations and everything derived from them, then rebuild "
        "the marts. Set ops.conversation_tables.config.forget_account to the account's "
        "stored acct_ hash (or its id)."
    ),
)


@dg.schedule(
    job=refresh_everything,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    # Runs whenever the Dagster daemon runs (`make ui` starts one); stop it in the UI.
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Refresh everything for the day of the tick."""
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(run_key=f"daily-{day}", partition_key=day)


def build_tagging() -> Tagging:
    """Return the tagging resource for the backend the environment chooses.

    The API key is passed as dg.EnvVar, so it is read at run time and never stored in run
    config. An offline run needs no key.
    """
    backend = settings.tagging_backend()
    api_key = None
    if os.environ.get(settings.ENV_ANTHROPIC_API_KEY):
        api_key = dg.EnvVar(settings.ENV_ANTHROPIC_API_KEY)
    return Tagging(backend=backend, api_key=api_key)


def build_resources() -> dict[str, object]:
    """Return the resources; their unset paths are read from the environment at run time."""
    return {
        "warehouse": Warehouse(),
        "reference": ReferenceData(),
        "ingestion": Ingestion(),
        "tagging": build_tagging(),
        "clustering": Clustering(),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT.project_dir),
            profiles_dir=str(settings.PROJECT_ROOT),
            dbt_executable=settings.dbt_executable(),
        ),
    }


defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[refresh_everything, forget_account],
    schedules=[daily_refresh],
    sensors=[conversation_inbox_sensor],
    resources=build_resources(),
)
