"""argparse types for numeric options: a value out of range is a usage error that argparse
reports itself (exit 2, naming the option), never a hang or a traceback later on."""

import argparse

MAX_PORT = 65_535


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):  # nan, inf: never a setting
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def port_number(text: str) -> int:
    """A TCP port, 1..65535 (0 would be a random port nobody could find)."""
    value = _integer(text)
    if not 1 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1..{MAX_PORT})")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1 (workers, events, seconds)."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    """A whole number of at least 0 (a count that may be empty)."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must not be negative")
    return value


def positive_float(text: str) -> float:
    """A number above 0 (a duration)."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be above 0")
    return value


def non_negative_float(text: str) -> float:
    """A number of at least 0 (a wait that may be none)."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must not be negative")
    return value


def fraction(text: str) -> float:
    """A number within 0..1 (a precision, a recall, a share)."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not within 0..1")
    return value
