with

published as (

    select * from {{ ref('stg_aei__task_usage') }}

),

pipeline_conversations as (

    select * from {{ ref('int_pipeline_conversations') }}

),

published_tasks as (

    select
        'aei_2025_02' as usage_source,
        task_key,
        usage_pct as usage_weight,
        cast(null as bigint) as conversation_count,
        cast(null as bigint) as account_count

    from published

),

pipeline_tasks as (

    select
        'pipeline' as usage_source,
        task_key,
        cast(count(*) as double) as usage_weight,
        count(*) as conversation_count,
        count(distinct account_key) as account_count

    from pipeline_conversations
    group by task_key

),

unioned as (

    select * from published_tasks
    union all
    select * from pipeline_tasks

)

select * from unioned
