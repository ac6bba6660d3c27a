-- No row of skills_usage or task_mode_mix other than a folded row may rest on fewer
-- conversations or distinct accounts than the thresholds, and a folded row of
-- task_mode_mix shows figures only when its folded cells together clear them.
-- Dagster shows it as a check on skills_usage.
{{ config(meta={'dagster': {'ref': {'name': 'skills_usage'}}}) }}

with

rows_with_counts as (

    select 'skills_usage' as mart, skill_id as cell, conversation_count, account_count,
        is_suppressed, false as shows_figures_when_suppressed
    from {{ ref('skills_usage') }}

    union all

    select 'task_mode_mix', mix_level || '/' || cell_key, conversation_count, account_count,
        is_suppressed, directive_pct is not null
    from {{ ref('task_mode_mix') }}

)

select * from rows_with_counts
where (
        not is_suppressed
        or shows_figures_when_suppressed
    )
    and (
        conversation_count is null
        or account_count is null
        or conversation_count < {{ var('min_conversations') }}
        or account_count < {{ var('min_accounts') }}
    )
