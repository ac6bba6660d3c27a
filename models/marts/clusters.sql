{#
    Published topic clusters at every level. Conversations of a withheld cluster (too small,
    or its label failed the audit) still count in its ancestors, and per level they are
    folded into one `suppressed` row, so each level's shares add up to 100.
#}
with

clusters as (

    select * from {{ ref('stg_pipeline__clusters') }}

),

memberships as (

    select * from {{ ref('stg_pipeline__cluster_memberships') }}

),

conversations as (

    select * from {{ ref('stg_pipeline__conversations') }}

),

counts as (

    select
        memberships.cluster_id,
        count(distinct memberships.conversation_key) as conversation_count,
        count(distinct conversations.account_key) as account_count

    from memberships
    inner join conversations
        on memberships.source = conversations.source
        and memberships.conversation_id = conversations.conversation_id
    group by memberships.cluster_id

),

level_totals as (

    select
        level,
        count(distinct conversation_key) as conversation_count

    from memberships
    group by level

),

decided as (

    select
        clusters.cluster_id,
        clusters.level,
        clusters.published_parent_id,
        clusters.cluster_name,
        clusters.cluster_description,
        counts.conversation_count,
        counts.account_count,
        100.0 * counts.conversation_count / level_totals.conversation_count as conversation_pct,
        clusters.is_published
            and clusters.cluster_name is not null
            and {{ meets_privacy_thresholds(
                "'pipeline'", 'counts.conversation_count', 'counts.account_count'
            ) }} as is_shown

    from clusters
    inner join counts
        on clusters.cluster_id = counts.cluster_id
    inner join level_totals
        on clusters.level = level_totals.level

),

published_rows as (

    select
        decided.cluster_id,
        decided.level,
        -- The nearest published ancestor; null at the top or when every ancestor is withheld.
        parents.cluster_id as parent_cluster_id,
        decided.cluster_name,
        decided.cluster_description,
        decided.conversation_count,
        decided.account_count,
        decided.conversation_pct,
        false as is_suppressed

    from decided
    left join decided as parents
        on decided.published_parent_id = parents.cluster_id
        and parents.is_shown
    where decided.is_shown

),

suppressed_rows as (

    select
        'suppressed-L' || cast(level as varchar) as cluster_id,
        level,
        cast(null as varchar) as parent_cluster_id,
        'suppressed' as cluster_name,
        'Clusters under the privacy thresholds or whose label failed the audit.'
            as cluster_description,
        cast(null as bigint) as conversation_count,
        cast(null as bigint) as account_count,
        coalesce(sum(case when not is_shown then conversation_pct end), 0) as conversation_pct,
        true as is_suppressed

    from decided
    group by level

),

final as (

    select * from published_rows
    union all
    select * from suppressed_rows

)

select * from final
