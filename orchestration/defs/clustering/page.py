"""A static HTML page of the published cluster hierarchy, read from the cluster marts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from html import escape

import duckdb


@dataclass(frozen=True)
class PageCluster:
    cluster_id: str
    level: int
    parent_cluster_id: str | None
    name: str
    description: str
    conversation_count: int
    conversation_pct: float


@dataclass
class PublishedClusters:
    clusters: list[PageCluster] = field(default_factory=list)
    # Share of each level's conversations in withheld clusters, in percent.
    suppressed_pct: dict[int, float] = field(default_factory=dict)
    # (cluster_id, mix_kind) -> [(category, percent)], published cells only.
    mix: dict[tuple[str, str], list[tuple[str, float]]] = field(default_factory=dict)


def read_published_clusters(connection: duckdb.DuckDBPyConnection) -> PublishedClusters:
    """Read the published rows of marts.clusters and marts.cluster_mix."""
    published = PublishedClusters()
    rows = connection.execute(
        """
        select cluster_id, level, parent_cluster_id, cluster_name, cluster_description,
            conversation_count, conversation_pct, is_suppressed
        from marts.clusters
        order by level desc, conversation_count desc nulls last, cluster_id
        """
    ).fetchall()
    for cluster_id, level, parent, name, description, count, pct, is_suppressed in rows:
        if is_suppressed:
            published.suppressed_pct[level] = pct
        else:
            published.clusters.append(
                PageCluster(cluster_id, level, parent, name, description, count, pct)
            )
    mix_rows = connection.execute(
        """
        select mix.cluster_id, mix.mix_kind,
            coalesce(groups.soc_major_group_title, mix.category), mix.cluster_pct
        from marts.cluster_mix as mix
        left join staging.stg_soc__major_groups as groups
            on mix.mix_kind = 'soc_major_group'
            and mix.category = groups.soc_major_group_code
        where not mix.is_suppressed
        order by mix.cluster_id, mix.mix_kind, mix.cluster_pct desc
        """
    ).fetchall()
    for cluster_id, kind, category, pct in mix_rows:
        published.mix.setdefault((cluster_id, kind), []).append((category, pct))
    return published


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
details { margin: 0.3rem 0 0.3rem 1.2rem; }
summary { cursor: pointer; }
.count { color: #555; }
.description, .mix { color: #333; margin: 0.2rem 0 0.2rem 1.2rem; font-size: 0.92rem; }
"""


def _mix_line(published: PublishedClusters, cluster_id: str, kind: str, label: str) -> str:
    cells = published.mix.get((cluster_id, kind), [])
    if not cells:
        return ""
    parts = ", ".join(f"{escape(category)} {pct:.0f} %" for category, pct in cells[:5])
    return f'<p class="mix">{escape(label)}: {parts}</p>'


def _render_cluster(
    cluster: PageCluster,
    children: dict[str | None, list[PageCluster]],
    published: PublishedClusters,
) -> list[str]:
    own = children.get(cluster.cluster_id, [])
    lines = [
        "<details>",
        (
            f"<summary><strong>{escape(cluster.name)}</strong> "
            f'<span class="count">{cluster.conversation_count} conversations, '
            f"{cluster.conversation_pct:.1f} %</span></summary>"
        ),
        f'<p class="description">{escape(cluster.description)}</p>',
        _mix_line(published, cluster.cluster_id, "soc_major_group", "SOC major groups"),
        _mix_line(published, cluster.cluster_id, "interaction_mode", "Interaction modes"),
    ]
    for child in own:
        lines += _render_cluster(child, children, published)
    in_children = sum(child.conversation_count for child in own)
    if own and cluster.conversation_count > in_children:
        lines.append(
            f'<p class="description">{cluster.conversation_count - in_children} more conversations '
            "are in topics too small to show or withheld by the privacy audit.</p>"
        )
    lines.append("</details>")
    return lines


def render_page(published: PublishedClusters) -> str:
    """Return the page: top-level clusters first, each expandable down to base clusters."""
    children: dict[str | None, list[PageCluster]] = defaultdict(list)
    for cluster in published.clusters:
        children[cluster.parent_cluster_id].append(cluster)
    body = []
    for cluster in children.get(None, []):
        body += _render_cluster(cluster, children, published)
    if not published.clusters:
        body.append(
            "<p>No cluster is published yet: each one is below the size thresholds or its "
            "name failed the privacy audit (see raw.clusters.suppression_reason).</p>"
        )
    levels = sorted(published.suppressed_pct)
    withheld = ", ".join(
        f"level {level}: {published.suppressed_pct[level]:.1f} %" for level in levels
    )
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><title>Conversation topics</title>',
        f"<style>{_STYLE}</style></head>",
        "<body>",
        "<h1>Conversation topics</h1>",
        (
            "<p>Topics found by clustering privacy-preserving summaries of the conversations. "
            "Click a topic to open the topics inside it. A topic is shown only when it holds "
            "enough conversations from enough distinct accounts and its name passed the "
            "privacy audit. The conversations of other topics still count in the topics "
            "above them.</p>"
        ),
        f"<p>Share of conversations in withheld topics, by level: {escape(withheld)}.</p>"
        if withheld
        else "",
        *body,
        "</body>",
        "</html>",
    ]
    return "\n".join(line for line in lines if line) + "\n"
