"""Names of the dbt marts users read, in the order they are built."""

MART_NAMES = (
    "task_usage",
    "occupation_usage",
    "soc_major_group_usage",
    "wage_usage",
    "occupation_depth",
    "interaction_mode_usage",
)

# Marts of the topic clusters; they hold the pipeline flow only, so no usage_source column.
CLUSTER_MART_NAMES = ("clusters", "cluster_mix")
