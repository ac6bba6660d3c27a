with

allocations as (

    select * from {{ ref('int_usage_allocations') }}

),

wages as (

    select * from {{ ref('stg_onet__occupation_wages') }}
    where median_wage_usd is not null

),

-- Quartile bounds over occupations, unweighted, as in the Economic Index wage analysis.
bounds as (

    select
        percentile_cont(0.25) within group (order by median_wage_usd) as q1_upper_usd,
        percentile_cont(0.50) within group (order by median_wage_usd) as q2_upper_usd,
        percentile_cont(0.75) within group (order by median_wage_usd) as q3_upper_usd

    from wages

),

occupation_bands as (

    select
        wages.onet_soc_code,
        case
            when wages.median_wage_usd <= bounds.q1_upper_usd then 'q1'
            when wages.median_wage_usd <= bounds.q2_upper_usd then 'q2'
            when wages.median_wage_usd <= bounds.q3_upper_usd then 'q3'
            else 'q4'
        end as wage_quartile,
        case
            when wages.median_wage_usd > {{ var('us_median_wage_usd') }}
                then 'above_us_median'
            else 'at_or_below_us_median'
        end as us_median_side

    from wages
    cross join bounds

),

banded_allocations as (

    select
        allocations.usage_source,
        allocations.unit_key,
        allocations.account_key,
        allocations.usage_weight,
        occupation_bands.wage_quartile,
        occupation_bands.us_median_side

    from allocations
    inner join occupation_bands
        on allocations.onet_soc_code = occupation_bands.onet_soc_code

),

grouped_allocations as (

    select usage_source, unit_key, account_key, usage_weight,
        'wage_quartile' as wage_grouping, wage_quartile as wage_group
    from banded_allocations
    union all
    select usage_source, unit_key, account_key, usage_weight,
        'us_median' as wage_grouping, us_median_side as wage_group
    from banded_allocations

),

cells as (

    select
        usage_source,
        wage_grouping,
        wage_group,
        sum(usage_weight) as usage_weight,
        case when usage_source = 'pipeline' then count(distinct unit_key) end
            as conversation_count,
        case when usage_source = 'pipeline' then count(distinct account_key) end
            as account_count

    from grouped_allocations
    group by usage_source, wage_grouping, wage_group

),

shares as (

    select
        *,
        100.0 * usage_weight
            / sum(usage_weight) over (partition by usage_source, wage_grouping) as usage_pct,
        {{ meets_privacy_thresholds('usage_source', 'conversation_count', 'account_count') }}
            as is_published

    from cells

),

published_rows as (

    select
        shares.usage_source,
        shares.wage_grouping,
        shares.wage_group,
        case shares.wage_group
            when 'q2' then bounds.q1_upper_usd
            when 'q3' then bounds.q2_upper_usd
            when 'q4' then bounds.q3_upper_usd
            when 'above_us_median' then {{ var('us_median_wage_usd') }}
        end as lower_bound_usd,
        case shares.wage_group
            when 'q1' then bounds.q1_upper_usd
            when 'q2' then bounds.q2_upper_usd
            when 'q3' then bounds.q3_upper_usd
            when 'at_or_below_us_median' then {{ var('us_median_wage_usd') }}
        end as upper_bound_usd,
        shares.conversation_count,
        shares.account_count,
        shares.usage_pct,
        false as is_suppressed

    from shares
    cross join bounds
    where shares.is_published

),

suppressed_rows as (

    select
        usage_source,
        wage_grouping,
        'suppressed' as wage_group,
        cast(null as double) as lower_bound_usd,
        cast(null as double) as upper_bound_usd,
        cast(null as bigint) as conversation_count,
        cast(null as bigint) as account_count,
        coalesce(sum(case when not is_published then usage_pct end), 0) as usage_pct,
        true as is_suppressed

    from shares
    where usage_source = 'pipeline'
    group by usage_source, wage_grouping

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
