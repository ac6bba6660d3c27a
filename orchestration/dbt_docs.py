"""`make docs`: generate dbt docs from the built warehouse and serve them on localhost."""

from __future__ import annotations

import os
import subprocess
import sys

from orchestration import settings

DOCS_PORT = os.environ.get("DBT_DOCS_PORT") or "8080"


def main() -> int:
    warehouse = settings.warehouse_path()
    if not warehouse.exists():
        print(
            f"{warehouse} not found: run `make run` first to build the warehouse", file=sys.stderr
        )
        return 1
    environment = {**os.environ, settings.ENV_WAREHOUSE_PATH: str(warehouse)}
    dbt = [settings.dbt_executable()]
    common = ["--profiles-dir", str(settings.PROJECT_ROOT)]
    subprocess.run(
        [*dbt, "docs", "generate", *common],
        cwd=settings.PROJECT_ROOT,
        env=environment,
        check=True,
    )
    print(f"dbt docs at http://127.0.0.1:{DOCS_PORT} (Ctrl-C to stop)")
    serve = [*dbt, "docs", "serve", *common, "--host", "127.0.0.1", "--port", DOCS_PORT]
    serve.append("--no-browser")
    # The server runs until Ctrl-C, so its exit status is returned rather than raised.
    completed = subprocess.run(serve, check=False, cwd=settings.PROJECT_ROOT, env=environment)
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
