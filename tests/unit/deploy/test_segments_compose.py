"""docker-compose.segments.yml: the override that mounts a directory of segment files."""

import yaml

from consumers.core.settings import Settings
from tests.helpers import REPO_ROOT

BASE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
OVERRIDE = yaml.safe_load((REPO_ROOT / "docker-compose.segments.yml").read_text())["services"]


def test_every_authstream_container_reads_the_mounted_segment_files() -> None:
    authstream = {
        name for name in BASE if name.startswith("authstream-") and name != "authstream-ingest"
    }
    assert set(OVERRIDE) == authstream
    for name, service in OVERRIDE.items():
        assert service["environment"]["AUTHSTREAM_SEGMENTS_DIR"] == "/etc/authstream/segments"
        assert service["volumes"] == ["./segments:/etc/authstream/segments:ro"], name
    assert "segments_dir" in Settings.model_fields


def test_the_stages_run_as_their_own_services() -> None:
    assert BASE["authstream-segments"]["command"] == ["run", "--stage", "segments"]
    assert BASE["authstream-destinations"]["command"] == ["run", "--stage", "destinations"]
    assert BASE["authstream-destinations"]["profiles"] == ["destinations"]
