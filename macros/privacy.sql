{#
    True when a cell may be shown on its own: the published flow was thresholded by its
    publisher, and a pipeline cell needs enough conversations and distinct accounts.
#}
{% macro meets_privacy_thresholds(usage_source, conversation_count, account_count) -%}
    (
        {{ usage_source }} <> 'pipeline'
        or (
            {{ conversation_count }} >= {{ var('min_conversations') }}
            and {{ account_count }} >= {{ var('min_accounts') }}
        )
    )
{%- endmacro %}
