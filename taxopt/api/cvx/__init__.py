"""taxopt's program as named cvxpy pieces: extend it, re-weight it, solve it with any solver.

`CvxpyModel` exposes one household's rebalancing program by name:

- variables: ``sell`` (dollars sold per lot, or per position outside taxable
  accounts), ``buy`` (dollars bought per account and symbol), as `Labelled`
  cvxpy expressions indexed ``(account_id, symbol, lot_id)`` / ``(account_id, symbol)``;
- derived expressions after the trades: ``holdings_after`` ``(account_id, symbol)``,
  ``cash_after`` ``(account_id)``, ``account_class_value`` ``(account_id,
  asset_class)``, ``goal_class_value`` and ``goal_class_weight`` ``(goal_id,
  asset_class)``; data: ``goal_value``, ``account_value``;
- objective terms (``tax``, ``tax_tiebreak``, ``tracking``, ``cost``, ``location``,
  ``cash_drag``, ...) in ``terms``, each a cvxpy expression in dollars with a weight;
- constraint groups (``bounds``, ``cash``, ``bands``, ``tolerance``, ``wash_sell``,
  ``wash_buy``, ``tracking_over``, ...) in ``constraints``, with aliases for prefixes
  (``wash`` is both wash groups).

A user adds terms (`CvxpyModel.add_objective`) and constraint groups
(`CvxpyModel.add_constraints`), changes weights (`CvxpyModel.set_weight`) and
solves with any cvxpy solver (`CvxpyModel.solve`: HiGHS for LP/MILP, Clarabel for
QP/conic problems by default). The solution goes through taxopt's own decoder and
audit, and the result says which user constraints bind.

Re-solving cheaply
------------------
All of the household's numbers (bounds, row coefficients and bounds, objective
coefficients, the data inside the derived expressions) and every weight are
cvxpy Parameters; the structure (variables, sparsity, integrality, names) is
compiled once. A weight change, new targets (`taxopt.api.with_targets`) or new
prices (`Household.with_prices`, via `CvxpyModel.update`) then only load new
parameter values, and cvxpy reuses its compiled problem.

Measured (median of 9 runs, one thread, cvxpy 1.9.3, HiGHS 1.16, Clarabel 0.11; the
wall time of `CvxpyModel.solve`, decode and audit included; ``python
examples/resolve_after_price_shock.py`` prints its own numbers):

| household, program | first solve (compiling) | weight change | price shock |
|---|---|---|---|
| three_account_location, MILP (HiGHS) | 94 ms (58 ms) | 43 ms (2 ms) | 14 + 40 ms |
| same, integers fixed (LP) | 76 ms (58 ms) | 19 ms (2 ms) | 26 + 22 ms |
| direct_indexing_500 (6,515 vars), fixed | 407 ms (146 ms) | 204 ms (31 ms) | 99 + 310 ms |

A price shock is `update` (taxopt's program rebuilt, Parameters loaded; with fixed
integers it also re-solves taxopt's MILP for them) plus the solve. What is left of
a re-solve is the solver itself: HiGHS's MILP through cvxpy takes about 35 ms on the
typical household where taxopt's direct path (LP first, then branching) takes 20 ms
for the whole pipeline, and 6 s against 60 ms on direct_indexing_500 (500 wash-sale
binaries); fix the integers there.

Integer variables
-----------------
The program has binaries (wash-sale groups, the Schedule D netting piece, a
carryforward piece, forced lot order). HiGHS solves the mixed-integer LP through
cvxpy. For a QP or conic objective (e.g. a risk term) with a continuous solver,
call `CvxpyModel.fix_integers` first: it fixes every integer variable at the
optimum of taxopt's own MILP (HiGHS, direct) and makes the rest continuous.
A program with the quadratic tracking term (``tracking="quadratic"``) starts with
its integers fixed, as the engine solves it: they are chosen on the linear program
with the L1 stand-in, then the QP is solved with them fixed (HiGHS's QP solver).

The package's modules, one job each: `model` (the pieces and their Parameters),
`spec` (the program's numbers), `pieces` (terms, groups, results), `solving`,
`report` (slack, activity, duals), `repair` (whole-share rounding with user
pieces), `checks` (constraint arithmetic).
"""

from __future__ import annotations

from .checks import ACTIVE_RTOL, DUAL_TOL
from .model import CvxpyModel
from .pieces import ConstraintGroup, EmbeddedResult, ObjectiveTerm

__all__ = ["ACTIVE_RTOL", "DUAL_TOL", "ConstraintGroup", "CvxpyModel", "EmbeddedResult",
           "ObjectiveTerm"]
