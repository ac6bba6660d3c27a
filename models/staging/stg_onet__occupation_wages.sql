with

source as (

    select * from {{ source('raw', 'occupation_wages') }}

),

renamed as (

    select
        onet_soc_code,
        occupation_title,
        -- A few rows carry an hourly wage in the annual column (Actors at 17.54). As in the
        -- Economic Index notebook, anything at or below 100 is treated as missing.
        case when median_salary > 100 then median_salary end as median_wage_usd,
        case when job_zone between 1 and 5 then job_zone end as job_zone

    from source

)

select * from renamed
