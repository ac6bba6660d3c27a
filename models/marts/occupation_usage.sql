with

allocations as (

    select * from {{ ref('int_usage_allocations') }}

),

wages as (

    select * from {{ ref('stg_onet__occupation_wages') }}

),

occupations as (

    select
        usage_source,
        onet_soc_code,
        min(occupation_title) as occupation_title,
        min(soc_major_group_code) as soc_major_group_code,
        sum(usage_weight) as usage_weight,
        case when usage_source = 'pipeline' then count(distinct unit_key) end
            as conversation_count,
        case when usage_source = 'pipeline' then count(distinct account_key) end
            as account_count

    from allocations
    group by usage_source, onet_soc_code

),

shares as (

    select
        *,
        100.0 * usage_weight / sum(usage_weight) over (partition by usage_source) as usage_pct,
        {{ meets_privacy_thresholds('usage_source', 'conversation_count', 'account_count') }}
            as is_published

    from occupations

),

published_rows as (

    select
        shares.usage_source,
        shares.onet_soc_code,
        shares.occupation_title,
        shares.soc_major_group_code,
        wages.median_wage_usd,
        shares.conversation_count,
        shares.account_count,
        shares.usage_pct,
        false as is_suppressed

    from shares
    left join wages
        on shares.onet_soc_code = wages.onet_soc_code
    where shares.is_published

),

suppressed_rows as (

    select
        usage_source,
        cast(null as varchar) as onet_soc_code,
        'suppressed' as occupation_title,
        cast(null as varchar) as soc_major_group_code,
        cast(null as double) as median_wage_usd,
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
