{#
    One row for the pipeline flow: every tagger whose tags the flow counts, so a mart can
    say whether its figures come from the offline backend or from Claude.
#}
with

pipeline_conversations as (

    select * from {{ ref('int_pipeline_conversations') }}

),

final as (

    select
        'pipeline' as usage_source,
        string_agg(distinct tag_provenance, ', ' order by tag_provenance) as tag_backends

    from pipeline_conversations
    having count(*) > 0

)

select * from final
