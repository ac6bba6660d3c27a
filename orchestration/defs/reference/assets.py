"""Reference-data assets: O*NET tasks, SOC structure, BLS employment, wages, the release."""

# Dagster inspects these annotations at definition time, so they must not be strings
# (no `from __future__ import annotations`).

import dagster as dg

from orchestration.defs.reference import catalog
from orchestration.defs.reference.fetch import FetchedFile, RemoteFile
from orchestration.defs.reference.load import TABLE_LOADS, load_skills, load_table
from orchestration.defs.reference.resource import ReferenceData
from orchestration.defs.warehouse.resource import WAREHOUSE_POOL, Warehouse

GROUP = "reference"


def _materialize(
    context: dg.AssetExecutionContext,
    reference: ReferenceData,
    warehouse: Warehouse,
    table: str,
    remote: RemoteFile,
    *,
    delimiter: str | None = None,
    extra_columns: tuple[str, ...] = (),
) -> dg.MaterializeResult:
    fetched = reference.fetch(remote)
    with warehouse.connect() as connection:
        rows = load_table(
            connection,
            TABLE_LOADS[table],
            fetched.path,
            delimiter=delimiter,
            extra_columns=extra_columns,
        )
    context.log.info("loaded %d rows into raw.%s from %s", rows, table, fetched.origin)
    return dg.MaterializeResult(metadata=_metadata(rows, remote, fetched))


def _metadata(rows: int, remote: RemoteFile, fetched: FetchedFile) -> dict:
    return {
        "dagster/row_count": rows,
        "source": fetched.origin,
        "path": str(fetched.path),
        "url": dg.MetadataValue.url(remote.url) if remote.url else "mirror only",
        "sha256": fetched.sha256,
        "checksum_verified": remote.sha256 is not None,
    }


@dg.asset(key_prefix="raw", group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"})
def onet_task_statements(
    context: dg.AssetExecutionContext, reference: ReferenceData, warehouse: Warehouse
) -> dg.MaterializeResult:
    """O*NET task statements with their occupations: the 20.1 set inside the Economic Index
    release by default, or O*NET 29.3 when ONET_RELEASE=29.3."""
    release = reference.resolved_onet_release()
    if release == "29.3":
        remote, delimiter = catalog.ONET_29_3_TASK_STATEMENTS, "\t"
    else:
        remote, delimiter = catalog.AEI_TASK_STATEMENTS, ","
    return _materialize(
        context,
        reference,
        warehouse,
        "onet_task_statements",
        remote,
        delimiter=delimiter,
        extra_columns=(f"'{release}' as onet_release",),
    )


@dg.asset(key_prefix="raw", group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"})
def soc_structure(
    context: dg.AssetExecutionContext, reference: ReferenceData, warehouse: Warehouse
) -> dg.MaterializeResult:
    """O*NET-SOC 2019 hierarchy shipped with the release, for major-group titles."""
    return _materialize(context, reference, warehouse, "soc_structure", catalog.AEI_SOC_STRUCTURE)


@dg.asset(key_prefix="raw", group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"})
def bls_employment(
    context: dg.AssetExecutionContext, reference: ReferenceData, warehouse: Warehouse
) -> dg.MaterializeResult:
    """BLS OEWS May 2023 employment by SOC major group, keyed by group title."""
    return _materialize(context, reference, warehouse, "bls_employment", catalog.AEI_BLS_EMPLOYMENT)


@dg.asset(key_prefix="raw", group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"})
def occupation_wages(
    context: dg.AssetExecutionContext, reference: ReferenceData, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Median annual wage per O*NET-SOC occupation, as shipped with the release."""
    return _materialize(context, reference, warehouse, "occupation_wages", catalog.AEI_WAGES)


@dg.asset(key_prefix="raw", group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"})
def aei_task_mappings(
    context: dg.AssetExecutionContext, reference: ReferenceData, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Published share of conversations per O*NET task (Economic Index, Feb 2025)."""
    return _materialize(
        context, reference, warehouse, "aei_task_mappings", catalog.AEI_TASK_MAPPINGS
    )


@dg.asset(key_prefix="raw", group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"})
def aei_interaction_modes(
    context: dg.AssetExecutionContext, reference: ReferenceData, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Published share of each interaction mode (Economic Index, Feb 2025)."""
    return _materialize(
        context, reference, warehouse, "aei_interaction_modes", catalog.AEI_INTERACTION_MODES
    )


@dg.asset(key_prefix="raw", group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"})
def onet_tasks_to_dwas(
    context: dg.AssetExecutionContext, reference: ReferenceData, warehouse: Warehouse
) -> dg.MaterializeResult:
    """O*NET 29.3 links from each task to its detailed work activities (DWAs)."""
    return _materialize(
        context, reference, warehouse, "onet_tasks_to_dwas", catalog.ONET_29_3_TASKS_TO_DWAS
    )


@dg.asset(key_prefix="raw", group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"})
def onet_dwa_reference(
    context: dg.AssetExecutionContext, reference: ReferenceData, warehouse: Warehouse
) -> dg.MaterializeResult:
    """O*NET 29.3 DWAs with the intermediate (IWA) and general (GWA) activities above them."""
    return _materialize(
        context, reference, warehouse, "onet_dwa_reference", catalog.ONET_29_3_DWA_REFERENCE
    )


@dg.asset(key_prefix="raw", group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"})
def onet_iwa_reference(
    context: dg.AssetExecutionContext, reference: ReferenceData, warehouse: Warehouse
) -> dg.MaterializeResult:
    """O*NET 29.3 intermediate work activities (IWAs) with their general work activity."""
    return _materialize(
        context, reference, warehouse, "onet_iwa_reference", catalog.ONET_29_3_IWA_REFERENCE
    )


@dg.asset(key_prefix="raw", group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"})
def onet_content_model_reference(
    context: dg.AssetExecutionContext, reference: ReferenceData, warehouse: Warehouse
) -> dg.MaterializeResult:
    """O*NET 29.3 Content Model elements: ids, names and descriptions of skills, GWAs, etc."""
    return _materialize(
        context,
        reference,
        warehouse,
        "onet_content_model_reference",
        catalog.ONET_29_3_CONTENT_MODEL,
    )


# The count O*NET 29.3 lists; another count means the Content Model changed.
EXPECTED_SKILL_COUNT = 35


@dg.asset(
    key_prefix="raw",
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    deps=[onet_content_model_reference],
)
def onet_skills(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """O*NET's skills (basic and cross-functional), the options of the skills tag."""
    with warehouse.connect() as connection:
        rows = load_skills(connection)
    if rows != EXPECTED_SKILL_COUNT:
        context.log.warning(
            "raw.onet_skills has %d skills where O*NET 29.3 lists %d; check the Content Model "
            "Reference file",
            rows,
            EXPECTED_SKILL_COUNT,
        )
    context.log.info("loaded %d skills into raw.onet_skills", rows)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": rows, "expected_skill_count": EXPECTED_SKILL_COUNT}
    )


REFERENCE_ASSETS = [
    onet_task_statements,
    soc_structure,
    bls_employment,
    occupation_wages,
    aei_task_mappings,
    aei_interaction_modes,
    onet_tasks_to_dwas,
    onet_dwa_reference,
    onet_iwa_reference,
    onet_content_model_reference,
    onet_skills,
]
