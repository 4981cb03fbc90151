"""Validated households: the single way input enters taxopt."""

from .household import CASH, TAX_DEFERRED, TAX_FREE, TAX_TYPES, TAXABLE, Household
from .load import from_dict, from_file, from_json, read_raw

__all__ = ["CASH", "TAXABLE", "TAX_DEFERRED", "TAX_FREE", "TAX_TYPES", "Household",
           "from_dict", "from_file", "from_json", "read_raw"]
