{#
    Each published cluster's mix of SOC major groups and interaction modes, from the tags of
    its conversations. A conversation spread over occupations of several groups adds its
    split weight to each. Cells under the privacy thresholds fold into one `suppressed`
    row per cluster and kind.
#}
with

published_clusters as (

    select * from {{ ref('clusters') }}
    where not is_suppressed

),

memberships as (

    select * from {{ ref('stg_pipeline__cluster_memberships') }}

),

conversations as (

    select * from {{ ref('stg_pipeline__conversations') }}

),

tagged as (

    select * from {{ ref('int_pipeline_conversations') }}

),

allocations as (

    select * from {{ ref('int_usage_allocations') }}
    where usage_source = 'pipeline'

),

members as (

    select
        published_clusters.cluster_id,
        published_clusters.level,
        memberships.conversation_key,
        conversations.account_key

    from published_clusters
    inner join memberships
        on published_clusters.cluster_id = memberships.cluster_id
    inner join conversations
        on memberships.source = conversations.source
        and memberships.conversation_id = conversations.conversation_id

),

units as (

    select
        members.cluster_id,
        members.level,
        'interaction_mode' as mix_kind,
        coalesce(tagged.interaction_mode, 'untagged') as category,
        members.conversation_key,
        members.account_key,
        1.0 as weight

    from members
    left join tagged
        on members.conversation_key = tagged.conversation_key

    union all

    -- Conversations with no occupational task have no allocation and count under `none`.
    select
        members.cluster_id,
        members.level,
        'soc_major_group' as mix_kind,
        coalesce(allocations.soc_major_group_code, 'none') as category,
        members.conversation_key,
        members.account_key,
        coalesce(allocations.usage_weight, 1.0) as weight

    from members
    left join allocations
        on members.conversation_key = allocations.unit_key

),

cells as (

    select
        cluster_id,
        level,
        mix_kind,
        category,
        sum(weight) as weight,
        count(distinct conversation_key) as conversation_count,
        count(distinct account_key) as account_count

    from units
    group by cluster_id, level, mix_kind, category

),

shares as (

    select
        cells.*,
        100.0 * cells.weight / sum(cells.weight) over (
            partition by cells.cluster_id, cells.mix_kind
        ) as cluster_pct,
        {{ meets_privacy_thresholds(
            "'pipeline'", 'cells.conversation_count', 'cells.account_count'
        ) }} as is_published

    from cells

),

published_rows as (

    select
        cluster_id,
        level,
        mix_kind,
        category,
        conversation_count,
        account_count,
        cluster_pct,
        false as is_suppressed

    from shares
    where is_published

),

suppressed_rows as (

    select
        cluster_id,
        level,
        mix_kind,
        'suppressed' as category,
        cast(null as bigint) as conversation_count,
        cast(null as bigint) as account_count,
        coalesce(sum(case when not is_published then cluster_pct end), 0) as cluster_pct,
        true as is_suppressed

    from shares
    group by cluster_id, level, mix_kind

),

final as (

    select * from published_rows
    union all
    select * from suppressed_rows

)

select * from final
