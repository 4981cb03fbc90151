"""taxopt's own search over the binaries of a rebalance, on one HiGHS instance.

HiGHS's MIP machinery costs 10-50 ms per household even when it closes at the
root, while a warm dual-simplex re-solve costs well under a millisecond there; and
a direct-indexing book has a thousand wash-sale binaries of which the relaxation
leaves only a few fractional. So the search works in stages, each one counted in
``Solution.info``:

1. roots: one LP relaxation per combination of the netting pieces (fixed, never
   relaxed: their relaxation is weak), each a root of the tree;
2. rounding: every root's binaries rounded to the nearest side and the LP re-solved
   gives a plan (the first incumbent, found in two LPs);
3. bounding: a binary whose root reduced cost alone lifts the bound past the
   incumbent is fixed where the relaxation put it (reduced-cost fixing);
4. branching, depth first on warm-started LPs, on what is left; a tree larger than
   `MAX_NODES` goes to HiGHS's own MIP solver with the incumbent as a start.

The time limit is a promise: a node the limit stopped is never taken for solved
(nor pruned, nor called infeasible). When time runs out, the best plan found is
returned as ``feasible`` with the proven gap between it and the best bound.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..model.program import Program
from . import highs_run
from .base import Solution, Status
from .clock import Deadline
from .condense import Condensed
from .netting import NettingPart

MAX_NODES = 256
NETTING_FROM = 0       # columns: the netting bound runs from this size (0: always)
PRICE_ALL_FROM = 1000  # columns: from here `NettingPart.price` passes over every row; below,
# `price_at` reads the part's price off the solved root (a probe costs a household more
# than the whole bound then: 34 of 40 typical households skip their second root)
PROBE_ITERATIONS = 100
_TOL = 1e-9
_REL_TOL = 1e-9
_SNAP = 1e-6        # a binary this close to an integer is that integer


@dataclass(slots=True, eq=False)
class _Node:
    """An LP-solved subproblem: its bounds on the binaries and its relaxation."""

    bound: float
    lo: np.ndarray
    hi: np.ndarray
    x: np.ndarray | None          # None: not solved yet (the limit stopped it)


def _integral(values: np.ndarray) -> bool:
    return bool((np.abs(values - values.round()) <= _TOL).all())


def one_sided(loaded: Condensed, ints: np.ndarray) -> np.ndarray:
    """Binaries that need no decision: -1 (or +1) where lowering (raising) the binary
    only ever loosens its rows and costs at most `SETTLE_COST` a unit; 0 elsewhere.

    Such a binary takes the loosening side after any LP at no real cost. For a wash-sale
    group it means the group has no loss lot to harvest (its binary only restricts
    buys) or nowhere to be bought (it only restricts loss sales): only a group with
    both is a decision.
    """
    A = loaded.A                                   # CSC: the binaries' columns, gathered
    start, length = A.indptr[ints], A.indptr[ints + 1] - A.indptr[ints]
    j = np.repeat(np.arange(len(ints)), length)
    at = np.arange(len(j)) - np.repeat(np.cumsum(length) - length, length) + start[j]
    r, a = A.indices[at], A.data[at]
    keep = a != 0
    r, j, a = r[keep], j[keep], a[keep]
    upper = np.isfinite(loaded.hi[r])            # the row has an upper side ...
    lower = np.isfinite(loaded.lo[r])            # ... and/or a lower side
    # Raising the binary tightens the row where it pushes towards a finite side.
    tightens_up = (upper & (a > 0)) | (lower & (a < 0))
    loosens_up = (upper & (a < 0)) | (lower & (a > 0))
    up_tight = np.bincount(j, weights=tightens_up, minlength=len(ints)) > 0
    up_loose = np.bincount(j, weights=loosens_up, minlength=len(ints)) > 0
    cost = loaded.c[ints]
    side = np.zeros(len(ints), np.int8)
    side[~up_loose & (cost >= -SETTLE_COST)] = -1        # lowering never hurts
    side[~up_tight & (cost <= SETTLE_COST)] = 1          # raising never hurts
    side[~up_loose & ~up_tight] = np.where(cost[~up_loose & ~up_tight] > 0, -1, 1)
    return side


SETTLE_COST = 1.5e-6   # the wash tie-break (1e-6 a binary) and no more
SETTLE_FROM = 64       # binaries in the program: below this nothing is settled


def _dual_bound(root: _Node, reduced: np.ndarray, other: _Node) -> float:
    """A lower bound for ``other`` from ``root``'s optimal duals, without solving it.

    The root's dual solution stays feasible when only the bounds on the binaries change,
    and its objective then moves by each reduced cost times the bound it sits on (the
    lower one for a positive reduced cost, the upper one for a negative).
    """
    step = np.where(reduced > 0, reduced * (other.lo - root.lo),
                    reduced * (other.hi - root.hi))
    return float(root.bound + step.sum())


class _Search:
    """State of one search: the incumbent, the open nodes and the counters."""

    def __init__(self, h, prog: Program, ints: np.ndarray, deadline: Deadline,
                 loaded: Condensed):
        self.h, self.prog, self.ints, self.deadline = h, prog, ints, deadline
        self.loaded = loaded
        # the program's own bounds (the loaded arrays start with them)
        self.lb0, self.ub0 = loaded.lb[ints], loaded.ub[ints]
        is_piece = np.zeros(prog.n, bool)
        is_piece[np.asarray(prog.pieces, dtype=np.int64)] = True
        self.piece = is_piece[ints]
        # Large programs prune at a billionth of the objective; small ones exactly.
        self.rel_tol = _REL_TOL if len(ints) >= SETTLE_FROM else 0.0
        if len(ints) >= SETTLE_FROM:
            side = np.where(self.piece, 0, one_sided(loaded, ints)).astype(np.int8)
        else:
            # A household's handful of binaries is searched exactly as before: settling
            # picks a plan only as good up to the tie-break, and the quadratic stage
            # fixes these integers (one such choice sent HiGHS's QP solver cycling).
            # So none is settled, and each counts as a decision (two-sided).
            side = np.zeros(len(ints), np.int8)
        two_sided = float(((side == 0) & ~self.piece).sum())
        self.side = side
        self.settles = bool(side.any())
        self.cost = loaded.c[ints]              # the binaries' costs
        self.decide = (self.side == 0)          # pieces and the real decisions
        self._decided = ints[self.decide]
        # (Linear programs only: a quadratic objective is not priced by its duals alone.)
        self.netting = (NettingPart.of(loaded, prog, ints[self.piece])
                        if self.piece.any() and prog.n >= NETTING_FROM and not prog.quadratic
                        else None)
        self.best: Solution | None = None
        self.seconds = 0.0
        self.open: list[_Node] = []
        self.stopped = False           # the limit stopped an LP or the search
        self.failed: Solution | None = None   # an LP that ended neither solved nor stopped
        self.closed_at: float | None = None   # HiGHS's bound when its MIP closed the search
        self.stats = {"binaries": float((~self.piece).sum()), "pieces": float(self.piece.sum()),
                      "two_sided": two_sided,
                      "fractional_at_root": 0.0, "fixed_by_bound": 0.0,
                      "left_to_branch": 0.0, "nodes": 0.0, "highs_mip": 0.0}

    # -- one LP --------------------------------------------------------------------------

    def lp(self, lo: np.ndarray, hi: np.ndarray, cutoff: bool = False) -> Solution:
        """The relaxation at bounds ``lo``, ``hi`` on the binaries.

        With ``cutoff`` and an incumbent, a short probe runs first: dual simplex without
        cost perturbation (so its objective is a true bound) told to stop once that
        bound reaches the incumbent. A node that cannot win is then dropped in a few
        iterations (the other netting piece of a 100,000-lot book: 5 iterations, against
        ~3,000 to solve it). A probe that neither prunes nor finishes is resumed as an
        ordinary solve. A pruned node comes back with ``info["pruned"] = 1``.
        """
        self.h.changeColsBounds(len(self.ints), self.ints, lo, hi)
        if cutoff and self.best is not None:
            pruned = self._probe()
            if pruned is not None:
                return pruned
        sol = highs_run.timed_run(self.h, self.prog, self.deadline, relaxed=True)
        self.seconds += sol.solver_seconds
        if sol.info.get("stopped"):
            self.stopped = True
        return sol

    def _probe(self) -> Solution | None:
        import highspy

        h = self.h
        assert self.best is not None
        inc = self.best.objective
        h.setOptionValue("objective_bound", inc - max(_TOL, self.rel_tol * abs(inc)))
        h.setOptionValue("dual_simplex_cost_perturbation_multiplier", 0.0)
        h.setOptionValue("simplex_iteration_limit", PROBE_ITERATIONS)
        try:
            sol = highs_run.timed_run(h, self.prog, self.deadline, relaxed=True)
        finally:
            h.setOptionValue("objective_bound", np.inf)
            h.setOptionValue("dual_simplex_cost_perturbation_multiplier", 1.0)
            h.setOptionValue("simplex_iteration_limit", 2**31 - 1)
        self.seconds += sol.solver_seconds
        self.stats["probes"] = self.stats.get("probes", 0.0) + 1
        if h.getModelStatus() == highspy.HighsModelStatus.kObjectiveBound:
            self.stats["pruned_by_probe"] = self.stats.get("pruned_by_probe", 0.0) + 1
            sol.status, sol.info = Status.OPTIMAL, {"pruned": 1.0}
            sol.objective = max(float(highs_run.info_value(h, "objective_function_value")), inc)
            return sol
        if sol.status == Status.OPTIMAL or sol.status == Status.INFEASIBLE:
            return sol
        if sol.info.get("stopped"):
            self.stopped = True
            return sol
        return None

    def integral(self, x: np.ndarray) -> bool:
        """Integral in the binaries that are decisions (the others settle)."""
        return _integral(x[self._decided])

    def offer(self, sol: Solution) -> None:
        """Keep ``sol`` (LP-optimal at its node, integral in the decisions) if it beats
        the incumbent, once its one-sided binaries are settled on their loose side."""
        v = sol.x[self.ints]
        # Within HiGHS's tolerances of an integer is that integer (0.9999999 is 1, not
        # a fractional value to settle down to 0).
        near = v.round()
        if self.settles:
            snap = np.abs(v - near) <= _SNAP
            settled = np.where(snap | (self.side == 0), near,
                               np.where(self.side < 0, np.floor(v), np.ceil(v)))
        else:                           # every binary a decision: each goes to the nearer side
            settled = near
        sol.objective += float(self.cost @ (settled - v))
        if self.best is None or sol.objective < self.best.objective - _TOL:
            sol.x[self.ints] = settled
            self.best = sol

    def prunable(self, bound: float) -> bool:
        """A bound no better than the incumbent (up to a billionth of it)."""
        if self.best is None:
            return False
        inc = self.best.objective
        return bound >= inc - max(_TOL, self.rel_tol * abs(inc))

    def solved(self, sol: Solution) -> bool:
        """An LP relaxation solved to optimality (the only kind that bounds a node)."""
        if sol.status == Status.OPTIMAL and not sol.info.get("stopped"):
            return True
        if sol.status != Status.INFEASIBLE and not self.stopped and self.failed is None:
            self.failed = sol
        return False

    # -- stages --------------------------------------------------------------------------

    def roots(self) -> list[tuple[_Node, np.ndarray]]:
        """One LP per combination of the netting pieces, each rounded at once (so the
        next root can be cut off by the plan found). Returns the fractional roots that
        are still open with their reduced costs; integral ones are incumbents already."""
        pieces = self.piece.nonzero()[0]
        out: list[tuple[_Node, np.ndarray]] = []
        solved: list[tuple[_Node, np.ndarray]] = []
        priced: list[tuple[float, np.ndarray]] = []    # solved roots, for `_netting_bound`
        basis = None
        for combo in itertools.product((0.0, 1.0), repeat=len(pieces)):
            lo, hi = self.lb0.copy(), self.ub0.copy()
            lo[pieces] = hi[pieces] = combo
            if self.stopped or self.deadline.expired:
                self.stopped = True
                self.open.append(_Node(-np.inf, lo, hi, None))
                continue
            if solved and self.best is not None:   # bounded by a solved root's duals
                bound = max(_dual_bound(r, d, _Node(-np.inf, lo, hi, None)) for r, d in solved)
                bound = max(bound, self._netting_bound(priced, lo, hi, self._cutoff()))
                if self.prunable(bound):
                    self.stats["pruned_by_duals"] = self.stats.get("pruned_by_duals", 0.0) + 1
                    continue
            if basis is not None:      # start from the previous root
                self.h.setBasis(basis)
            sol = self.lp(lo, hi, cutoff=True)
            if not self.solved(sol):
                if sol.status != Status.INFEASIBLE:
                    self.open.append(_Node(-np.inf, lo, hi, None))
                continue
            if sol.info.get("pruned"):
                continue
            basis = self.h.getBasis()
            node = _Node(sol.objective, lo, hi, sol.x)
            vals = sol.x[self.ints]
            raw = self.h.getSolution()
            reduced = highs_run.floats(raw.col_dual)[self.ints]
            solved.append((node, reduced))
            if self.netting is not None:
                duals = raw.row_dual
                if self.prog.n < PRICE_ALL_FROM and self.netting.cols[-1] < len(sol.x):
                    p = self.netting.price_at(self.loaded, duals, sol.x, sol.objective)
                else:
                    p = self.netting.price(self.loaded, duals)
                if p is not None:
                    priced.append(p)
            if self.integral(sol.x):
                self.offer(sol)
                continue
            self.stats["fractional_at_root"] += float(
                (self.decide & (np.abs(vals - np.round(vals)) > _TOL)).sum())
            self.round(node, basis)
            out.append((node, reduced))
        for node in self.open:          # roots the limit left unsolved
            if node.x is None and solved:
                node.bound = max(max(_dual_bound(r, d, node) for r, d in solved),
                                 self._netting_bound(priced, node.lo, node.hi))
        return sorted(out, key=lambda r: r[0].bound)

    def _netting_bound(self, priced: list[tuple[float, np.ndarray]], lo: np.ndarray,
                       hi: np.ndarray, enough: float = np.inf) -> float:
        """The best bound on the root at ``lo``, ``hi`` from the solved roots' duals,
        solving only its netting columns (`taxopt.adapters.netting`); the first that
        reaches ``enough`` is returned without the others."""
        if self.netting is None or not priced:
            return -np.inf
        at = self.netting.inside[self.ints]
        best = -np.inf
        for p in priced:
            self.stats["netting_bounds"] = self.stats.get("netting_bounds", 0.0) + 1
            best = max(best, self.netting.bound(self.loaded, p, self.ints[at], lo[at], hi[at],
                                                enough, self.prog.n >= PRICE_ALL_FROM))
            if best >= enough:
                break
        return best

    def _cutoff(self) -> float:
        """The least bound that `prunable` drops (inf without an incumbent)."""
        if self.best is None:
            return np.inf
        inc = self.best.objective
        return inc - max(_TOL, self.rel_tol * abs(inc))

    def round(self, node: _Node, basis) -> None:
        """Plans from the root: its binaries rounded down, to the nearer side, then up.

        Each is one LP with every binary fixed, warm from the root's basis (a few
        iterations). Down comes first: for a wash-sale binary it keeps the purchases the
        relaxation made and gives up harvesting the few groups it left fractional, and
        the relaxation of a large book has many equally good purchases, so down often
        loses nothing. Stops as soon as a plan meets the root's bound.
        """
        assert node.x is not None
        v = np.clip(node.x[self.ints], node.lo, node.hi)
        tried: list[bytes] = []
        for r in (np.floor(v + _SNAP), np.round(v), np.ceil(v - _SNAP)):
            key = r.tobytes()
            if key in tried or self.deadline.expired:
                continue
            tried.append(key)
            self.h.setBasis(basis)
            lo = np.where(self.decide, r, node.lo)     # one-sided binaries stay free
            sol = self.lp(lo, np.where(self.decide, r, node.hi))
            if self.solved(sol):
                self.offer(sol)
            if self.prunable(node.bound):
                break
        self.h.setBasis(basis)

    def fix_by_bound(self, node: _Node, reduced: np.ndarray) -> None:
        """Fix binaries whose reduced cost alone proves the other side cannot pay."""
        if self.best is None or node.x is None:
            return
        room = self.best.objective - node.bound
        v = node.x[self.ints]
        free = (node.lo < node.hi) & self.decide & ~self.piece
        at_lo = free & (np.abs(v - node.lo) <= _TOL) & (reduced > room + _TOL)
        at_hi = free & (np.abs(v - node.hi) <= _TOL) & (-reduced > room + _TOL)
        node.hi[at_lo] = node.lo[at_lo]
        node.lo[at_hi] = node.hi[at_hi]
        self.stats["fixed_by_bound"] += float(at_lo.sum() + at_hi.sum())
        self.stats["left_to_branch"] += float(((node.lo < node.hi) & free).sum())

    def branch(self) -> bool:
        """Depth first over the open nodes; False when the tree outgrew `MAX_NODES`."""
        stack = sorted(self.open, key=lambda n: -n.bound)   # best bound popped first
        self.open = []
        while stack:
            node = stack.pop()
            if self.prunable(node.bound):
                continue
            if self.deadline.expired:
                self.stopped = True
            if self.stopped or node.x is None:
                self.open.append(node)
                continue
            vals = node.x[self.ints]
            frac = np.where((node.lo < node.hi) & self.decide,
                            np.abs(vals - np.round(vals)), 0.0)
            j = int(np.argmax(frac))
            near = round(float(vals[j]))
            children = []
            for side in (1 - near, near):   # the side nearer the LP value is explored first
                lo, hi = node.lo.copy(), node.hi.copy()
                lo[j] = hi[j] = side
                children.append((lo, hi))
            for k, (lo, hi) in enumerate(children):
                if self.stats["nodes"] >= MAX_NODES:
                    self.open.extend(stack)
                    self.open.append(node if k == 0 else _Node(node.bound, lo, hi, None))
                    return False
                self.stats["nodes"] += 1
                sol = self.lp(lo, hi, cutoff=True)
                if not self.solved(sol):
                    if sol.status != Status.INFEASIBLE:   # stopped, not solved: still open
                        self.open.append(_Node(node.bound, lo, hi, None))
                    continue
                if sol.info.get("pruned") or self.prunable(sol.objective):
                    continue
                if self.integral(sol.x):
                    self.offer(sol)
                else:
                    stack.append(_Node(sol.objective, lo, hi, sol.x))
        return True

    def highs_mip(self) -> None:
        """Hand the rest to HiGHS's MIP solver, with the incumbent as its start."""
        h, ints = self.h, self.ints
        self.stats["highs_mip"] = 1.0
        bound_before = self.bound()
        h.changeColsBounds(len(ints), ints, self.lb0, self.ub0)
        h.changeColsIntegrality(len(ints), ints, np.ones(len(ints), dtype=np.uint8))
        if self.best is not None:
            start = self.loaded.expand(self.best.x)
            h.setSolution(len(start), np.arange(len(start), dtype=np.int32), start)
        highs_run.mip_presolve(h, self.prog.n)
        # HiGHS's MIP run leaves the LP tolerance at the MIP's (1e-6, not 1e-7): put it
        # back, or the LPs solved on this instance after it stop at other vertices.
        _, lp_tolerance = h.getOptionValue("primal_feasibility_tolerance")
        sol = highs_run.timed_run(h, self.prog, self.deadline)
        h.setOptionValue("presolve", "off")
        h.setOptionValue("primal_feasibility_tolerance", lp_tolerance)
        h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
        self.seconds += sol.solver_seconds
        if sol.status.has_solution and (self.best is None
                                        or sol.objective < self.best.objective - _TOL):
            self.best = sol
        if sol.status == Status.OPTIMAL:
            # optimal up to `mip_rel_gap`: HiGHS's dual bound is the proof, not the plan
            dual = float(h.getInfo().mip_dual_bound)
            self.closed_at = max(dual, bound_before) if np.isfinite(dual) else None
            self.open = []
            return
        if sol.status == Status.INFEASIBLE and self.best is None:
            self.open = []
            return
        if sol.info.get("stopped"):
            self.stopped = True
        dual = float(h.getInfo().mip_dual_bound)
        bound = max(bound_before, dual) if np.isfinite(dual) else bound_before
        self.open = [_Node(bound, self.lb0, self.ub0, None)] if not self.prunable(bound) else []
        if not sol.status.has_solution and not sol.info.get("stopped") and self.failed is None:
            self.failed = sol

    def bound(self) -> float:
        """The best proven lower bound: the least bound of the open nodes, or the plan."""
        bounds = [n.bound for n in self.open]
        if self.best is not None:
            bounds.append(self.best.objective)
        return min(bounds) if bounds else np.inf


