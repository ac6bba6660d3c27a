"""O*NET task hierarchy: top groups, middle groups and tasks, for top-down task tagging."""
