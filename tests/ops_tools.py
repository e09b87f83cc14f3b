"""Operations tools the deploy tests run (installed by `make ops-tools`, part of `make test`)."""

import shutil

import pytest


def tool(name: str) -> str:
    """The path of ``name``; a failure that says how to install it when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: run `make ops-tools` (make test does it)", pytrace=False
        )
    return path


def kustomize_command() -> list[str]:
    """`kubectl kustomize` where kubectl is installed, else the standalone `kustomize build`."""
    if shutil.which("kubectl"):
        return [tool("kubectl"), "kustomize"]
    return [tool("kustomize"), "build"]
