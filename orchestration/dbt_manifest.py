"""Parse the dbt project so its manifest exists before the Dagster definitions load."""

from __future__ import annotations

import os
import subprocess

from orchestration import settings


def parse_dbt_project() -> None:
    """Run `dbt parse` in the project root; raise when it fails."""
    # The same absolute path as the dbt asset uses, so dbt's partial parsing stays valid.
    environment = {**os.environ, settings.ENV_WAREHOUSE_PATH: str(settings.warehouse_path())}
    subprocess.run(
        [settings.dbt_executable(), "parse", "--profiles-dir", ".", "--quiet"],
        cwd=settings.PROJECT_ROOT,
        env=environment,
        check=True,
    )


if __name__ == "__main__":
    parse_dbt_project()
