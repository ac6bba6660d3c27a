with

published as (

    select * from {{ ref('stg_aei__interaction_modes') }}

),

pipeline_conversations as (

    select * from {{ ref('int_pipeline_conversations') }}

),

allocations as (

    select * from {{ ref('int_usage_allocations') }}

),

modes as (

    select * from {{ ref('interaction_modes') }}

),

-- One row per unit of usage and scope. Pipeline conversations count only when they serve an
-- occupational task, matching the task-based marts. A conversation spread over occupations
-- of several groups adds its split weight to each group.
scoped_units as (

    select
        'aei_2025_02' as usage_source,
        'overall' as scope,
        cast(null as varchar) as soc_major_group_code,
        interaction_mode,
        cast(null as varchar) as unit_key,
        cast(null as varchar) as account_key,
        usage_pct as usage_weight
    from published

    union all

    select
        'pipeline' as usage_source,
        'overall' as scope,
        cast(null as varchar) as soc_major_group_code,
        interaction_mode,
        conversation_key as unit_key,
        account_key,
        1.0 as usage_weight
    from pipeline_conversations
    where task_key <> 'none'

    union all

    select
        usage_source,
        'soc_major_group' as scope,
        soc_major_group_code,
        interaction_mode,
        unit_key,
        account_key,
        usage_weight
    from allocations
    where usage_source = 'pipeline'

),

categorised as (

    select
        scoped_units.usage_source,
        scoped_units.scope,
        scoped_units.soc_major_group_code,
        'interaction_mode' as category_kind,
        modes.interaction_mode as category,
        modes.interaction_mode = 'none' as is_none,
        scoped_units.unit_key,
        scoped_units.account_key,
        scoped_units.usage_weight
    from scoped_units
    inner join modes
        on scoped_units.interaction_mode = modes.interaction_mode

    union all

    select
        scoped_units.usage_source,
        scoped_units.scope,
        scoped_units.soc_major_group_code,
        'collaboration' as category_kind,
        modes.collaboration as category,
        modes.collaboration = 'none' as is_none,
        scoped_units.unit_key,
        scoped_units.account_key,
        scoped_units.usage_weight
    from scoped_units
    inner join modes
        on scoped_units.interaction_mode = modes.interaction_mode

),

cells as (

    select
        usage_source,
        scope,
        soc_major_group_code,
        category_kind,
        category,
        is_none,
        sum(usage_weight) as usage_weight,
        case when usage_source = 'pipeline' then count(distinct unit_key) end
            as conversation_count,
        case when usage_source = 'pipeline' then count(distinct account_key) end
            as account_count

    from categorised
    group by usage_source, scope, soc_major_group_code, category_kind, category, is_none

),

scope_totals as (

    select
        usage_source,
        scope,
        soc_major_group_code,
        category_kind,
        sum(usage_weight) as total_weight,
        sum(case when not is_none then usage_weight else 0 end) as total_weight_excl_none,
        case when usage_source = 'pipeline' then count(distinct unit_key) end
            as conversation_count,
        case when usage_source = 'pipeline' then count(distinct account_key) end
            as account_count

    from categorised
    group by usage_source, scope, soc_major_group_code, category_kind

),

shares as (

    select
        cells.*,
        100.0 * cells.usage_weight / scope_totals.total_weight as usage_pct,
        case
            when not cells.is_none and scope_totals.total_weight_excl_none > 0
                then 100.0 * cells.usage_weight / scope_totals.total_weight_excl_none
        end as usage_excl_none_pct,
        {{ meets_privacy_thresholds(
            'cells.usage_source', 'cells.conversation_count', 'cells.account_count'
        ) }} as is_published

    from cells
    inner join scope_totals
        on cells.usage_source = scope_totals.usage_source
        and cells.scope = scope_totals.scope
        and cells.category_kind = scope_totals.category_kind
        and coalesce(cells.soc_major_group_code, '') = coalesce(scope_totals.soc_major_group_code, '')
    -- A group that is itself under the thresholds gets no breakdown at all.
    where {{ meets_privacy_thresholds(
        'scope_totals.usage_source', 'scope_totals.conversation_count', 'scope_totals.account_count'
    ) }}

),

published_rows as (

    select
        usage_source,
        scope,
        soc_major_group_code,
        category_kind,
        category,
        conversation_count,
        account_count,
        usage_pct,
        usage_excl_none_pct,
        false as is_suppressed

    from shares
    where is_published

),

suppressed_rows as (

    select
        usage_source,
        scope,
        soc_major_group_code,
        category_kind,
        'suppressed' as category,
        cast(null as bigint) as conversation_count,
        cast(null as bigint) as account_count,
        coalesce(sum(case when not is_published then usage_pct end), 0) as usage_pct,
        coalesce(sum(case when not is_published then usage_excl_none_pct end), 0)
            as usage_excl_none_pct,
        true as is_suppressed

    from shares
    where usage_source = 'pipeline'
    group by usage_source, scope, soc_major_group_code, category_kind

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
