"""A Claude client layer shared by tagging and clustering: client, cache, costs, batches."""
