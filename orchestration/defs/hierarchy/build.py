"""Build the three-level task hierarchy from O*NET's work-activity structure.

Level 3 contains the task statements the marts compare with (O*NET 20.1 by default). Each task
reaches a detailed work activity (DWA) through O*NET 29.3's task-to-DWA links, first by
task id and then by normalised statement text. The remaining tasks take the DWA whose linked
statements and title are most similar by TF-IDF. A DWA belongs to one intermediate work
activity (IWA), and IWAs become the middle groups, split where one would list more tasks
than a model can read in one prompt. Each IWA's generalized work activity (GWA) decides its
top group through the grouping in groups.py.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from orchestration.defs.hierarchy.groups import TOP_GROUPS, top_group_by_gwa

# The maximum number of tasks one middle group may list. Larger IWAs are split by DWA.
MAX_TASKS_PER_GROUP = 150

LEVEL_TOP = 1
LEVEL_MIDDLE = 2
LEVEL_TASK = 3

ATTACHED_BY_LINK = "onet_link"
ATTACHED_BY_TEXT = "text_match"
ATTACHED_BY_SIMILARITY = "similarity"

_WHITESPACE = re.compile(r"\s+")


class HierarchyError(ValueError):
    """The reference tables do not fit together into a hierarchy."""


@dataclass(frozen=True)
class TaskStatement:
    """One task of the set the hierarchy covers."""

    task_id: int
    statement: str
    occupation_title: str | None = None


@dataclass(frozen=True)
class TaskLink:
    """One O*NET 29.3 task-to-DWA link."""

    task_id: int
    statement: str
    dwa_id: str


@dataclass(frozen=True)
class WorkActivity:
    """One DWA with the IWA and GWA above it."""

    gwa_id: str
    iwa_id: str
    iwa_title: str
    dwa_id: str
    dwa_title: str


@dataclass(frozen=True)
class HierarchyNode:
    """One row of raw.task_hierarchy."""

    level: int
    node_id: str
    parent_id: str | None
    name: str
    description: str | None = None
    task_id: int | None = None
    attached_by: str | None = None


@dataclass
class BuiltHierarchy:
    """The nodes of a hierarchy and counts that describe its shape."""

    nodes: list[HierarchyNode]
    attachment_counts: Counter[str] = field(default_factory=Counter)

    def level_counts(self) -> dict[int, int]:
        counts = Counter(node.level for node in self.nodes)
        return {level: counts.get(level, 0) for level in (LEVEL_TOP, LEVEL_MIDDLE, LEVEL_TASK)}

    def children_stats(self, level: int) -> dict[str, float]:
        """Return min, median and max children per node of ``level``."""
        children = Counter(node.parent_id for node in self.nodes if node.level == level + 1)
        sizes = [children.get(node.node_id, 0) for node in self.nodes if node.level == level]
        if not sizes:
            return {"min": 0, "median": 0, "max": 0}
        return {"min": min(sizes), "median": statistics.median(sizes), "max": max(sizes)}


def normalise_statement(statement: str) -> str:
    """Return the statement lower-cased, with runs of whitespace and a final period dropped."""
    return _WHITESPACE.sub(" ", statement.strip().lower()).rstrip(".").strip()


def build_hierarchy(
    tasks: Iterable[TaskStatement],
    links: Iterable[TaskLink],
    activities: Iterable[WorkActivity],
    gwa_names: dict[str, str],
    *,
    max_tasks_per_group: int = MAX_TASKS_PER_GROUP,
) -> BuiltHierarchy:
    """Return the hierarchy's nodes: top groups, middle groups, then one node per task.

    Raises HierarchyError when a link names a DWA the reference does not list, when an IWA
    falls under a GWA that no top group contains, or when there are no tasks or no activities.
    """
    if max_tasks_per_group < 1:
        raise ValueError(f"max_tasks_per_group must be at least 1, got {max_tasks_per_group}")
    tasks = sorted(tasks, key=lambda task: task.task_id)
    links = list(links)
    activity_by_dwa = {activity.dwa_id: activity for activity in activities}
    if not tasks:
        raise HierarchyError("no task statements to place: load raw.onet_task_statements first")
    if not activity_by_dwa:
        raise HierarchyError("no work activities: load raw.onet_dwa_reference first")
    unknown = sorted({link.dwa_id for link in links} - activity_by_dwa.keys())
    if unknown:
        raise HierarchyError(
            f"{len(unknown)} DWA ids in the task-to-DWA links are missing from the DWA "
            f"reference, such as {unknown[0]!r}; load both files from the same O*NET release"
        )

    placements, counts = _place_tasks(tasks, links, activity_by_dwa)
    middle_nodes, middle_of_task = _middle_groups(
        tasks, placements, activity_by_dwa, max_tasks_per_group
    )
    top_nodes, middle_nodes = _top_groups(middle_nodes, gwa_names)

    task_nodes = [
        HierarchyNode(
            level=LEVEL_TASK,
            node_id=f"task:{task.task_id}",
            parent_id=middle_of_task[task.task_id],
            name=task.statement,
            description=task.occupation_title,
            task_id=task.task_id,
            attached_by=placements[task.task_id][1],
        )
        for task in tasks
    ]
    return BuiltHierarchy(nodes=top_nodes + middle_nodes + task_nodes, attachment_counts=counts)


def _place_tasks(
    tasks: list[TaskStatement],
    links: list[TaskLink],
    activity_by_dwa: dict[str, WorkActivity],
) -> tuple[dict[int, tuple[str, str]], Counter[str]]:
    """Return each task's (DWA id, attachment method)."""
    dwas_by_id: dict[int, set[str]] = defaultdict(set)
    dwas_by_text: dict[str, set[str]] = defaultdict(set)
    for link in links:
        dwas_by_id[link.task_id].add(link.dwa_id)
        dwas_by_text[normalise_statement(link.statement)].add(link.dwa_id)

    placements: dict[int, tuple[str, str]] = {}
    unplaced: list[TaskStatement] = []
    for task in tasks:
        if task.task_id in dwas_by_id:
            dwa_ids, method = dwas_by_id[task.task_id], ATTACHED_BY_LINK
        elif normalise_statement(task.statement) in dwas_by_text:
            dwa_ids, method = dwas_by_text[normalise_statement(task.statement)], ATTACHED_BY_TEXT
        else:
            unplaced.append(task)
            continue
        placements[task.task_id] = (_pick_dwa(dwa_ids, activity_by_dwa), method)

    for task, dwa_id in zip(unplaced, _most_similar_dwas(unplaced, links, activity_by_dwa)):
        placements[task.task_id] = (dwa_id, ATTACHED_BY_SIMILARITY)

    counts = Counter(method for _, method in placements.values())
    return placements, counts


