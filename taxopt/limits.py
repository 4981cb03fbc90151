"""Input limits: the largest (and smallest) magnitudes taxopt accepts, in one place.

No real household comes near them, and inside them the program stays well scaled:
HiGHS works to absolute tolerances around 1e-7 and treats 1e20 as infinite, so a
dollar figure of 1e308 (or a price of 1e-300) becomes an unsolvable program rather
than a plan. Input beyond a limit is refused at validation, naming the field and
the limit. The README's "Input limits" section and docs/input-limits.md list them.
"""

from __future__ import annotations

import datetime as dt

MONEY_MAX = 1e12            # dollars: cash, cost basis, flows, a lot's value, a household
SHARES_MIN = 1e-6           # shares in one lot or one trade: millionths, as traded
SHARES_MAX = 1e10
PRICE_MIN = 1e-6            # dollars per share
PRICE_MAX = 1e9
ID_MAX = 256                # characters in an id, symbol or asset-class name
# The latest as_of: the do-not-buy date of a loss sale (as_of + 31 days, past the
# 30-day wash window) must still be an ISO date, whose year has four digits.
AS_OF_MAX = dt.date.max - dt.timedelta(days=31)      # 9999-11-30

# Options: the upper bound of each numeric knob (the lower bound is 0 for all).
OPTION_MAX: dict[str, float] = {
    "tracking_weight": 1e3,
    "tracking_te_weight": 1e6,
    "transaction_cost_bps": 1e4,
    "location_horizon_years": 50.0,     # growth (1 + r) ** years stays representable
    "drag_horizon_years": 100.0,
    "cash_drag_years": 100.0,
    "discount_rate": 1.0,
    "location_weight": 1.0,
    "carryforward_value": 1.0,
    "recapture_horizon_years": 100.0,
    "harvest_min_loss_pct": 1.0,
    "mip_rel_gap": 1.0,
    "min_trade_value": MONEY_MAX,
    "harvest_min_loss": MONEY_MAX,
    "time_limit": 1e6,
}
DAYS_MAX = 36_600           # protect_long_term_days: a century

# Scenario files are capped before parsing (JSON and YAML), and YAML aliases may add at
# most this many values to the document (a 1 KB "billion laughs" would add 10**9).
FILE_BYTES_MAX = 64 * 1024 * 1024
YAML_BYTES_MAX = 16 * 1024 * 1024
YAML_ALIAS_VALUES_MAX = 10_000


def shown(value: float) -> str:
    """A limit as a message prints it: 1,000,000,000,000 or 1e-06."""
    return f"{value:,.0f}" if abs(value) >= 1 else f"{value:g}"
