"""The source of reference files and conversation samples: a mirror, or the publishers."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration import settings
from orchestration.defs.reference.fetch import FetchedFile, RemoteFile, fetch

ONET_RELEASES = ("20.1", "29.3")


class ReferenceData(dg.ConfigurableResource):
    """Fetches published files; every unset field is read from the environment at run time."""

    raw_dir: str | None = None
    mirror_dir: str | None = None
    onet_release: str | None = None
    verify_checksums: bool = True

    def resolved_raw_dir(self) -> Path:
        return Path(self.raw_dir) if self.raw_dir else settings.data_dir() / "raw"

    def resolved_mirror(self) -> Path | None:
        return Path(self.mirror_dir) if self.mirror_dir else settings.mirror_dir()

    def resolved_onet_release(self) -> str:
        release = self.onet_release or settings.onet_release()
        if release not in ONET_RELEASES:
            raise ValueError(
                f"unknown O*NET release {release!r} in {settings.ENV_ONET_RELEASE}; "
                f"use one of {', '.join(ONET_RELEASES)}"
            )
        return release

    def fetch(self, remote: RemoteFile) -> FetchedFile:
        """Return a local copy of one file, from the mirror when one is set."""
        mirror = self.resolved_mirror()
        if mirror is not None and not mirror.is_dir():
            raise FileNotFoundError(
                f"{settings.ENV_DATA_MIRROR}={mirror} is not a directory; point it at a "
                "folder laid out like the publishers' files, or unset it to download"
            )
        return fetch(
            remote,
            self.resolved_raw_dir(),
            mirror,
            verify_checksum=self.verify_checksums,
        )
