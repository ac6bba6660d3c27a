"""Names of the dbt marts users read, in the order they are built."""

# Marts with a row set for each flow: this project's tags and the published release.
MARTS_WITH_PUBLISHED_FLOW = (
    "task_usage",
    "occupation_usage",
    "soc_major_group_usage",
    "wage_usage",
    "occupation_depth",
    "interaction_mode_usage",
)

# Marts of the pipeline flow only, since the release publishes no such breakdown.
PIPELINE_ONLY_MARTS = (
    "skills_usage",
    "task_mode_mix",
)

MART_NAMES = MARTS_WITH_PUBLISHED_FLOW + PIPELINE_ONLY_MARTS

# Marts of the topic clusters; they hold the pipeline flow only, so no usage_source column.
CLUSTER_MART_NAMES = ("clusters", "cluster_mix")
