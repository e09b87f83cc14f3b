"""deploy/constraints.txt pins every dependency the image and the tests install, and stays
current: this environment holds exactly the pinned versions (`make install` installs them;
`make constraints` re-pins after a change to pyproject.toml)."""

from importlib.metadata import distribution, distributions

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers import REPO_ROOT

CONSTRAINTS = REPO_ROOT / "deploy" / "constraints.txt"
NOT_PINNED = {"authstream", "pip", "setuptools", "wheel"}  # the project and the installer


def pins() -> dict[str, str]:
    pinned = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, separator, version = line.partition("==")
        assert separator and version, f"not an exact pin: {line!r}"
        pinned[canonicalize_name(name)] = version
    return pinned


def test_this_environment_holds_exactly_the_pinned_versions() -> None:
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in distributions()
        if canonicalize_name(d.metadata["Name"]) not in NOT_PINNED
    }
    pinned = pins()
    unpinned = sorted(set(installed) - set(pinned))
    assert unpinned == [], "installed but not pinned: run `make constraints`"
    differ = {n: (installed[n], pinned[n]) for n in installed if installed[n] != pinned[n]}
    assert differ == {}, "installed (left) differs from the pin (right): `make install`"
    assert sorted(set(pinned) - set(installed)) == [], (
        "pinned but not installed: `make constraints`"
    )


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    pinned = pins()
    runtime = [
        Requirement(r) for r in distribution("authstream").requires or [] if "extra ==" not in r
    ]
    assert runtime
    for requirement in runtime:
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not pinned"
        assert requirement.specifier.contains(pinned[name]), (requirement, pinned[name])


def test_the_image_installs_with_the_pins_and_ships_only_the_package() -> None:
    dockerfile = (REPO_ROOT / "deploy" / "Dockerfile").read_text()
    assert "COPY deploy/constraints.txt ./constraints.txt" in dockerfile
    assert "pip install -c constraints.txt ." in dockerfile
    ignored = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ignored[0] == "*", "the build context starts empty (no .venv, node_modules, .env, .git)"
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
    }
    assert copied <= allowed, "the Dockerfile copies what .dockerignore leaves out"
