with

source as (

    select * from {{ source('raw', 'onet_task_statements') }}

),

renamed as (

    select
        task_id,
        onet_soc_code,
        occupation_title,
        task_statement,
        lower(trim(task_statement)) as task_key,
        substr(onet_soc_code, 1, 2) as soc_major_group_code,
        task_type,
        onet_release

    from source

)

select * from renamed
