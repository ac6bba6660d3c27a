-- Each flow shows all 22 SOC major groups that have BLS employment, whether or not its
-- usage clears the thresholds. Fewer rows mean a group vanished from the comparison.
select
    usage_source,
    count(*) as group_count

from {{ ref('soc_major_group_usage') }}
where not is_suppressed
group by usage_source
having count(*) <> 22
