with

allocations as (

    select * from {{ ref('int_usage_allocations') }}

),

major_groups as (

    select * from {{ ref('stg_soc__major_groups') }}

),

employment as (

    select * from {{ ref('stg_bls__employment') }}

),

flows as (

    select distinct usage_source from allocations

),

-- The 22 groups with BLS employment; the military group has none in OEWS and is left out.
groups_with_employment as (

    select
        major_groups.soc_major_group_code,
        major_groups.soc_major_group_title,
        100.0 * employment.employment / sum(employment.employment) over () as employment_pct

    from major_groups
    inner join employment
        on major_groups.soc_major_group_title = employment.soc_major_group_title

),

group_usage as (

    select
        usage_source,
        soc_major_group_code,
        sum(usage_weight) as usage_weight,
        case when usage_source = 'pipeline' then count(distinct unit_key) else 0 end
            as conversation_count,
        case when usage_source = 'pipeline' then count(distinct account_key) else 0 end
            as account_count

    from allocations
    group by usage_source, soc_major_group_code

),

flow_totals as (

    select
        usage_source,
        sum(usage_weight) as total_weight

    from allocations
    group by usage_source

),

grid as (

    select
        flows.usage_source,
        groups_with_employment.soc_major_group_code,
        groups_with_employment.soc_major_group_title,
        groups_with_employment.employment_pct,
        coalesce(group_usage.usage_weight, 0) as usage_weight,
        coalesce(group_usage.conversation_count, 0) as conversation_count,
        coalesce(group_usage.account_count, 0) as account_count,
        {{ meets_privacy_thresholds(
            'flows.usage_source',
            'coalesce(group_usage.conversation_count, 0)',
            'coalesce(group_usage.account_count, 0)'
        ) }} as is_published

    from flows
    cross join groups_with_employment
    left join group_usage
        on flows.usage_source = group_usage.usage_source
        and groups_with_employment.soc_major_group_code = group_usage.soc_major_group_code

),

group_rows as (

    select
        grid.usage_source,
        grid.soc_major_group_code,
        grid.soc_major_group_title,
        grid.employment_pct,
        case
            when grid.is_published and grid.usage_source = 'pipeline'
                then grid.conversation_count
        end as conversation_count,
        case
            when grid.is_published and grid.usage_source = 'pipeline'
                then grid.account_count
        end as account_count,
        case
            when grid.is_published
                then 100.0 * grid.usage_weight / flow_totals.total_weight
        end as usage_pct,
        false as is_suppressed

    from grid
    inner join flow_totals
        on grid.usage_source = flow_totals.usage_source

),

published_weight as (

    select
        usage_source,
        sum(case when is_published then usage_weight else 0 end) as published_weight

    from grid
    group by usage_source

),

-- Groups under the thresholds keep their row with null usage. Their share, and any share
-- of groups outside the 22, is shown here so the flow still adds up to 100.
suppressed_rows as (

    select
        flow_totals.usage_source,
        cast(null as varchar) as soc_major_group_code,
        'suppressed' as soc_major_group_title,
        cast(null as double) as employment_pct,
        cast(null as bigint) as conversation_count,
        cast(null as bigint) as account_count,
        100.0 * (flow_totals.total_weight - published_weight.published_weight)
            / flow_totals.total_weight as usage_pct,
        true as is_suppressed

    from flow_totals
    inner join published_weight
        on flow_totals.usage_source = published_weight.usage_source
    where flow_totals.usage_source = 'pipeline'

),

tag_backends as (

    select * from {{ ref('int_pipeline_tag_backends') }}

),

final as (

    select * from group_rows
    union all
    select * from suppressed_rows

)

select
    final.*,
    tag_backends.tag_backends

from final
left join tag_backends
    on final.usage_source = tag_backends.usage_source
