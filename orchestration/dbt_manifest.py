"""Parse the dbt project so its manifest exists before the Dagster definitions load."""

from __future__ import annotations

import subprocess

from orchestration import settings


def parse_dbt_project() -> None:
    """Run `dbt parse` in the project root; raise when it fails."""
    subprocess.run(
        [settings.dbt_executable(), "parse", "--profiles-dir", ".", "--quiet"],
        cwd=settings.PROJECT_ROOT,
        check=True,
    )


if __name__ == "__main__":
    parse_dbt_project()
