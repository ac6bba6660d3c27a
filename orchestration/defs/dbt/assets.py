"""dbt models and tests as Dagster assets and asset checks, in one graph with the raw tables."""

# Dagster inspects these annotations at definition time, so they must not be strings
# (no `from __future__ import annotations`).

import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration import settings
from orchestration.defs.warehouse.resource import WAREHOUSE_POOL, Warehouse

DBT_PROJECT = DbtProject(project_dir=settings.PROJECT_ROOT, profiles_dir=settings.PROJECT_ROOT)


class MissingManifestError(RuntimeError):
    """dbt's manifest has not been built yet."""


def manifest_path() -> str:
    """Return dbt's manifest, which dagster-dbt must read before it can define the assets."""
    path = DBT_PROJECT.manifest_path
    if not path.exists():
        raise MissingManifestError(
            f"{path} not found: run `make parse` (or `dbt parse --profiles-dir .`) first"
        )
    return str(path)


class FolderGroupTranslator(DagsterDbtTranslator):
    """Groups dbt models by their folder (staging, intermediate, marts) in the UI."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "seeds"
        return fqn[1] if len(fqn) > 2 else "dbt"


@dbt_assets(
    manifest=manifest_path(),
    project=DBT_PROJECT,
    pool=WAREHOUSE_POOL,
    dagster_dbt_translator=FolderGroupTranslator(),
)
def economic_index_dbt(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
) -> Iterator[Any]:
    """Build every dbt seed and model and run its tests against the warehouse."""
    # dbt's profile reads the same path, so both sides always open one file.
    os.environ[settings.ENV_WAREHOUSE_PATH] = str(warehouse.resolved_path())
    # One fixed folder rather than one per run, so target/ does not grow with every run.
    # The warehouse pool already keeps two dbt builds from running at once.
    target_path = DBT_PROJECT.project_dir / "target" / "dagster"
    yield from dbt.cli(["build"], context=context, target_path=target_path).stream()
