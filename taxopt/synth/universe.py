"""The fixed universe of 24 real-looking funds every synthetic household lists, and
the arrays the generator draws from (built once, at import)."""

from __future__ import annotations

from typing import Any

import numpy as np

FORMAT = "taxopt.household/1"

#: Asset classes of the universe; every target and every exposure uses these.
CLASSES: tuple[str, ...] = ("us_equity", "intl_equity", "us_bonds", "reit")
US, INTL, BONDS, REIT = range(4)
FRACTIONAL_GRAIN = 1e-4    # fractional funds are bought in steps of 1/10,000 share

# symbol, price, asset class or exposures, wash group (None: the symbol itself),
# yield, qualified, tax_exempt, fractional, tradable
UNIVERSE: tuple[tuple[Any, ...], ...] = (
    ("VTI", 301.25, "us_equity", "crsp_us_total_market", 0.013, 0.93, False, False, True),
    ("VTSAX", 155.10, "us_equity", "crsp_us_total_market", 0.013, 0.93, False, True, True),
    ("ITOT", 131.10, "us_equity", "sp_total_market", 0.013, 0.93, False, False, True),
    ("SCHB", 24.55, "us_equity", "dj_us_broad_market", 0.013, 0.93, False, False, True),
    ("VOO", 562.40, "us_equity", "sp_500", 0.013, 0.95, False, False, True),
    ("IVV", 613.80, "us_equity", "sp_500", 0.013, 0.95, False, False, True),
    ("AGTHX", 78.30, "us_equity", None, 0.013, 0.90, False, True, False),
    ("VXUS", 66.40, "intl_equity", "ftse_global_ex_us", 0.030, 0.85, False, False, True),
    ("VTIAX", 35.20, "intl_equity", "ftse_global_ex_us", 0.030, 0.85, False, True, True),
    ("IXUS", 76.90, "intl_equity", "msci_acwi_imi_ex_us", 0.029, 0.85, False, False, True),
    ("VEA", 56.20, "intl_equity", "ftse_developed_ex_us", 0.030, 0.88, False, False, True),
    ("BND", 73.40, "us_bonds", "bbg_us_agg_float_adj", 0.037, 0.0, False, False, True),
    ("VBTLX", 9.82, "us_bonds", "bbg_us_agg_float_adj", 0.037, 0.0, False, True, True),
    ("AGG", 99.60, "us_bonds", "bbg_us_agg", 0.038, 0.0, False, False, True),
    ("VTEB", 50.55, "us_bonds", "sp_natl_amt_free_muni", 0.035, 0.0, True, False, True),
    ("MUB", 106.30, "us_bonds", "ice_amt_free_natl_muni", 0.035, 0.0, True, False, True),
    ("SGOV", 100.45, "us_bonds", "ice_0_3m_tbill", 0.043, 0.0, False, False, True),
    ("VGSH", 58.65, "us_bonds", "bbg_us_treasury_1_3y", 0.040, 0.0, False, False, True),
    ("VNQ", 90.15, "reit", "msci_us_imi_real_estate", 0.038, 0.10, False, False, True),
    ("VGSLX", 126.40, "reit", "msci_us_imi_real_estate", 0.038, 0.10, False, True, True),
    ("USRT", 57.80, "reit", "ftse_nareit_equity_reits", 0.038, 0.10, False, False, True),
    ("SCHH", 21.40, "reit", "dj_equity_all_reit", 0.038, 0.10, False, False, True),
    ("VBIAX", 50.20, {"us_equity": 0.6, "us_bonds": 0.4}, None, 0.021, 0.55, False, True, True),
    (
        "AOR", 62.10, {"us_equity": 0.37, "intl_equity": 0.23, "us_bonds": 0.40}, None,
        0.024, 0.60, False, False, True,
    ),
)

SYM: tuple[str, ...] = tuple(s[0] for s in UNIVERSE)
NSEC = len(UNIVERSE)
PRICE = np.array([s[1] for s in UNIVERSE])


def _exposure_matrix() -> np.ndarray:
    """Fraction of each fund in each class (rows sum to 1), for vectorized class sums."""
    expo = np.zeros((NSEC, len(CLASSES)))
    for i, sec in enumerate(UNIVERSE):
        parts = {sec[2]: 1.0} if isinstance(sec[2], str) else sec[2]
        for c, w in parts.items():
            expo[i, CLASSES.index(c)] = w
    return expo


EXPO = _exposure_matrix()
SINGLE = EXPO.max(axis=1) == 1.0
CLS = np.where(SINGLE, EXPO.argmax(axis=1), -1)
GROUP_NAMES = tuple(s[3] or s[0] for s in UNIVERSE)
GROUP = np.unique(np.array(GROUP_NAMES), return_inverse=True)[1]
EXEMPT = np.array([s[6] for s in UNIVERSE])
FRAC = np.array([s[7] for s in UNIVERSE])
TRADABLE = np.array([s[8] for s in UNIVERSE])
LEGACY = SYM.index("AGTHX")
MULTI = np.flatnonzero(~SINGLE)
BUYABLE_SINGLE = SINGLE & TRADABLE
# funds a position may be drawn from: [non-taxable, taxable][class]
HOLD = tuple(
    tuple(np.flatnonzero(BUYABLE_SINGLE & (CLS == c) & (taxable | ~EXEMPT))
          for c in range(len(CLASSES)))
    for taxable in (False, True)
)
MENU_POOL = np.flatnonzero(TRADABLE & ~EXEMPT)
GRAIN = np.where(FRAC, PRICE * FRACTIONAL_GRAIN, PRICE)  # smallest buy in dollars
TYPES = ("taxable", "tax_deferred", "tax_free")
PREFIX = ("brokerage", "ira", "roth")


ONEHOT = CLS[:, None] == np.arange(len(CLASSES))[None, :]  # single-class funds by class
NGROUP = int(GROUP.max()) + 1
MULTI_L = MULTI.tolist()
EXPO_L = EXPO.tolist()
HOLD_L = tuple(tuple(h.tolist() for h in by_class) for by_class in HOLD)
MENU_BY_CLASS = tuple(
    MENU_POOL[SINGLE[MENU_POOL] & (CLS[MENU_POOL] == c)] for c in range(len(CLASSES))
)
MENU_POOL_L = MENU_POOL.tolist()
TRADABLE_L = np.flatnonzero(TRADABLE).tolist()




def securities_universe() -> list[dict[str, Any]]:
    """Return the shared security list as contract ``securities`` entries.

    Every synthetic household lists the whole universe, so one securities
    table serves a whole batch. Defaults of the contract are left out (a
    fund's own wash group, ``tax_exempt: false``, ``fractional: false``,
    ``tradable: true``) so that readers exercise them.

    Returns
    -------
    list of dict
        Fresh dicts (callers may mutate them), in a fixed order.
    """
    out = []
    for sym, price, cls, group, yld, qual, exempt, frac, tradable in UNIVERSE:
        d: dict[str, Any] = {"symbol": sym, "price": price}
        if isinstance(cls, str):
            d["asset_class"] = cls
        else:
            d["exposures"] = dict(cls)
        if group is not None:
            d["wash_group"] = group
        d["yield"] = yld
        d["qualified"] = qual
        if exempt:
            d["tax_exempt"] = True
        if frac:
            d["fractional"] = True
        if not tradable:
            d["tradable"] = False
        out.append(d)
    return out
