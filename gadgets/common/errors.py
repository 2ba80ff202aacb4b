"""Errors a gadget reports to its user (bad input, missing container, hook)."""
from __future__ import annotations

from pybpf.errors import BPFError


class GadgetError(BPFError, ValueError):
    """Bad gadget input: unknown gadget, field, filter, parameter or container."""


class GadgetUnavailableError(GadgetError):
    """The gadget cannot run here (missing hook, privileges or kernel feature)."""
