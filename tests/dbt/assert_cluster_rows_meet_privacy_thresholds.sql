-- No cluster or cluster-mix row other than a `suppressed` row may rest on fewer
-- conversations or distinct accounts than the thresholds, or be shown without a name.
{{ config(meta={'dagster': {'ref': {'name': 'clusters'}}}) }}

with

rows_with_counts as (

    select 'clusters' as mart, cluster_id as cell, cluster_name, conversation_count,
        account_count, is_suppressed
    from {{ ref('clusters') }}

    union all

    select 'cluster_mix', cluster_id || '/' || mix_kind || '/' || category, category,
        conversation_count, account_count, is_suppressed
    from {{ ref('cluster_mix') }}

)

select * from rows_with_counts
where not is_suppressed
    and (
        cluster_name is null
        or conversation_count is null
        or account_count is null
        or conversation_count < {{ var('min_conversations') }}
        or account_count < {{ var('min_accounts') }}
    )