def _pick_dwa(dwa_ids: set[str], activity_by_dwa: dict[str, WorkActivity]) -> str:
    """Pick one DWA for a task linked to several.

    The task goes to the IWA that contains most of its DWAs, the lowest IWA id on a tie, and
    within it to the lowest DWA id, so the choice is the same on every run.
    """
    per_iwa = Counter(activity_by_dwa[dwa_id].iwa_id for dwa_id in dwa_ids)
    iwa_id = min(per_iwa, key=lambda iwa: (-per_iwa[iwa], iwa))
    return min(dwa_id for dwa_id in dwa_ids if activity_by_dwa[dwa_id].iwa_id == iwa_id)


def _most_similar_dwas(
    unplaced: list[TaskStatement],
    links: list[TaskLink],
    activity_by_dwa: dict[str, WorkActivity],
) -> list[str]:
    """Return, for each unplaced task, the DWA most similar to it by TF-IDF cosine.

    A DWA's profile is its title plus every statement linked to it, so a DWA that no linked
    task uses still has its title to match on. Ties go to the lowest DWA id.
    """
    if not unplaced:
        return []
    dwa_ids = sorted(activity_by_dwa)
    profile_texts: dict[str, list[str]] = {
        dwa_id: [activity_by_dwa[dwa_id].dwa_title] for dwa_id in dwa_ids
    }
    for link in links:
        profile_texts[link.dwa_id].append(link.statement)
    profiles = [" ".join(profile_texts[dwa_id]) for dwa_id in dwa_ids]

    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    profile_matrix = normalize(vectorizer.fit_transform(profiles))
    task_matrix = normalize(vectorizer.transform([task.statement for task in unplaced]))
    similarity = (task_matrix @ profile_matrix.T).toarray()
    # argmax returns the first maximum, which is the lowest DWA id since dwa_ids is sorted.
    return [dwa_ids[index] for index in np.argmax(similarity, axis=1)]


