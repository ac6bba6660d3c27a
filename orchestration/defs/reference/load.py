"""Load reference files into the warehouse's raw schema with explicit column types.

Codes (O*NET-SOC, SOC) stay text so that no leading zero is lost. Every file goes through
DuckDB's CSV reader rather than dbt seeds, because the task file alone is 3.6 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

TASK_STATEMENT_COLUMNS = {
    "onet_soc_code": "varchar",
    "occupation_title": "varchar",
    "task_id": "bigint",
    "task_statement": "varchar",
    "task_type": "varchar",
    "incumbents_responding": "double",
    "task_date": "varchar",
    "domain_source": "varchar",
}


@dataclass(frozen=True)
class TableLoad:
    """Target table and column types for one reference file."""

    table: str
    columns: dict[str, str]
    delimiter: str = ","
    # Extra columns computed in the select, as "expression as name".
    extra_columns: tuple[str, ...] = ()


TABLE_LOADS: dict[str, TableLoad] = {
    "onet_task_statements": TableLoad("onet_task_statements", TASK_STATEMENT_COLUMNS),
    "soc_structure": TableLoad(
        "soc_structure",
        {
            "major_group": "varchar",
            "minor_group": "varchar",
            "broad_occupation": "varchar",
            "detailed_occupation": "varchar",
            "detailed_onet_soc": "varchar",
            "title": "varchar",
        },
    ),
    "bls_employment": TableLoad(
        "bls_employment",
        {"soc_major_group_title": "varchar", "employment": "bigint"},
    ),
    "occupation_wages": TableLoad(
        "occupation_wages",
        {
            "onet_soc_code": "varchar",
            "occupation_title": "varchar",
            "job_family": "varchar",
            "is_bright": "varchar",
            "is_green": "varchar",
            "job_zone": "integer",
            "median_salary": "double",
            "job_forecast": "double",
            "chance_automation": "double",
            "wage_group": "varchar",
        },
    ),
    "aei_task_mappings": TableLoad("aei_task_mappings", {"task_name": "varchar", "pct": "double"}),
    "aei_interaction_modes": TableLoad(
        "aei_interaction_modes", {"interaction_type": "varchar", "pct": "double"}
    ),
    "onet_tasks_to_dwas": TableLoad(
        "onet_tasks_to_dwas",
        {
            "onet_soc_code": "varchar",
            "occupation_title": "varchar",
            "task_id": "bigint",
            "task_statement": "varchar",
            "dwa_id": "varchar",
            "dwa_title": "varchar",
            "link_date": "varchar",
            "domain_source": "varchar",
        },
        delimiter="\t",
    ),
    "onet_dwa_reference": TableLoad(
        "onet_dwa_reference",
        {
            "gwa_id": "varchar",
            "gwa_name": "varchar",
            "iwa_id": "varchar",
            "iwa_title": "varchar",
            "dwa_id": "varchar",
            "dwa_title": "varchar",
        },
        delimiter="\t",
    ),
    "onet_iwa_reference": TableLoad(
        "onet_iwa_reference",
        {
            "gwa_id": "varchar",
            "gwa_name": "varchar",
            "iwa_id": "varchar",
            "iwa_title": "varchar",
        },
        delimiter="\t",
    ),
    "onet_content_model_reference": TableLoad(
        "onet_content_model_reference",
        {"element_id": "varchar", "element_name": "varchar", "description": "varchar"},
        delimiter="\t",
    ),
}


class LoadError(RuntimeError):
    """A reference file could not be read into its table."""


def load_table(
    connection: duckdb.DuckDBPyConnection,
    spec: TableLoad,
    path: Path,
    *,
    delimiter: str | None = None,
    extra_columns: tuple[str, ...] = (),
) -> int:
    """Replace raw.<table> with the rows of a CSV or tab-separated file; return the row count.

    The header line is skipped and the columns are named and typed by position, so a file
    whose header differs in spelling still loads, but one with a different column count is
    rejected with the file name in the error.
    """
    columns_sql = ", ".join(f"'{name}': '{kind}'" for name, kind in spec.columns.items())
    select_extra = "".join(f", {column}" for column in spec.extra_columns + extra_columns)
    sql = f"""
        create or replace table raw.{spec.table} as
        select *{select_extra}
        from read_csv(
            ?, header = true, delim = ?, quote = '"', escape = '"',
            columns = {{{columns_sql}}}, strict_mode = true, null_padding = false
        )
    """
    connection.execute("create schema if not exists raw")
    try:
        connection.execute(sql, [str(path), delimiter or spec.delimiter])
    except duckdb.Error as error:
        raise LoadError(f"failed to load {path} into raw.{spec.table}: {error}") from error
    count = connection.execute(f"select count(*) from raw.{spec.table}").fetchone()
    return int(count[0]) if count else 0


# O*NET's skills are the Content Model elements one level below the basic (2.A) and
# cross-functional (2.B) skill groups, such as 2.A.1.a Reading Comprehension.
SKILL_ELEMENT_PATTERN = r"2\.[AB]\.[0-9]+\.[a-z]"


def load_skills(connection: duckdb.DuckDBPyConnection) -> int:
    """Replace raw.onet_skills with the skills of raw.onet_content_model_reference."""
    connection.execute(
        """
        create or replace table raw.onet_skills as
        select
            element_id as skill_id,
            element_name as skill_name,
            description
        from raw.onet_content_model_reference
        where regexp_full_match(element_id, ?)
        order by element_id
        """,
        [SKILL_ELEMENT_PATTERN],
    )
    count = connection.execute("select count(*) from raw.onet_skills").fetchone()
    return int(count[0]) if count else 0
