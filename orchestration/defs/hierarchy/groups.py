"""The project's grouping of O*NET's 41 generalized work activities (GWAs) into top groups.

O*NET 29.3 lists 41 GWAs (Content Model elements 4.A.x.x.x). Tagging reads the top
level first, so 41 options would be too many: the groups below merge related GWAs into 12
readable headings. The grouping is the project's own choice, not O*NET's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopGroup:
    """One top-level node and the GWAs whose tasks it contains."""

    node_id: str
    name: str
    gwa_ids: tuple[str, ...]


TOP_GROUPS: tuple[TopGroup, ...] = (
    TopGroup(
        "T01",
        "Gathering and monitoring information",
        ("4.A.1.a.1", "4.A.1.a.2", "4.A.1.b.1"),
    ),
    TopGroup(
        "T02",
        "Inspecting, estimating and judging quality or compliance",
        ("4.A.1.b.2", "4.A.1.b.3", "4.A.2.a.1", "4.A.2.a.3"),
    ),
    TopGroup("T03", "Processing and analyzing data", ("4.A.2.a.2", "4.A.2.a.4")),
    TopGroup(
        "T04",
        "Solving problems, creating and setting strategy",
        ("4.A.2.b.1", "4.A.2.b.2", "4.A.2.b.3", "4.A.2.b.4"),
    ),
    TopGroup(
        "T05",
        "Planning, scheduling and administration",
        ("4.A.2.b.5", "4.A.2.b.6", "4.A.4.c.1", "4.A.4.c.2", "4.A.4.c.3"),
    ),
    TopGroup("T06", "Physical work and handling materials", ("4.A.3.a.1", "4.A.3.a.2")),
    TopGroup("T07", "Operating machines, processes and vehicles", ("4.A.3.a.3", "4.A.3.a.4")),
    TopGroup(
        "T08",
        "Computing, technical drafting and record keeping",
        ("4.A.3.b.1", "4.A.3.b.2", "4.A.3.b.6"),
    ),
    TopGroup("T09", "Repairing and maintaining equipment", ("4.A.3.b.4", "4.A.3.b.5")),
    TopGroup(
        "T10",
        "Communicating, interpreting and building relationships",
        ("4.A.4.a.1", "4.A.4.a.2", "4.A.4.a.3", "4.A.4.a.4"),
    ),
    TopGroup(
        "T11",
        "Caring for, serving, selling to and performing for people",
        ("4.A.4.a.5", "4.A.4.a.6", "4.A.4.a.7", "4.A.4.a.8"),
    ),
    TopGroup(
        "T12",
        "Leading, teaching, coaching and advising",
        ("4.A.4.b.1", "4.A.4.b.2", "4.A.4.b.3", "4.A.4.b.4", "4.A.4.b.5", "4.A.4.b.6"),
    ),
)


def top_group_by_gwa() -> dict[str, TopGroup]:
    """Return the top group of every GWA id in the grouping."""
    return {gwa_id: group for group in TOP_GROUPS for gwa_id in group.gwa_ids}
