"""Read the hierarchy's inputs from raw.* tables and write raw.task_hierarchy."""

from __future__ import annotations

import duckdb
import pandas as pd

from orchestration.defs.hierarchy.build import (
    BuiltHierarchy,
    TaskLink,
    TaskStatement,
    WorkActivity,
    build_hierarchy,
)
from orchestration.defs.hierarchy.model import HIERARCHY_TABLE

# Bump when the grouping in groups.py or the rules in build.py change, so that cached
# prompts built on the old hierarchy are not reused.
HIERARCHY_REVISION = "gwa-v1"


def hierarchy_version(onet_release: str) -> str:
    """Return the version stored with every node, such as 'onet20.1-gwa-v1'."""
    return f"onet{onet_release}-{HIERARCHY_REVISION}"


def statement_release(connection: duckdb.DuckDBPyConnection) -> str:
    """Return the O*NET release of raw.onet_task_statements; raise if it contains several."""
    releases = [
        row[0]
        for row in connection.execute(
            "select distinct onet_release from raw.onet_task_statements order by 1"
        ).fetchall()
    ]
    if len(releases) != 1:
        raise ValueError(
            f"raw.onet_task_statements contains O*NET releases {releases}, expected exactly "
            "one. Materialize the raw/onet_task_statements asset again"
        )
    return releases[0]


def build_from_warehouse(connection: duckdb.DuckDBPyConnection) -> BuiltHierarchy:
    """Build the hierarchy from the raw O*NET tables."""
    tasks = [
        TaskStatement(task_id=int(task_id), statement=statement, occupation_title=title)
        for task_id, statement, title in connection.execute(
            "select task_id, task_statement, occupation_title from raw.onet_task_statements"
        ).fetchall()
    ]
    links = [
        TaskLink(task_id=int(task_id), statement=statement, dwa_id=dwa_id)
        for task_id, statement, dwa_id in connection.execute(
            "select task_id, task_statement, dwa_id from raw.onet_tasks_to_dwas"
        ).fetchall()
    ]
    activities = [
        WorkActivity(*row)
        for row in connection.execute(
            "select gwa_id, iwa_id, iwa_title, dwa_id, dwa_title from raw.onet_dwa_reference"
        ).fetchall()
    ]
    gwa_names = dict(
        connection.execute(
            "select element_id, element_name from raw.onet_content_model_reference"
        ).fetchall()
    )
    return build_hierarchy(tasks, links, activities, gwa_names)


def write_hierarchy(
    connection: duckdb.DuckDBPyConnection, built: BuiltHierarchy, version: str
) -> int:
    """Replace raw.task_hierarchy with the built nodes in one transaction; return the rows."""
    frame = pd.DataFrame(
        {
            "hierarchy_version": version,
            "level": [node.level for node in built.nodes],
            "node_id": [node.node_id for node in built.nodes],
            "parent_id": [node.parent_id for node in built.nodes],
            "name": [node.name for node in built.nodes],
            "description": [node.description for node in built.nodes],
            "task_id": pd.array([node.task_id for node in built.nodes], dtype="Int64"),
            "attached_by": [node.attached_by for node in built.nodes],
        }
    )
    connection.execute("create schema if not exists raw")
    connection.execute("begin transaction")
    try:
        connection.execute(
            f"""
            create or replace table {HIERARCHY_TABLE} (
                hierarchy_version varchar not null,
                level smallint not null,
                node_id varchar not null primary key,
                parent_id varchar,
                name varchar not null,
                description varchar,
                task_id bigint,
                attached_by varchar
            )
            """
        )
        connection.register("hierarchy_nodes", frame)
        connection.execute(f"insert into {HIERARCHY_TABLE} select * from hierarchy_nodes")
        connection.unregister("hierarchy_nodes")
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise
    return len(frame)
