with

task_usage as (

    select * from {{ ref('int_task_usage') }}

),

statements as (

    select * from {{ ref('stg_onet__task_statements') }}

),

tasks as (

    select
        task_key,
        min(task_statement) as task_statement,
        count(distinct occupation_title) as occupation_count

    from statements
    group by task_key

),

shares as (

    select
        usage_source,
        task_key,
        conversation_count,
        account_count,
        100.0 * usage_weight / sum(usage_weight) over (partition by usage_source) as usage_pct,
        {{ meets_privacy_thresholds('usage_source', 'conversation_count', 'account_count') }}
            as is_published

    from task_usage

),

published_rows as (

    select
        shares.usage_source,
        shares.task_key,
        tasks.task_statement,
        tasks.occupation_count,
        shares.conversation_count,
        shares.account_count,
        shares.usage_pct,
        false as is_suppressed

    from shares
    left join tasks
        on shares.task_key = tasks.task_key
    where shares.is_published

),

suppressed_rows as (

    select
        usage_source,
        'suppressed' as task_key,
        cast(null as varchar) as task_statement,
        cast(null as bigint) as occupation_count,
        cast(null as bigint) as conversation_count,
        cast(null as bigint) as account_count,
        coalesce(sum(case when not is_published then usage_pct end), 0) as usage_pct,
        true as is_suppressed

    from shares
    where usage_source = 'pipeline'
    group by usage_source

),

tag_backends as (

    select * from {{ ref('int_pipeline_tag_backends') }}

),

final as (

    select * from published_rows
    union all
    select * from suppressed_rows

)

select
    final.*,
    tag_backends.tag_backends

from final
left join tag_backends
    on final.usage_source = tag_backends.usage_source
