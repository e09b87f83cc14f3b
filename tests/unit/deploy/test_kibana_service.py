"""The one-shot compose service that prepares Kibana (checked statically: no Docker here)."""

import yaml

from consumers.cli.main import build_parser
from tests.helpers import REPO_ROOT

SERVICES = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]


def test_kibana_is_prepared_once_it_answers_and_the_layout_exists() -> None:
    service = SERVICES["authstream-kibana"]
    assert service["restart"] == "no"
    assert service["depends_on"]["kibana"]["condition"] == "service_healthy"
    assert service["depends_on"]["authstream-setup"]["condition"] == (
        "service_completed_successfully"
    )
    args = build_parser().parse_args(service["command"])
    assert (args.command, args.action) == ("kibana", "import")
    assert args.url == "http://kibana:5601" and args.wait >= 60
    # The file it imports is the shipped one, mounted read-only.
    [mount] = service["volumes"]
    source, target, mode = mount.split(":")
    assert (REPO_ROOT / source / args.file.removeprefix(target + "/")).is_file()
    assert mode == "ro" and args.file.startswith(target + "/")
