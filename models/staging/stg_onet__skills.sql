with

source as (

    select * from {{ source('raw', 'onet_skills') }}

),

renamed as (

    select
        skill_id,
        skill_name,
        description as skill_description

    from source

)

select * from renamed
