"""Create the local Dagster instance folder with the settings the project relies on."""

from __future__ import annotations

import os
from pathlib import Path

from orchestration import settings

# The warehouse pool admits one step at a time because DuckDB allows one writer process;
# telemetry is off because these machines have no internet.
DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


def ensure_dagster_home() -> Path:
    """Return DAGSTER_HOME (default ./.dagster_home), writing its dagster.yaml if absent."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.PROJECT_ROOT / ".dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


if __name__ == "__main__":
    ensure_dagster_home()