def search(h, prog: Program, ints: np.ndarray, deadline: Deadline,
           loaded: Condensed) -> Solution:
    """Solve the MIP loaded in ``h`` by the staged search of this module (loaded with
    every column continuous: `taxopt.adapters.highs.load_program`)."""
    _version = highs_run._version
    s = _Search(h, prog, ints, deadline, loaded)
    roots = s.roots()
    for node, reduced in roots:
        if not s.prunable(node.bound):
            s.fix_by_bound(node, reduced)
            s.open.append(node)
    if s.failed is None and not s.branch() and not s.deadline.expired:
        s.highs_mip()
    h.changeColsBounds(len(ints), ints, s.lb0, s.ub0)
    stats = dict(s.stats)
    if s.best is not None:
        best = s.best
        best.solver_seconds, best.adapter = s.seconds, "highs"
        bound = s.bound()
        if not s.open and s.closed_at is not None:
            bound = min(bound, s.closed_at)
        gap = max(best.objective - bound, 0.0) / max(abs(best.objective), 1.0)
        best.mip_gap = float(gap) if np.isfinite(gap) else None
        stats["best_bound"] = float(bound)
        best.info = {**stats}
        if s.open:
            best.status = Status.FEASIBLE
            why = TIME_WHY if (s.stopped or s.deadline.expired) else "the search stopped"
            best.message = (f"{why}: best plan found, proven gap "
                            + (f"{gap:.4%}" if best.mip_gap is not None else "unknown")
                            + f" (plan {best.objective:,.2f}, bound {bound:,.2f})")
        else:
            best.status, best.message = Status.OPTIMAL, "Optimal"
        return best
    nan, zeros = float("nan"), np.zeros(prog.n)
    if s.open and (s.stopped or s.deadline.expired):
        return Solution(Status.ERROR, zeros, nan, "highs", "HiGHS", _version(), None, s.seconds,
                        f"{TIME_WHY} before any plan was found", {**stats, "stopped": 1.0},
                        duals=_row_duals(h, prog))
    if s.failed is not None:
        s.failed.solver_seconds, s.failed.info = s.seconds, {**stats}
        if s.failed.status.has_solution:   # an LP that was not solved to optimality
            s.failed.status = Status.ERROR
        return s.failed
    return Solution(Status.INFEASIBLE, zeros, nan, "highs", "HiGHS", _version(), None,
                    s.seconds, "infeasible in every branch", stats)


TIME_WHY = "time limit reached"


def _row_duals(h, prog: Program) -> np.ndarray | None:
    """HiGHS's last row duals of the program's own rows (the condensed program adds its
    link rows after them, and its shortened rows keep their multipliers), or None."""
    m = sum(r.T.shape[0] for r in prog.rows.values())
    y = highs_run.floats(h.getSolution().row_dual)
    return y[:m].copy() if len(y) >= m and np.isfinite(y[:m]).all() else None