def _middle_groups(
    tasks: list[TaskStatement],
    placements: dict[int, tuple[str, str]],
    activity_by_dwa: dict[str, WorkActivity],
    max_tasks: int,
) -> tuple[list[HierarchyNode], dict[int, str]]:
    """Return one middle node per IWA that has tasks, split where it has too many.

    Middle nodes carry the IWA's GWA id as their parent for now; _top_groups replaces it.
    """
    tasks_by_iwa_dwa: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for task in tasks:
        dwa_id = placements[task.task_id][0]
        tasks_by_iwa_dwa[activity_by_dwa[dwa_id].iwa_id][dwa_id].append(task.task_id)

    nodes: list[HierarchyNode] = []
    middle_of_task: dict[int, str] = {}
    for iwa_id in sorted(tasks_by_iwa_dwa):
        by_dwa = tasks_by_iwa_dwa[iwa_id]
        any_activity = activity_by_dwa[next(iter(by_dwa))]
        parts = _split_by_dwa(by_dwa, max_tasks)
        for index, part in enumerate(parts, start=1):
            node_id = f"M{iwa_id}" if len(parts) == 1 else f"M{iwa_id}.P{index:02d}"
            dwa_titles = sorted({activity_by_dwa[dwa_id].dwa_title for dwa_id, _ in part})
            name = any_activity.iwa_title
            if len(parts) > 1:
                name = f"{name} (part {index} of {len(parts)})"
            nodes.append(
                HierarchyNode(
                    level=LEVEL_MIDDLE,
                    node_id=node_id,
                    parent_id=any_activity.gwa_id,
                    name=name,
                    description="; ".join(dwa_titles),
                )
            )
            for _, task_ids in part:
                for task_id in task_ids:
                    middle_of_task[task_id] = node_id
    return nodes, middle_of_task


def _split_by_dwa(
    by_dwa: dict[str, list[int]], max_tasks: int
) -> list[list[tuple[str, list[int]]]]:
    """Pack an IWA's DWAs, in id order, into parts of at most ``max_tasks`` tasks.

    A DWA that alone exceeds the limit is cut into equal runs of its tasks in id order.
    """
    pieces: list[tuple[str, list[int]]] = []
    for dwa_id in sorted(by_dwa):
        task_ids = sorted(by_dwa[dwa_id])
        runs = math.ceil(len(task_ids) / max_tasks)
        size = math.ceil(len(task_ids) / runs)
        pieces += [
            (dwa_id, task_ids[start : start + size]) for start in range(0, len(task_ids), size)
        ]

    parts: list[list[tuple[str, list[int]]]] = []
    current: list[tuple[str, list[int]]] = []
    current_size = 0
    for dwa_id, task_ids in pieces:
        if current and current_size + len(task_ids) > max_tasks:
            parts.append(current)
            current, current_size = [], 0
        current.append((dwa_id, task_ids))
        current_size += len(task_ids)
    if current:
        parts.append(current)
    return parts


def _top_groups(
    middle_nodes: list[HierarchyNode], gwa_names: dict[str, str]
) -> tuple[list[HierarchyNode], list[HierarchyNode]]:
    """Return the top groups that contain middle groups, and the middle nodes reparented."""
    group_by_gwa = top_group_by_gwa()
    unmapped = sorted({node.parent_id for node in middle_nodes} - group_by_gwa.keys())
    if unmapped:
        raise HierarchyError(
            f"GWA ids {unmapped} have no top group; add them to TOP_GROUPS in "
            "orchestration/defs/hierarchy/groups.py"
        )
    reparented = [
        HierarchyNode(
            level=node.level,
            node_id=node.node_id,
            parent_id=group_by_gwa[node.parent_id].node_id,
            name=node.name,
            description=node.description,
        )
        for node in middle_nodes
    ]
    used = {node.parent_id for node in reparented}
    top_nodes = [
        HierarchyNode(
            level=LEVEL_TOP,
            node_id=group.node_id,
            parent_id=None,
            name=group.name,
            description="; ".join(gwa_names.get(gwa_id, gwa_id) for gwa_id in group.gwa_ids),
        )
        for group in TOP_GROUPS
        if group.node_id in used
    ]
    return top_nodes, reparented
