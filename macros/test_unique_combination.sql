{#
    Fails for every combination of the given columns that occurs more than once; nulls count
    as a value, so two suppressed rows of one flow are caught too.
#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as row_count
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
