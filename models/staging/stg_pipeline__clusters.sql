with

source as (

    select * from {{ source('raw', 'clusters') }}

),

renamed as (

    select
        cluster_id,
        level,
        parent_cluster_id,
        published_parent_id,
        name as cluster_name,
        description as cluster_description,
        -- Published by the clustering step: the label passed the audit and the cluster met
        -- its thresholds. The marts check the thresholds again with the dbt vars.
        is_published,
        suppression_reason

    from source

)

select * from renamed
