with

source as (

    select * from {{ source('raw', 'aei_task_mappings') }}

),

renamed as (

    select
        lower(trim(task_name)) as task_key,
        pct as usage_pct

    from source

)

select * from renamed
