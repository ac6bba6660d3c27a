with

source as (

    select * from {{ source('raw', 'conversation_skills') }}

),

renamed as (

    select
        source,
        conversation_id,
        backend,
        model,
        prompt_version,
        skill_id

    from source

)

select * from renamed
