-- No pipeline row other than a `suppressed` row may rest on fewer conversations or distinct
-- accounts than the thresholds. A failing row is a small cell shown on its own.
-- It reads every mart; Dagster shows it as a check on task_usage, the first mart built.
{{ config(meta={'dagster': {'ref': {'name': 'task_usage'}}}) }}

with

rows_with_counts as (

    select 'task_usage' as mart, task_key as cell, conversation_count, account_count,
        usage_pct, is_suppressed
    from {{ ref('task_usage') }}
    where usage_source = 'pipeline'

    union all

    select 'occupation_usage', onet_soc_code, conversation_count, account_count,
        usage_pct, is_suppressed
    from {{ ref('occupation_usage') }}
    where usage_source = 'pipeline'

    union all

    select 'soc_major_group_usage', soc_major_group_code, conversation_count, account_count,
        usage_pct, is_suppressed
    from {{ ref('soc_major_group_usage') }}
    where usage_source = 'pipeline'
        -- Groups under the thresholds keep their row with every usage figure null.
        and usage_pct is not null

    union all

    select 'wage_usage', wage_grouping || '/' || wage_group, conversation_count,
        account_count, usage_pct, is_suppressed
    from {{ ref('wage_usage') }}
    where usage_source = 'pipeline'

    union all

    select 'interaction_mode_usage',
        scope || '/' || coalesce(soc_major_group_code, 'all') || '/' || category,
        conversation_count, account_count, usage_pct, is_suppressed
    from {{ ref('interaction_mode_usage') }}
    where usage_source = 'pipeline'

)

select * from rows_with_counts
where not is_suppressed
    and (
        conversation_count is null
        or account_count is null
        or conversation_count < {{ var('min_conversations') }}
        or account_count < {{ var('min_accounts') }}
    )
