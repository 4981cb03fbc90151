"""The model builder: terms and constraint groups compiled into one `Program`."""

from .builder import RebalanceModel, build
from .program import Program

__all__ = ["Program", "RebalanceModel", "build"]
