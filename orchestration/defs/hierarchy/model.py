"""Read the task hierarchy back from the warehouse, for tagging and reports."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from orchestration.defs.hierarchy.build import (
    LEVEL_MIDDLE,
    LEVEL_TASK,
    LEVEL_TOP,
    HierarchyNode,
)

HIERARCHY_TABLE = "raw.task_hierarchy"


class HierarchyNotFoundError(LookupError):
    """The warehouse contains no task hierarchy, or a node id is not in it."""


@dataclass(frozen=True)
class TaskHierarchy:
    """The three levels of raw.task_hierarchy, with lookups by parent."""

    version: str
    nodes: tuple[HierarchyNode, ...]
    _children: dict[str | None, tuple[HierarchyNode, ...]] = field(repr=False, compare=False)
    _by_id: dict[str, HierarchyNode] = field(repr=False, compare=False)

    @classmethod
    def from_nodes(cls, version: str, nodes: list[HierarchyNode]) -> TaskHierarchy:
        ordered = sorted(nodes, key=lambda node: (node.level, node.node_id))
        children: dict[str | None, list[HierarchyNode]] = {}
        for node in ordered:
            children.setdefault(node.parent_id, []).append(node)
        return cls(
            version=version,
            nodes=tuple(ordered),
            _children={parent: tuple(kids) for parent, kids in children.items()},
            _by_id={node.node_id: node for node in ordered},
        )

    def node(self, node_id: str) -> HierarchyNode:
        """Return one node by id; raise HierarchyNotFoundError for an unknown id."""
        try:
            return self._by_id[node_id]
        except KeyError:
            raise HierarchyNotFoundError(
                f"node {node_id!r} is not in task hierarchy {self.version}"
            ) from None

    def top_groups(self) -> tuple[HierarchyNode, ...]:
        """Return the level-1 nodes in id order."""
        return tuple(node for node in self._children.get(None, ()) if node.level == LEVEL_TOP)

    def middle_groups(self, top_id: str) -> tuple[HierarchyNode, ...]:
        """Return the middle groups under one top group, in id order."""
        self._require_level(top_id, LEVEL_TOP)
        return self._children.get(top_id, ())

    def tasks(self, middle_id: str) -> tuple[HierarchyNode, ...]:
        """Return the task nodes under one middle group, in node id order."""
        self._require_level(middle_id, LEVEL_MIDDLE)
        return self._children.get(middle_id, ())

    def _require_level(self, node_id: str, level: int) -> None:
        node = self.node(node_id)
        if node.level != level:
            raise HierarchyNotFoundError(
                f"node {node_id!r} is at level {node.level}, expected level {level}"
            )


def load_task_hierarchy(connection: duckdb.DuckDBPyConnection) -> TaskHierarchy:
    """Read raw.task_hierarchy into a TaskHierarchy.

    Raises HierarchyNotFoundError when the table is missing or empty, and ValueError when it
    contains more than one hierarchy version.
    """
    try:
        rows = connection.execute(
            f"""
            select hierarchy_version, level, node_id, parent_id, name, description,
                task_id, attached_by
            from {HIERARCHY_TABLE}
            """
        ).fetchall()
    except duckdb.CatalogException as error:
        raise HierarchyNotFoundError(
            f"{HIERARCHY_TABLE} not found: materialize the raw/task_hierarchy asset first"
        ) from error
    if not rows:
        raise HierarchyNotFoundError(
            f"{HIERARCHY_TABLE} is empty: materialize the raw/task_hierarchy asset again"
        )
    versions = sorted({row[0] for row in rows})
    if len(versions) != 1:
        raise ValueError(
            f"{HIERARCHY_TABLE} contains several versions {versions}, expected one. "
            "Materialize the raw/task_hierarchy asset again"
        )
    nodes = [
        HierarchyNode(
            level=int(level),
            node_id=node_id,
            parent_id=parent_id,
            name=name,
            description=description,
            task_id=int(task_id) if task_id is not None else None,
            attached_by=attached_by,
        )
        for _, level, node_id, parent_id, name, description, task_id, attached_by in rows
    ]
    return TaskHierarchy.from_nodes(versions[0], nodes)


__all__ = [
    "HIERARCHY_TABLE",
    "LEVEL_MIDDLE",
    "LEVEL_TASK",
    "LEVEL_TOP",
    "HierarchyNode",
    "HierarchyNotFoundError",
    "TaskHierarchy",
    "load_task_hierarchy",
]
