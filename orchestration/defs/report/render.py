"""Render the usage report from the marts; it reads only published (thresholded) rows."""

from __future__ import annotations

import duckdb

FLOWS = ("pipeline", "aei_2025_02")


def _fmt(value: float | None, digits: int = 2, has_row: bool = True) -> str:
    """Format a share: blank for a missing row, `suppressed` for a null figure."""
    if not has_row:
        return ""
    return "suppressed" if value is None else f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def render_report(connection: duckdb.DuckDBPyConnection) -> str:
    """Return a Markdown report comparing this run's tags with the published release."""
    lines = [
        "# AI usage by occupation",
        "",
        "`pipeline` is this run's own tags of the loaded conversations; `aei_2025_02` is the",
        "Anthropic Economic Index release of 10 February 2025. Shares are percent. Cells under",
        "the privacy thresholds show as `suppressed` and are folded into a `suppressed` row.",
        "",
    ]
    # The marts list every backend/model/prompt version whose tags they count.
    taggers = connection.execute(
        """
        select max(tag_backends)
        from marts.soc_major_group_usage
        where usage_source = 'pipeline'
        """
    ).fetchone()[0]
    lines += [
        f"Tags of the `pipeline` flow: `{taggers}`." if taggers else "No pipeline tags yet.",
        "",
        "## SOC major groups: usage against U.S. employment",
        "",
    ]
    groups = connection.execute(
        """
        select
            soc_major_group_code,
            max(soc_major_group_title),
            max(case when usage_source = 'pipeline' then usage_pct end),
            count(case when usage_source = 'pipeline' then 1 end) > 0,
            max(case when usage_source = 'aei_2025_02' then usage_pct end),
            count(case when usage_source = 'aei_2025_02' then 1 end) > 0,
            max(employment_pct)
        from marts.soc_major_group_usage
        group by soc_major_group_code
        order by soc_major_group_code nulls last
        """
    ).fetchall()
    lines += _table(
        ["code", "major group", "pipeline %", "published %", "BLS employment %"],
        [
            [
                code or "",
                title,
                _fmt(pipeline, has_row=has_pipeline),
                _fmt(published, has_row=has_published),
                _fmt(employment, has_row=code is not None),
            ]
            for code, title, pipeline, has_pipeline, published, has_published, employment in groups
        ],
    )

    lines += ["## Interaction modes (none left out)", ""]
    modes = connection.execute(
        """
        select
            case
                when category = 'suppressed'
                    then 'suppressed ' || replace(category_kind, '_', ' ') || 's'
                else category
            end,
            max(case when usage_source = 'pipeline' then usage_excl_none_pct end),
            max(case when usage_source = 'aei_2025_02' then usage_excl_none_pct end),
            count(case when usage_source = 'aei_2025_02' then 1 end) > 0
        from marts.interaction_mode_usage
        where scope = 'overall' and category <> 'none'
        group by category_kind, category
        order by category_kind desc, category = 'suppressed', category
        """
    ).fetchall()
    lines += _table(
        ["mode or side", "pipeline %", "published %"],
        # The pipeline flow publishes no row for a mode under the thresholds, so a missing
        # pipeline figure reads as suppressed. The published flow has no suppressed rows.
        [
            [label, _fmt(pipeline, 1), _fmt(published, 1, has_published)]
            for label, pipeline, published, has_published in modes
        ],
    )

    for flow in FLOWS:
        lines += [f"## Top occupations ({flow})", ""]
        top = connection.execute(
            """
            select occupation_title, usage_pct
            from marts.occupation_usage
            where usage_source = ? and not is_suppressed
            order by usage_pct desc
            limit 10
            """,
            [flow],
        ).fetchall()
        lines += _table(["occupation", "usage %"], [[title, _fmt(pct)] for title, pct in top])

    lines += ["## Depth of use: share of occupations with at least N % of tasks seen", ""]
    depth = connection.execute(
        """
        select
            min_task_share_pct,
            max(case when usage_source = 'pipeline' then occupation_share_pct end),
            max(case when usage_source = 'aei_2025_02' then occupation_share_pct end)
        from marts.occupation_depth
        group by min_task_share_pct
        order by min_task_share_pct
        """
    ).fetchall()
    lines += _table(
        ["min task share", "pipeline %", "published %"],
        [
            [f"{share}%", _fmt(pipeline, 1), _fmt(published, 1)]
            for share, pipeline, published in depth
        ],
    )

    lines += ["## Usage by wage quartile of the occupation", ""]
    wages = connection.execute(
        """
        select
            wage_group,
            max(case when usage_source = 'pipeline' then usage_pct end),
            count(case when usage_source = 'pipeline' then 1 end) > 0,
            max(case when usage_source = 'aei_2025_02' then usage_pct end),
            count(case when usage_source = 'aei_2025_02' then 1 end) > 0
        from marts.wage_usage
        where wage_grouping = 'wage_quartile'
        group by wage_group
        order by wage_group
        """
    ).fetchall()
    lines += _table(
        ["quartile", "pipeline %", "published %"],
        # A flow with no row for a group (the published flow has no suppressed row) gets a
        # blank cell, not `suppressed`.
        [
            [group, _fmt(pipeline, 1, has_pipeline), _fmt(published, 1, has_published)]
            for group, pipeline, has_pipeline, published, has_published in wages
        ],
    )
    return "\n".join(lines)
