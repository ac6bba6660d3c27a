with

conversations as (

    select * from {{ ref('stg_pipeline__conversations') }}

),

tags as (

    select * from {{ ref('stg_pipeline__conversation_tags') }}

),

statements as (

    select * from {{ ref('stg_onet__task_statements') }}

),

tagged as (

    select
        conversations.source || ':' || conversations.conversation_id as conversation_key,
        conversations.source,
        conversations.conversation_id,
        conversations.account_key,
        tags.backend,
        tags.model,
        tags.prompt_version,
        -- Which tagger produced the tag, as marts show it: backend/model/prompt version.
        tags.backend || '/' || tags.model || '/' || tags.prompt_version as tag_provenance,
        -- A conversation that is not occupational, or whose task id is not in the loaded task
        -- set, counts under the `none` task, like the published release's `none` row.
        case
            when tags.is_occupational and statements.task_key is not null
                then statements.task_key
            else 'none'
        end as task_key,
        tags.interaction_mode

    from tags
    inner join conversations
        on tags.source = conversations.source
        and tags.conversation_id = conversations.conversation_id
    left join statements
        on tags.task_id = statements.task_id

)

select * from tagged
