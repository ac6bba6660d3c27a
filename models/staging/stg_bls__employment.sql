with

source as (

    select * from {{ source('raw', 'bls_employment') }}

),

renamed as (

    select
        trim(soc_major_group_title) as soc_major_group_title,
        employment

    from source

)

select * from renamed
