with

source as (

    select * from {{ source('raw', 'conversation_tags') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by source, conversation_id
            order by tagged_at desc, backend, model, prompt_version
        ) as tag_rank

    from source
    -- Failed and untagged rows record why a conversation has no tag; they never count.
    where coalesce(status, 'tagged') = 'tagged'

),

renamed as (

    select
        source,
        conversation_id,
        backend,
        model,
        prompt_version,
        is_occupational,
        task_id,
        interaction_mode,
        confidence,
        language,
        trimmed,
        tagged_at

    from ranked
    -- A conversation tagged by several backends or prompt versions counts once, by its
    -- most recent tag.
    where tag_rank = 1

)

select * from renamed
