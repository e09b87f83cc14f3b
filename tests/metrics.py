"""Read this process's Prometheus metrics (workers run in-process in the tests)."""

from prometheus_client import REGISTRY


def sample(name: str, **labels: str) -> float:
    """The current value of one series; 0 before it was first touched."""
    return REGISTRY.get_sample_value(name, labels) or 0.0
