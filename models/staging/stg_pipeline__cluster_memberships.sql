with

source as (

    select * from {{ source('raw', 'cluster_memberships') }}

),

renamed as (

    select
        source,
        conversation_id,
        source || ':' || conversation_id as conversation_key,
        level,
        cluster_id

    from source

)

select * from renamed
