with

statements as (

    select * from {{ ref('stg_onet__task_statements') }}

),

task_usage as (

    select * from {{ ref('int_task_usage') }}

),

-- A task counts as seen only when it clears the privacy thresholds; the published release
-- applied them before publishing, so every task it lists counts.
seen_tasks as (

    select
        usage_source,
        task_key

    from task_usage
    where task_key <> 'none'
        and {{ meets_privacy_thresholds('usage_source', 'conversation_count', 'account_count') }}

),

flows as (

    select distinct usage_source from task_usage

),

occupation_coverage as (

    select
        flows.usage_source,
        statements.onet_soc_code,
        count(*) as task_count,
        count(seen_tasks.task_key) as seen_task_count

    from flows
    cross join statements
    left join seen_tasks
        on flows.usage_source = seen_tasks.usage_source
        and statements.task_key = seen_tasks.task_key
    group by flows.usage_source, statements.onet_soc_code

),

depth_thresholds as (

    select 10 as min_task_share_pct
    union all select 25
    union all select 50
    union all select 75

),

-- Compared in integers so that, say, 3 of 30 tasks counts as exactly 10 %.
occupation_thresholds as (

    select
        occupation_coverage.usage_source,
        depth_thresholds.min_task_share_pct,
        case
            when 100 * occupation_coverage.seen_task_count
                >= depth_thresholds.min_task_share_pct * occupation_coverage.task_count
                then 1
            else 0
        end as is_at_or_above

    from occupation_coverage
    cross join depth_thresholds

),

tag_backends as (

    select * from {{ ref('int_pipeline_tag_backends') }}

),

final as (

    select
        usage_source,
        min_task_share_pct,
        count(*) as occupation_count,
        sum(is_at_or_above) as occupations_at_or_above,
        100.0 * sum(is_at_or_above) / count(*) as occupation_share_pct

    from occupation_thresholds
    group by usage_source, min_task_share_pct

)

select
    final.*,
    tag_backends.tag_backends

from final
left join tag_backends
    on final.usage_source = tag_backends.usage_source
