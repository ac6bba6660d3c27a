with

source as (

    select * from {{ source('raw', 'soc_structure') }}

),

renamed as (

    select
        substr(major_group, 1, 2) as soc_major_group_code,
        title as soc_major_group_title

    from source
    where major_group is not null

)

select * from renamed
