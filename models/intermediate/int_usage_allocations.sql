{#
    Both flows on one footing: each unit of usage (a published task share, or one tagged
    conversation) is spread over the occupations of its task. Units without a task drop out
    here, which is how the published notebook leaves out its `none` row.
#}
with

published as (

    select * from {{ ref('stg_aei__task_usage') }}

),

pipeline_conversations as (

    select * from {{ ref('int_pipeline_conversations') }}

),

task_occupations as (

    select * from {{ ref('int_task_occupations') }}

),

published_allocations as (

    select
        'aei_2025_02' as usage_source,
        published.task_key as unit_key,
        cast(null as varchar) as account_key,
        cast(null as varchar) as interaction_mode,
        task_occupations.task_key,
        task_occupations.onet_soc_code,
        task_occupations.occupation_title,
        task_occupations.soc_major_group_code,
        published.usage_pct * task_occupations.occupation_weight as usage_weight

    from published
    inner join task_occupations
        on published.task_key = task_occupations.task_key

),

pipeline_allocations as (

    select
        'pipeline' as usage_source,
        pipeline_conversations.conversation_key as unit_key,
        pipeline_conversations.account_key,
        pipeline_conversations.interaction_mode,
        task_occupations.task_key,
        task_occupations.onet_soc_code,
        task_occupations.occupation_title,
        task_occupations.soc_major_group_code,
        task_occupations.occupation_weight as usage_weight

    from pipeline_conversations
    inner join task_occupations
        on pipeline_conversations.task_key = task_occupations.task_key

),

unioned as (

    select * from published_allocations
    union all
    select * from pipeline_allocations

)

select * from unioned
