"""The rebalancers people actually run, as baselines for the optimizer.

Each is a function ``(hh: Household) -> Orders``. They are deliberately simple
(the rules an advisor or a robo-platform applies without an optimizer), but
every order they emit is legal where a legal order exists: lots named in
taxable accounts, whole shares, cash never below the floor, menus and
restrictions respected, nothing bought in a wash group sold at a loss in the
plan or in the last 30 days. What they cannot promise is to meet every band
and drift tolerance; `taxopt.audit.violations` says when they do not.

Shared conventions
------------------
- An account's value is its holdings plus cash after its cash flow; its cash
  floor is ``max(min_cash, goal's cash target x value)``; the rest is invested.
- Sales of class k use the securities whose main class is k; purchases use the
  cheapest-to-hold eligible security with all of its exposure in k when there
  is one (see `Book.choose`).
- All sales of the household come first, then cash is raised where an account
  is below its floor (a withdrawal), then purchases.
"""

from __future__ import annotations

import numpy as np

from ..domain.household import TAX_DEFERRED, TAX_FREE, TAXABLE, Household
from ..domain.orders import Orders
from .book import FULL, Book, LotOrder


# --- helpers ---------------------------------------------------------------------------
def fit_bands(want: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Move dollars between classes so each is within [lo, hi], keeping the total.

    Classes pushed to a bound stay there; the others are rescaled in proportion
    to ``want`` to absorb the difference (a projection a person would do by hand).
    """
    want = np.asarray(want, float)
    total = want.sum()
    x = want.copy()
    fixed = np.zeros(len(x), bool)
    for _ in range(len(x) + 1):
        clipped = np.clip(x, lo, hi)
        moved = ~fixed & (np.abs(clipped - x) > 1e-9)
        if not moved.any():
            break
        fixed |= moved
        x = clipped
        free = ~fixed & (want > 0)
        if not free.any():
            break
        x[free] = want[free] * max(total - x[fixed].sum(), 0.0) / want[free].sum()
    return x


def _goal_want(book: Book, g: int) -> tuple[np.ndarray, np.ndarray]:
    """(target dollars, current dollars) per class for goal g; cash target 0 (floors aside)."""
    accs = book.goal_accounts(g)
    invest = max(float(book.value[accs].sum() - book.floor[accs].sum()), 0.0)
    cur = book.class_dollars()[accs].sum(axis=0)
    cur[book.cash_k] = 0.0
    return book.goal_mix(g) * invest, cur


def _raise_floors(book: Book, pooled: bool) -> None:
    """Every account below its cash floor (a withdrawal) sells, goal-overweight classes first."""
    hh = book.hh
    for a in range(book.n_acc):
        short = book.floor[a] - book.cash[a]
        if short > 0.005:
            want, cur = _goal_want(book, int(hh.accounts.goal[a]))
            book.raise_cash(a, float(short), prefer=cur - want, pooled=pooled)


def _trade_to(book: Book, desired: np.ndarray, accounts: np.ndarray, pooled: bool) -> None:
    """Sell each account's classes above ``desired`` (all accounts), raise floors, buy the rest."""
    acc = book.hh.accounts
    banded = acc.banded
    ceiling = np.where(banded, acc.band_hi * book.value[:, None], np.inf)
    for a in accounts:
        for _ in range(book.K):
            excess = book.class_dollars()[a] - desired[a]
            excess[book.cash_k] = 0.0
            k = int(np.argmax(excess))
            if excess[k] <= book.min_trade:
                break
            # a band ceiling must hold to the share: round that sale up
            rounding = "up" if banded[a, k] else "nearest"
            if book.sell_class(int(a), k, float(excess[k]), pooled=pooled,
                               rounding=rounding) <= 0:
                over = book.class_dollars()[a, k] - ceiling[a, k]
                if over > 0:
                    # a band ceiling is a hard rule: sell multi-class funds that hold k too
                    book.sell_class(int(a), k, float(over), pooled=pooled, rounding="up",
                                    any_exposure=True)
                desired[a, k] = np.inf        # nothing more of it is sold here: stop trying
    for a in accounts:
        short = book.floor[a] - book.cash[a]
        if short > 0.005:
            over = book.class_dollars()[a] - np.where(np.isfinite(desired[a]), desired[a], 0.0)
            book.raise_cash(int(a), float(short), prefer=over, pooled=pooled)
    for a in accounts:
        gap = np.where(np.isfinite(desired[a]), desired[a], 0.0) - book.class_dollars()[a]
        book.buy_mix(int(a), gap)


def _spend_goal(book: Book, g: int, first: np.ndarray) -> None:
    """Invest the goal's spendable cash: underweight classes in ``first`` first, then the
    other underweight classes, then the target mix; each account buys pro rata to its cash."""
    accs = book.goal_accounts(g)
    want, cur = _goal_want(book, g)
    spend = np.array([max(book.spendable(int(a)), 0.0) for a in accs])
    total = float(spend.sum())
    if total <= 0:
        return
    deficit = np.maximum(want - cur, 0.0)
    buy = np.zeros(book.K)
    left = total
    for mask in (first, ~first):
        d = np.where(mask, deficit, 0.0)
        if d.sum() > 0 and left > 0:
            take = min(left, float(d.sum()))
            buy += d * take / d.sum()
            left -= take
    if left > 0:
        buy += book.goal_mix(g) * left
    for a, s in zip(accs, spend, strict=True):
        if s > 0:
            book.buy_mix(int(a), buy * s / total)


def _noncash(book: Book) -> np.ndarray:
    mask = np.ones(book.K, bool)
    mask[book.cash_k] = False
    return mask


# --- (1, 2) lockstep ---------------------------------------------------------------------
def _lockstep(hh: Household, order: LotOrder) -> Orders:
    book = Book(hh, order)
    acc = hh.accounts
    desired = np.zeros((book.n_acc, book.K))
    for a in range(book.n_acc):
        invest = max(float(book.value[a] - book.floor[a]), 0.0)
        want = book.goal_mix(int(acc.goal[a])) * invest
        lo = np.where(acc.banded[a], acc.band_lo[a] * book.value[a], 0.0)
        hi = np.where(acc.banded[a], acc.band_hi[a] * book.value[a], np.inf)
        lo[book.cash_k], hi[book.cash_k] = 0.0, 0.0
        desired[a] = fit_bands(want, lo, hi)
    _trade_to(book, desired, np.arange(book.n_acc), pooled=False)
    return book.orders()


def lockstep_fifo(hh: Household) -> Orders:
    """Every account back to the goal's target mix on its own; sales relieve lots FIFO.

    Each account's invested value (value after cash flow less its cash floor)
    is split by the goal's targets, moved into the account's bands if it has
    any; overweight classes are sold (pro rata over the account's securities of
    the class, oldest lots first), underweight classes bought.
    """
    return _lockstep(hh, "fifo")


def lockstep_hifo(hh: Household) -> Orders:
    """`lockstep_fifo` with lots relieved highest cost per share first (HIFO)."""
    return _lockstep(hh, "hifo")


# --- (3) threshold bands -----------------------------------------------------------------
def threshold_5_25(hh: Household, absolute: float = 0.05, relative: float = 0.25) -> Orders:
    """Trade only the classes whose goal-level weight is outside a 5-point or 25 % band.

    A class is out of band when ``|weight - target| > absolute`` or
    ``> relative x target`` (the "5/25" rule; a class with target 0 that is held
    is always out). Each out-of-band overweight class is sold back to its
    target, the sale spread over the goal's accounts pro rata to what each
    holds of the class (FIFO lots). Cash is the balancing item: withdrawals are
    raised, then every account spends its cash above the floor on the
    out-of-band underweight classes first, then on other underweight classes,
    pro rata to the goal-level gaps. In-band classes are otherwise left alone.
    """
    book = Book(hh, "fifo")
    noncash = _noncash(book)
    triggered = []
    for g in range(len(hh.goals)):
        accs = book.goal_accounts(g)
        want, cur = _goal_want(book, g)
        total = float(book.value[accs].sum())
        weight = cur / total if total > 0 else np.zeros(book.K)
        target = hh.goals.target[g]
        gap = np.abs(weight - target)
        out = noncash & ((gap > absolute + 1e-12) | (gap > relative * target + 1e-12))
        triggered.append(out)
        for k in np.flatnonzero(out & (cur - want > book.min_trade)):
            held = np.array([book.main_class_dollars(int(a), int(k)) for a in accs])
            if held.sum() <= 0:
                continue
            for a, h in zip(accs, held, strict=True):
                if h > 0:
                    book.sell_class(int(a), int(k), float((cur[k] - want[k]) * h / held.sum()))
    _raise_floors(book, pooled=False)
    for g in range(len(hh.goals)):
        _spend_goal(book, g, triggered[g])
    return book.orders()


# --- (4) rule-of-thumb asset locator -----------------------------------------------------
INEFFICIENT_NAMES = ("bond", "reit", "real_estate", "fixed_income", "treasur", "credit", "tips",
                     "income")


def class_profile(hh: Household) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class: tax-inefficient?, expected growth, ordinary-taxed yield.

    A class is tax-inefficient (bonds, REITs) when most of the distributions of
    its taxable (not tax-exempt) single-class securities are ordinary income;
    when none of them has a yield, its name decides (``bond``, ``reit``, ...).
    Growth is the mean ``expected_return`` of its securities, or 4 % for an
    inefficient class and 7 % for the others when none is given.
    """
    sec = hh.securities
    K = len(hh.classes)
    inefficient = np.zeros(K, bool)
    growth = np.zeros(K)
    ordinary = np.zeros(K)
    main = np.argmax(sec.exposure, axis=1)
    for k in range(K - 1):
        members = sec.exposure[:, k] >= FULL
        if not members.any():
            members = (main == k) & (sec.exposure[:, k] > 0)
        taxed = members & ~sec.tax_exempt & (sec.dist_yield > 0)
        if taxed.any():
            share = 1.0 - sec.qualified[taxed]
            inefficient[k] = float(share.mean()) >= 0.5
            ordinary[k] = float(np.mean(sec.dist_yield[taxed] * share))
        else:
            name = hh.classes[k].lower()
            inefficient[k] = any(word in name for word in INEFFICIENT_NAMES)
        er = sec.expected_return[members]
        er = er[np.isfinite(er)]
        growth[k] = float(er.mean()) if len(er) else (0.04 if inefficient[k] else 0.07)
    return inefficient, growth, ordinary


def location_targets(book: Book, g: int) -> np.ndarray:
    """Dollars per (account, class) for goal g's accounts by the rule of thumb.

    Fill order: tax-deferred accounts take the inefficient classes (most
    ordinary yield first); tax-free accounts the efficient classes, highest
    growth first; taxable accounts what is left, efficient classes first; then
    any room left in tax-deferred (lowest growth first) and tax-free (highest
    growth first). Band floors are placed first and band ceilings respected; an
    account adds a class only if its menu can buy it (it may keep what it holds).
    """
    hh = book.hh
    acc = hh.accounts
    accs = book.goal_accounts(g)
    inefficient, growth, ordinary = class_profile(hh)
    noncash = _noncash(book)
    value = book.value[accs]
    cap = np.maximum(value - book.floor[accs], 0.0)
    need = book.goal_mix(g) * cap.sum()
    held = book.class_dollars()[accs]
    limit = np.where(acc.banded[accs], acc.band_hi[accs] * value[:, None], np.inf)
    for i, a in enumerate(accs):
        for k in range(book.K):
            if not book.can_buy(int(a), k):
                limit[i, k] = min(limit[i, k], held[i, k])
    X = np.zeros((len(accs), book.K))

    def give(i: int, k: int, amount: float) -> None:
        x = min(amount, cap[i], need[k], limit[i, k] - X[i, k])
        if x > 0:
            X[i, k] += x
            cap[i] -= x
            need[k] -= x

    lo = np.where(acc.banded[accs], acc.band_lo[accs] * value[:, None], 0.0)
    for i, k in zip(*np.nonzero(lo > 0), strict=True):
        if noncash[k]:
            give(int(i), int(k), float(lo[i, k]))
    ks = np.flatnonzero(noncash)
    ineff = ks[inefficient[ks]][np.argsort(-ordinary[ks[inefficient[ks]]], kind="stable")]
    eff = ks[~inefficient[ks]]
    eff_desc = eff[np.argsort(-growth[eff], kind="stable")]
    eff_asc = eff[np.argsort(growth[eff], kind="stable")]
    all_asc = ks[np.argsort(growth[ks], kind="stable")]
    all_desc = ks[np.argsort(-growth[ks], kind="stable")]
    steps = [(TAX_DEFERRED, ineff), (TAX_FREE, eff_desc),
             (TAXABLE, np.concatenate([eff_asc, ineff[::-1]])),
             (TAX_DEFERRED, all_asc), (TAX_FREE, all_desc), (TAXABLE, all_asc)]
    types = acc.tax_type[accs]
    for tax_type, order in steps:
        for i in np.flatnonzero(types == tax_type):
            for k in order:
                give(int(i), int(k), np.inf)
    return X


def rule_of_thumb_locator(hh: Household) -> Orders:
    """Asset location by the rule of thumb, then trade every account to its located mix.

    Bonds and REITs go into tax-deferred accounts first, the highest-growth
    equity into tax-free (Roth) accounts, the rest into taxable accounts (see
    `location_targets`). Each account then trades to its located mix: cash
    flows first (a deposit buys, a withdrawal sells), then, in taxable
    accounts, losses first, then long-term gains from the highest basis,
    short-term gains last (all lots of a class pooled in that order).
    """
    book = Book(hh, "min_tax")
    desired = np.zeros((book.n_acc, book.K))
    for g in range(len(hh.goals)):
        accs = book.goal_accounts(g)
        desired[accs] = location_targets(book, g)
    _trade_to(book, desired, np.arange(book.n_acc), pooled=True)
    return book.orders()


# --- (5) cash flows only -----------------------------------------------------------------
def cash_flow_only(hh: Household) -> Orders:
    """Rebalance with cash flows only: no sale except to pay a withdrawal.

    An account below its cash floor (a withdrawal) sells the goal's overweight
    classes pro rata to how overweight they are (taxable: losses first, then
    long-term gains from the highest basis), then whatever it holds. Cash above
    the floor (a deposit, idle cash) buys the goal's underweight classes pro
    rata to their gaps, any rest the target mix.
    """
    book = Book(hh, "min_tax")
    _raise_floors(book, pooled=True)
    noncash = _noncash(book)
    for g in range(len(hh.goals)):
        _spend_goal(book, g, noncash)
    return book.orders()
