{#
    Pipeline flow only: the published release has no per-conversation skills. A
    conversation may show several skills, so shares do not add up to 100.
#}
with

pipeline_conversations as (

    select * from {{ ref('int_pipeline_conversations') }}

),

conversation_skills as (

    select * from {{ ref('stg_pipeline__conversation_skills') }}

),

skills as (

    select * from {{ ref('stg_onet__skills') }}

),

-- Shares are over tagged conversations that serve an occupational task, like the other
-- task-based marts.
occupational as (

    select * from pipeline_conversations
    where task_key <> 'none'

),

flow_total as (

    select count(*) as conversation_total from occupational

),

-- Skills count only from the tag the conversation is counted by, not from older tags.
shown as (

    select
        occupational.conversation_key,
        occupational.account_key,
        occupational.tag_provenance,
        conversation_skills.skill_id

    from occupational
    inner join conversation_skills
        on occupational.source = conversation_skills.source
        and occupational.conversation_id = conversation_skills.conversation_id
        and occupational.backend = conversation_skills.backend
        and occupational.model = conversation_skills.model
        and occupational.prompt_version = conversation_skills.prompt_version

),

cells as (

    select
        skill_id,
        count(distinct conversation_key) as conversation_count,
        count(distinct account_key) as account_count,
        {{ meets_privacy_thresholds(
            "'pipeline'", 'count(distinct conversation_key)', 'count(distinct account_key)'
        ) }} as is_published

    from shown
    group by skill_id

),

labelled as (

    select
        shown.*,
        cells.is_published

    from shown
    inner join cells
        on shown.skill_id = cells.skill_id

),

published_rows as (

    select
        'pipeline' as usage_source,
        labelled.skill_id,
        coalesce(min(skills.skill_name), labelled.skill_id) as skill_name,
        count(distinct labelled.conversation_key) as conversation_count,
        count(distinct labelled.account_key) as account_count,
        100.0 * count(distinct labelled.conversation_key)
            / nullif(min(flow_total.conversation_total), 0) as conversation_pct,
        string_agg(distinct labelled.tag_provenance, ', ' order by labelled.tag_provenance)
            as tag_backends,
        false as is_suppressed

    from labelled
    cross join flow_total
    left join skills
        on labelled.skill_id = skills.skill_id
    where labelled.is_published
    group by labelled.skill_id

),

-- Skills under the thresholds fold into one row: the share of conversations that show at
-- least one of them.
suppressed_rows as (

    select
        'pipeline' as usage_source,
        cast(null as varchar) as skill_id,
        'other skills' as skill_name,
        cast(null as bigint) as conversation_count,
        cast(null as bigint) as account_count,
        100.0 * count(distinct labelled.conversation_key)
            / nullif(min(flow_total.conversation_total), 0) as conversation_pct,
        string_agg(distinct labelled.tag_provenance, ', ' order by labelled.tag_provenance)
            as tag_backends,
        true as is_suppressed

    from labelled
    cross join flow_total
    where not labelled.is_published
    having count(*) > 0

),

final as (

    select * from published_rows
    union all
    select * from suppressed_rows

)

select * from final
