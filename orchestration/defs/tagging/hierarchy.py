"""Read the task hierarchy and the O*NET skills that the Claude backend offers the model."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb


class MissingReferenceTable(RuntimeError):
    """A table the Claude backend needs is not in the warehouse."""


@dataclass(frozen=True)
class Hierarchy:
    """One version of the task hierarchy: top groups, middle groups and their tasks."""

    version: str
    # (id, name, description)
    top_groups: list[tuple[str, str, str]]
    # (id, parent id, name, description)
    middle_groups: list[tuple[str, str, str, str]]
    # middle group id -> [(task id, task name)]
    tasks: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @property
    def task_count(self) -> int:
        return sum(len(tasks) for tasks in self.tasks.values())

    def parent_of(self, middle_id: str) -> str | None:
        for node_id, parent_id, _, _ in self.middle_groups:
            if node_id == middle_id:
                return parent_id
        return None


def _has_table(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(
        connection.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw' and table_name = ?",
            [table],
        ).fetchone()[0]
    )


def load_hierarchy(
    connection: duckdb.DuckDBPyConnection, version: str | None = None
) -> Hierarchy:
    """Read raw.task_hierarchy; with no version given, the latest one."""
    if not _has_table(connection, "task_hierarchy"):
        raise MissingReferenceTable(
            "raw.task_hierarchy is missing: the Claude and replay tagging backends walk the "
            "task hierarchy; materialize raw/task_hierarchy first, or use TAGGING_BACKEND=offline"
        )
    if version is None:
        row = connection.execute("select max(hierarchy_version) from raw.task_hierarchy").fetchone()
        version = row[0] if row else None
        if version is None:
            raise MissingReferenceTable("raw.task_hierarchy is empty")
    rows = connection.execute(
        """
        select level, node_id, parent_id, name, description, task_id
        from raw.task_hierarchy
        where hierarchy_version = ?
        order by level, node_id
        """,
        [version],
    ).fetchall()
    if not rows:
        raise MissingReferenceTable(f"raw.task_hierarchy has no rows for version {version!r}")
    tops, middles, tasks = [], [], {}
    for level, node_id, parent_id, name, description, task_id in rows:
        if level == 1:
            tops.append((node_id, name, description or ""))
        elif level == 2:
            middles.append((node_id, parent_id, name, description or ""))
        elif level == 3 and task_id is not None:
            tasks.setdefault(parent_id, []).append((int(task_id), name))
    return Hierarchy(str(version), tops, middles, tasks)


def load_skills(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """Return (skill id, name, description) from raw.onet_skills."""
    if not _has_table(connection, "onet_skills"):
        raise MissingReferenceTable(
            "raw.onet_skills is missing: materialize raw/onet_skills first, or use "
            "TAGGING_BACKEND=offline"
        )
    return [
        (skill_id, name, description or "")
        for skill_id, name, description in connection.execute(
            "select skill_id, skill_name, description from raw.onet_skills order by skill_id"
        ).fetchall()
    ]
