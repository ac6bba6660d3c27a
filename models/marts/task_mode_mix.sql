{#
    Pipeline flow only: per task and per occupation, how conversations split over the
    interaction modes and over automation and augmentation, like the Economic Index's
    per-task release of March 2025. Each row's modes, `none` included, add up to 100.
#}
with

pipeline_conversations as (

    select * from {{ ref('int_pipeline_conversations') }}

),

allocations as (

    select * from {{ ref('int_usage_allocations') }}
    where usage_source = 'pipeline'

),

statements as (

    select * from {{ ref('stg_onet__task_statements') }}

),

modes as (

    select * from {{ ref('interaction_modes') }}

),

task_names as (

    select
        task_key,
        min(task_statement) as cell_name

    from statements
    group by task_key

),

occupation_names as (

    select
        onet_soc_code,
        min(occupation_title) as cell_name

    from statements
    group by onet_soc_code

),

-- One row per conversation and cell. At the occupation level a conversation whose task
-- several occupations share adds its split weight to each of them.
units as (

    select
        'task' as mix_level,
        task_key as cell_key,
        conversation_key,
        account_key,
        interaction_mode,
        tag_provenance,
        1.0 as usage_weight

    from pipeline_conversations
    where task_key <> 'none'

    union all

    select
        'occupation' as mix_level,
        allocations.onet_soc_code as cell_key,
        allocations.unit_key as conversation_key,
        allocations.account_key,
        allocations.interaction_mode,
        pipeline_conversations.tag_provenance,
        allocations.usage_weight

    from allocations
    inner join pipeline_conversations
        on allocations.unit_key = pipeline_conversations.conversation_key

),

cells as (

    select
        mix_level,
        cell_key,
        {{ meets_privacy_thresholds(
            "'pipeline'", 'count(distinct conversation_key)', 'count(distinct account_key)'
        ) }} as is_published

    from units
    group by mix_level, cell_key

),

-- Cells under the thresholds share one `other` row per level.
labelled as (

    select
        units.mix_level,
        case when cells.is_published then units.cell_key else 'other' end as cell_key,
        not cells.is_published as is_suppressed,
        units.conversation_key,
        units.account_key,
        units.tag_provenance,
        units.usage_weight,
        units.interaction_mode,
        modes.collaboration

    from units
    inner join cells
        on units.mix_level = cells.mix_level
        and units.cell_key = cells.cell_key
    inner join modes
        on units.interaction_mode = modes.interaction_mode

),

{% set mode_names = ['directive', 'feedback_loop', 'task_iteration', 'learning', 'validation', 'none'] %}

mixes as (

    select
        mix_level,
        cell_key,
        is_suppressed,
        count(distinct conversation_key) as conversation_count,
        count(distinct account_key) as account_count,
        {% for mode in mode_names %}
        100.0 * sum(case when interaction_mode = '{{ mode }}' then usage_weight else 0 end)
            / sum(usage_weight) as {{ mode }}_pct,
        {% endfor %}
        100.0 * sum(case when collaboration = 'automation' then usage_weight else 0 end)
            / sum(usage_weight) as automation_pct,
        100.0 * sum(case when collaboration = 'augmentation' then usage_weight else 0 end)
            / sum(usage_weight) as augmentation_pct,
        string_agg(distinct tag_provenance, ', ' order by tag_provenance) as tag_backends

    from labelled
    group by mix_level, cell_key, is_suppressed

),

-- An `other` row shows its mix only when the folded cells together clear the thresholds,
-- since the mix of a handful of conversations would show how each of them went.
final as (

    select
        'pipeline' as usage_source,
        mixes.mix_level,
        mixes.cell_key,
        case
            when mixes.is_suppressed then 'other ' || mixes.mix_level || 's'
            else coalesce(task_names.cell_name, occupation_names.cell_name)
        end as cell_name,
        {% set folded_shown = meets_privacy_thresholds(
            "'pipeline'", 'mixes.conversation_count', 'mixes.account_count'
        ) %}
        case when {{ folded_shown }} then mixes.conversation_count end as conversation_count,
        case when {{ folded_shown }} then mixes.account_count end as account_count,
        {% for mode in mode_names %}
        case when {{ folded_shown }} then mixes.{{ mode }}_pct end as {{ mode }}_pct,
        {% endfor %}
        case when {{ folded_shown }} then mixes.automation_pct end as automation_pct,
        case when {{ folded_shown }} then mixes.augmentation_pct end as augmentation_pct,
        mixes.tag_backends,
        mixes.is_suppressed

    from mixes
    left join task_names
        on mixes.mix_level = 'task'
        and mixes.cell_key = task_names.task_key
    left join occupation_names
        on mixes.mix_level = 'occupation'
        and mixes.cell_key = occupation_names.onet_soc_code

)

select * from final
