with

source as (

    select * from {{ source('raw', 'conversations') }}

),

renamed as (

    select
        source,
        conversation_id,
        -- Sources without account ids count each conversation as its own account.
        coalesce(account_id, source || ':' || conversation_id) as account_key,
        account_id is null as is_account_surrogate,
        created_at,
        message_count,
        user_turn_count

    from source

)

select * from renamed
