{#
    A statement shared by several occupations is one task whose share splits equally among
    the distinct occupation titles that list it, as in the Economic Index notebook.
#}
with

statements as (

    select * from {{ ref('stg_onet__task_statements') }}

),

task_sizes as (

    select
        task_key,
        count(distinct occupation_title) as occupation_count

    from statements
    group by task_key

),

split as (

    select
        statements.task_id,
        statements.task_key,
        statements.onet_soc_code,
        statements.occupation_title,
        statements.soc_major_group_code,
        task_sizes.occupation_count,
        1.0 / task_sizes.occupation_count as occupation_weight

    from statements
    inner join task_sizes
        on statements.task_key = task_sizes.task_key

)

select * from split
