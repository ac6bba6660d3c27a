-- Every set of shares that partitions a whole adds up to 100 within rounding, counting the
-- suppressed rows. A failing row names the mart and partition whose shares do not add up,
-- which means a cell was dropped or counted twice.
-- It reads every mart; Dagster shows it as a check on task_usage, the first mart built.
{{ config(meta={'dagster': {'ref': {'name': 'task_usage'}}}) }}

with

partitions as (

    select 'task_usage' as mart, usage_source as part, sum(usage_pct) as total_pct
    from {{ ref('task_usage') }}
    group by usage_source

    union all

    select 'occupation_usage', usage_source, sum(usage_pct)
    from {{ ref('occupation_usage') }}
    group by usage_source

    union all

    select 'soc_major_group_usage', usage_source, sum(coalesce(usage_pct, 0))
    from {{ ref('soc_major_group_usage') }}
    group by usage_source

    union all

    select 'wage_usage', usage_source || '/' || wage_grouping, sum(usage_pct)
    from {{ ref('wage_usage') }}
    group by usage_source, wage_grouping

    union all

    select
        'interaction_mode_usage',
        usage_source || '/' || scope || '/' || coalesce(soc_major_group_code, 'all')
            || '/' || category_kind,
        sum(usage_pct)
    from {{ ref('interaction_mode_usage') }}
    group by usage_source, scope, soc_major_group_code, category_kind

    union all

    select
        'interaction_mode_usage excluding none',
        usage_source || '/' || scope || '/' || coalesce(soc_major_group_code, 'all')
            || '/' || category_kind,
        sum(usage_excl_none_pct)
    from {{ ref('interaction_mode_usage') }}
    group by usage_source, scope, soc_major_group_code, category_kind
    having count(usage_excl_none_pct) > 0

)

select * from partitions
where abs(total_pct - 100) > 0.01
