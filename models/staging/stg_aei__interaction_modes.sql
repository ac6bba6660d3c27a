with

source as (

    select * from {{ source('raw', 'aei_interaction_modes') }}

),

spellings as (

    select * from {{ ref('interaction_mode_spellings') }}

),

renamed as (

    select
        source.interaction_type as source_spelling,
        spellings.interaction_mode,
        source.pct as usage_pct

    from source
    left join spellings
        on lower(trim(source.interaction_type)) = spellings.source_spelling

)

select * from renamed
