"""The baseline: the LP of docs/model.md built directly in highspy, without Pyomo.

``build_lp(params)`` turns :class:`optimizer.inputs.Params` (plain dicts) into numpy
arrays and a scipy CSC matrix, family by family, vectorised where the data allows (the
big blocks — separation output into the product balances, line caps, MRECL content in
export caps — are numpy broadcasts). ``new_highs`` hands it over with one
``Highs.passModel`` call. This is the physical limit of this stack for build + solve.

It reproduces the product's LP exactly, in the same column and row order as Pyomo's
standard-form compiler emits (declaration order, empty rows dropped), so HiGHS takes the
same path on both and the objective agrees to rounding: ``col_keys``/``row_keys`` give
the names for that check (they are not needed to build or solve).

``RawSweep`` is the baseline of a sweep: change the same row bounds and costs in place,
hot re-solve, read ``col_value``/``row_dual`` and compute the comparison row's KPIs with
numpy. Nothing is cached across timed runs: every ``build_lp`` starts from ``Params``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

MRECL = "MRECL"
INF = np.inf
BALANCES = {"mine_dispatch", "mixed_balance", "product_balance"}


@dataclass
class RawLP:
    """max c·x  s.t.  row_lower ≤ A x ≤ row_upper, 0 ≤ x."""

    A: Any
    c: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    # bookkeeping for sweeps, KPIs and names (all numpy or small lists)
    col_blocks: list = field(default_factory=list)   # (name, start, count, key_fn)
    row_blocks: list = field(default_factory=list)   # (family, start, count, key_fn)
    data: dict = field(default_factory=dict)

    @property
    def num_col(self) -> int:
        return self.A.shape[1]

    @property
    def num_row(self) -> int:
        return self.A.shape[0]

    @property
    def nnz(self) -> int:
        return int(self.A.nnz)

    def col_keys(self) -> list[tuple[str, tuple]]:
        return [(name, fn(i)) for name, _, n, fn in self.col_blocks for i in range(n)]

    def row_keys(self) -> list[tuple[str, tuple]]:
        return [(fam, fn(i)) for fam, _, n, fn in self.row_blocks for i in range(n)]

    def row_key(self, i: int) -> tuple[str, tuple]:
        for fam, start, n, fn in self.row_blocks:
            if start <= i < start + n:
                return fam, fn(i - start)
        raise IndexError(i)


class _Rows:
    """Collects one family at a time: COO entries with family-local row numbers."""

    def __init__(self):
        self.n = 0
        self.parts_r, self.parts_c, self.parts_v = [], [], []
        self.lower, self.upper = [], []
        self.blocks = []

    def family(self, name: str, n_rows: int, entries: list, lower, upper, key_fn) -> None:
        """Add family ``name`` of ``n_rows`` rows; rows without entries are dropped."""
        if n_rows == 0:
            return
        r = np.concatenate([e[0] for e in entries]) if entries else np.zeros(0, np.int64)
        c = np.concatenate([e[1] for e in entries]) if entries else np.zeros(0, np.int64)
        v = np.concatenate([e[2] for e in entries]) if entries else np.zeros(0)
        lower = np.broadcast_to(np.asarray(lower, float), (n_rows,))
        upper = np.broadcast_to(np.asarray(upper, float), (n_rows,))
        used = np.zeros(n_rows, bool)
        used[r] = True
        if used.all():
            new = None
            keep_n = n_rows
        else:
            new = np.cumsum(used) - 1
            r = new[r]
            keep = np.flatnonzero(used)
            lower, upper = lower[keep], upper[keep]
            keep_n = len(keep)
            inner = key_fn
            key_fn = lambda i, keep=keep, inner=inner: inner(int(keep[i]))  # noqa: E731
        if keep_n == 0:
            return
        self.parts_r.append(r + self.n)
        self.parts_c.append(c)
        self.parts_v.append(v)
        self.lower.append(lower)
        self.upper.append(upper)
        self.blocks.append((name, self.n, keep_n, key_fn))
        self.n += keep_n


def _grid(*arrays):
    """Cartesian product of index arrays as flat arrays (first varies slowest)."""
    mesh = np.meshgrid(*arrays, indexing="ij")
    return [m.ravel() for m in mesh]


def build_lp(P, strict: bool = False) -> RawLP:
    """The LP of docs/model.md from ``Params``, in the product's column and row order."""
    T = P.PERIODS
    nT = len(T)
    tix = {t: i for i, t in enumerate(T)}
    Y = np.fromiter((P.years[t] for t in T), float, nT)
    df = np.fromiter((P.df[t] for t in T), float, nT)
    MINES, CR, SE, PR = P.MINES, P.CRACKING, P.SEPARATION, P.PRODUCTS
    nM, nC, nS, nP = len(MINES), len(CR), len(SE), len(PR)
    mix = {m: i for i, m in enumerate(MINES)}
    cix = {c: i for i, c in enumerate(CR)}
    pix = {p: i for i, p in enumerate(PR)}
    kix = {k: i for i, k in enumerate(P.CUSTOMERS)}
    export = np.fromiter((P.kind[k] == "export" for k in P.CUSTOMERS), bool, len(kix))

    avail = np.fromiter((P.avail[m, t] for m in MINES for t in T), float, nM * nT)
    capM = np.fromiter((P.cap_mine_t[m, t] for m in MINES for t in T), float, nM * nT)
    g = np.fromiter((P.reo_grade[m] for m in MINES), float, nM)
    th = np.fromiter((P.tho2_grade[m] for m in MINES), float, nM)
    mcost = np.fromiter((P.mining_cost[m] for m in MINES), float, nM)
    R = P.ROUTES
    nR = len(R)
    r_m = np.fromiter((mix[m] for m, _ in R), np.int64, nR)
    r_c = np.fromiter((cix[c] for _, c in R), np.int64, nR)
    tcost = np.fromiter((P.transport_cost[r] for r in R), float, nR)
    rC = np.fromiter((P.recovery[c] for c in CR), float, nC)
    rS = np.fromiter((P.recovery[s] for s in SE), float, nS)
    ucC = np.fromiter((P.unit_cost[c] for c in CR), float, nC)
    ucS = np.fromiter((P.unit_cost[s] for s in SE), float, nS)
    capC = np.fromiter((P.cap_plant_t[c, t] for c in CR for t in T), float, nC * nT)
    capS = np.fromiter((P.cap_plant_t[s, t] for s in SE for t in T), float, nS * nT)
    SH = np.zeros((nM, nP))
    for (m, p), s in P.share.items():
        SH[mix[m], pix[p]] = s

    D = P.DEMAND
    nD = len(D)
    dk = np.fromiter((kix[k] for k, _, _ in D), np.int64, nD)
    dq = np.fromiter((-1 if q == MRECL else pix[q] for _, q, _ in D), np.int64, nD)
    dt = np.fromiter((tix[t] for _, _, t in D), np.int64, nD)
    dmin = np.fromiter((P.min_t[d] for d in D), float, nD)
    dmax = np.fromiter((P.max_t.get(d, np.nan) for d in D), float, nD)
    dprice = np.fromiter((P.price[d] for d in D), float, nD)
    dpv = np.fromiter((P.policy_value[d] for d in D), float, nD)
    dpen = np.fromiter((P.shortfall_penalty[d] for d in D), float, nD)

    # --- columns, in declaration order ------------------------------------------------
    idx_dm = np.flatnonzero(dq < 0)          # MRECL demand rows (k, t)
    idx_ds = np.flatnonzero(dq >= 0)         # product demand rows
    disp = [p for p in PR if p in P.disposal_cost]
    idx_sf = np.zeros(0, np.int64) if strict else np.flatnonzero(dmin > 0)
    n_mine, n_crack, n_mixed = nM * nT, nR * nT, len(idx_dm) * nM
    n_sep, n_sale, n_disp, n_stock = nM * nS * nT, len(idx_ds), len(disp) * nT, nP * nT
    o_mine = 0
    o_crack = o_mine + n_mine
    o_mixed = o_crack + n_crack
    o_sep = o_mixed + n_mixed
    o_sale = o_sep + n_sep
    o_disp = o_sale + n_sale
    o_stock = o_disp + n_disp
    o_sf = o_stock + n_stock
    n_col = o_sf + len(idx_sf)
    # column of each demand row's sale / shortfall (-1 where none)
    sale_col = np.full(nD, -1, np.int64)
    sale_col[idx_ds] = o_sale + np.arange(n_sale)
    sf_col = np.full(nD, -1, np.int64)
    sf_col[idx_sf] = o_sf + np.arange(len(idx_sf))
    dm_pos = np.full(nD, -1, np.int64)
    dm_pos[idx_dm] = np.arange(len(idx_dm))
    tt = np.arange(nT)

    def sep_col(m, s, t):
        return o_sep + (m * nS + s) * nT + t

    def crack_col(r, t):
        return o_crack + r * nT + t

    def mixed_col(a, m):
        return o_mixed + a * nM + m

    # --- objective -----------------------------------------------------------------------
    c = np.empty(n_col)
    c[o_mine:o_crack] = (-mcost[:, None] * df[None, :]).ravel()
    c[o_crack:o_mixed] = (-(tcost + ucC[r_c])[:, None] * df[None, :]).ravel()
    val_dm = df[dt[idx_dm]] * (dprice[idx_dm] + dpv[idx_dm])
    c[o_mixed:o_sep] = np.repeat(val_dm, nM)
    c[o_sep:o_sale] = np.broadcast_to(-ucS[None, :, None] * df[None, None, :],
                                      (nM, nS, nT)).ravel()
    c[o_sale:o_disp] = df[dt[idx_ds]] * (dprice[idx_ds] + dpv[idx_ds])
    dcost = np.fromiter((P.disposal_cost[p] for p in disp), float, len(disp))
    c[o_disp:o_stock] = (-dcost[:, None] * df[None, :]).ravel()
    hold = np.fromiter((P.holding_cost[p] for p in PR), float, nP)
    term = np.fromiter((P.terminal_value[p] for p in PR), float, nP)
    stock_c = -hold[:, None] * (df * Y)[None, :]
    stock_c[:, -1] += df[-1] * term
    c[o_stock:o_sf] = stock_c.ravel()
    c[o_sf:] = -df[dt[idx_sf]] * dpen[idx_sf]

    # --- rows, family by family ------------------------------------------------------------
    rows = _Rows()
    one = lambda n: np.ones(n)  # noqa: E731

    # 1 mine_capacity[m,t]
    k = np.arange(nM * nT)
    rows.family("mine_capacity", nM * nT, [(k, o_mine + k, one(len(k)))], -INF,
                capM * np.tile(Y, nM) * avail, lambda i: (MINES[i // nT], T[i % nT]))
    # 2 mine_dispatch[m,t]: Σ_c crack − mine = 0
    rr, t2 = _grid(np.arange(nR), tt)
    rows.family("mine_dispatch", nM * nT,
                [(r_m[rr] * nT + t2, crack_col(rr, t2), one(len(rr))), (k, o_mine + k, -one(len(k)))],
                0.0, 0.0, lambda i: (MINES[i // nT], T[i % nT]))
    # 3 cracking_capacity[c,t]
    rows.family("cracking_capacity", nC * nT, [(r_c[rr] * nT + t2, crack_col(rr, t2), one(len(rr)))],
                -INF, capC * np.tile(Y, nC), lambda i: (CR[i // nT], T[i % nT]))
    # 4 mixed_balance[m,t]: Σ mixed + Σ separate − Σ g rC crack = 0
    a, mm = _grid(np.arange(len(idx_dm)), np.arange(nM))
    ms, ss, ts = _grid(np.arange(nM), np.arange(nS), tt)
    rows.family("mixed_balance", nM * nT, [
        (mm * nT + dt[idx_dm][a], mixed_col(a, mm), one(len(a))),
        (ms * nT + ts, sep_col(ms, ss, ts), one(len(ms))),
        (r_m[rr] * nT + t2, crack_col(rr, t2), -(g[r_m] * rC[r_c])[rr])],
        0.0, 0.0, lambda i: (MINES[i // nT], T[i % nT]))
    # 5 separation_capacity[s,t]
    rows.family("separation_capacity", nS * nT, [(ss * nT + ts, sep_col(ms, ss, ts), one(len(ms)))],
                -INF, capS * np.tile(Y, nS), lambda i: (SE[i // nT], T[i % nT]))
    # 6 product_line_cap[s,p,t]
    sx = {s: i for i, s in enumerate(SE)}
    lines = list(P.cap_line_t.items())
    l_s = np.fromiter((sx[s] for (s, _, _), _ in lines), np.int64, len(lines))
    l_p = np.fromiter((pix[p] for (_, p, _), _ in lines), np.int64, len(lines))
    l_t = np.fromiter((tix[t] for (_, _, t), _ in lines), np.int64, len(lines))
    l_cap = np.fromiter((v for _, v in lines), float, len(lines))
    ent = []
    for p in np.unique(l_p):
        li = np.flatnonzero(l_p == p)
        mp = np.flatnonzero(SH[:, p])
        L, Mi = _grid(li, mp)
        ent.append((L, sep_col(Mi, l_s[L], l_t[L]), SH[Mi, p] * rS[l_s[L]]))
    rows.family("product_line_cap", len(lines), ent, -INF, l_cap * Y[l_t],
                lambda i: lines[i][0])
    # 7 product_balance[p,t]: stock − stock_prev − Σ out + Σ sale + dispose = init | 0
    pp, tp = _grid(np.arange(nP), tt)
    ent = [(pp * nT + tp, o_stock + pp * nT + tp, one(len(pp)))]
    prev = tp > 0
    ent.append(((pp * nT + tp)[prev], (o_stock + pp * nT + tp - 1)[prev], -one(int(prev.sum()))))
    mz, pz = np.nonzero(SH)
    Z, sz, tz = _grid(np.arange(len(mz)), np.arange(nS), tt)
    ent.append((pz[Z] * nT + tz, sep_col(mz[Z], sz, tz), -SH[mz[Z], pz[Z]] * rS[sz]))
    ent.append((dq[idx_ds] * nT + dt[idx_ds], sale_col[idx_ds], one(n_sale)))
    dpi = np.fromiter((pix[p] for p in disp), np.int64, len(disp))
    e_, te = _grid(np.arange(len(disp)), tt)
    ent.append((dpi[e_] * nT + te, o_disp + e_ * nT + te, one(len(e_))))
    init = np.fromiter((P.initial_stock_t[p] for p in PR), float, nP)
    rhs = np.zeros((nP, nT))
    rhs[:, 0] = init
    rows.family("product_balance", nP * nT, ent, rhs.ravel(), rhs.ravel(),
                lambda i: (PR[i // nT], T[i % nT]))
    # 8 storage_capacity[p,t]
    stor = sorted(P.storage_capacity_t.items())
    st_p = np.fromiter((pix[p] for p, _ in stor), np.int64, len(stor))
    st_cap = np.fromiter((v for _, v in stor), float, len(stor))
    q_, tq = _grid(np.arange(len(stor)), tt)
    rows.family("storage_capacity", len(stor) * nT,
                [(q_ * nT + tq, o_stock + st_p[q_] * nT + tq, one(len(q_)))], -INF,
                np.repeat(st_cap, nT), lambda i: (stor[i // nT][0], T[i % nT]))

    # sold[k,q,t] as entries over a set of demand rows (row numbers = position in `sel`)
    def sold_entries(sel):
        pos = np.arange(len(sel))
        out = []
        is_sale = dq[sel] >= 0
        out.append((pos[is_sale], sale_col[sel[is_sale]], one(int(is_sale.sum()))))
        mr = np.flatnonzero(~is_sale)
        if len(mr):
            A_, M_ = _grid(mr, np.arange(nM))
            out.append((A_, mixed_col(dm_pos[sel[A_]], M_), one(len(A_))))
        return out

    # 9 demand_max
    sel_max = np.flatnonzero(~np.isnan(dmax))
    rows.family("demand_max", len(sel_max), sold_entries(sel_max), -INF,
                dmax[sel_max] * Y[dt[sel_max]], lambda i: D[sel_max[i]])
    # 10 demand_min
    sel_min = np.flatnonzero(dmin > 0)
    ent = sold_entries(sel_min)
    if not strict:
        ent.append((np.arange(len(sel_min)), sf_col[sel_min], one(len(sel_min))))
    rows.family("demand_min", len(sel_min), ent, dmin[sel_min] * Y[dt[sel_min]], INF,
                lambda i: D[sel_min[i]])
    # 11 export_cap[p,t]: exported sales + exported MRECL content
    caps = list(P.export_cap_t.items())
    ent = []
    if caps:
        pos_of = {(pix[p], tix[t]): i for i, ((p, t), _) in enumerate(caps)}
        ex_sale = idx_ds[export[dk[idx_ds]]]
        hit = [(pos_of.get((int(q), int(t)), -1), j) for q, t, j in
               zip(dq[ex_sale], dt[ex_sale], sale_col[ex_sale])]
        hit = [h for h in hit if h[0] >= 0]
        if hit:
            hr, hc = np.array(hit, np.int64).T
            ent.append((hr, hc, one(len(hr))))
        ex_dm = idx_dm[export[dk[idx_dm]]]
        for i, ((p, t), _) in enumerate(caps):
            a_i = ex_dm[dt[ex_dm] == tix[t]]
            mp = np.flatnonzero(SH[:, pix[p]])
            if len(a_i) and len(mp):
                A_, M_ = _grid(dm_pos[a_i], mp)
                ent.append((np.full(len(A_), i), mixed_col(A_, M_), SH[M_, pix[p]]))
    cap_p_t = [(tix[t], v) for (_, t), v in caps]
    rows.family("export_cap", len(caps), ent, -INF,
                np.array([v * Y[t] for t, v in cap_p_t], float),
                lambda i: caps[i][0])
    # 12 thorium_storage[t]
    if P.thorium_storage_t is not None:
        has = th[r_m[rr]] > 0
        rows.family("thorium_storage", nT, [(t2[has], crack_col(rr, t2)[has], th[r_m[rr]][has])],
                    -INF, P.thorium_storage_t * Y, lambda i: (T[i],))

    r_all = np.concatenate(rows.parts_r)
    c_all = np.concatenate(rows.parts_c)
    v_all = np.concatenate(rows.parts_v)
    A = sp.csc_array((v_all, (r_all, c_all)), shape=(rows.n, n_col))
    A.sum_duplicates()

    col_blocks = [
        ("mine_t", o_mine, n_mine, lambda i: (MINES[i // nT], T[i % nT])),
        ("crack_t", o_crack, n_crack, lambda i: (*R[i // nT], T[i % nT])),
        ("mixed_sale_t", o_mixed, n_mixed,
         lambda i: (MINES[i % nM], D[idx_dm[i // nM]][0], D[idx_dm[i // nM]][2])),
        ("separate_t", o_sep, n_sep,
         lambda i: (MINES[i // (nS * nT)], SE[(i // nT) % nS], T[i % nT])),
        ("sale_t", o_sale, n_sale, lambda i: D[idx_ds[i]]),
        ("dispose_t", o_disp, n_disp, lambda i: (disp[i // nT], T[i % nT])),
        ("stock_t", o_stock, n_stock, lambda i: (PR[i // nT], T[i % nT])),
        ("shortfall_t", o_sf, len(idx_sf), lambda i: D[idx_sf[i]]),
    ]
    col_blocks = [b for b in col_blocks if b[2]]
    lp = RawLP(A=A, c=c, row_lower=np.concatenate(rows.lower),
               row_upper=np.concatenate(rows.upper), col_lower=np.zeros(n_col),
               col_upper=np.full(n_col, INF), col_blocks=col_blocks, row_blocks=rows.blocks)
    lp.data = dict(nT=nT, Y=Y, df=df, D=D, dk=dk, dq=dq, dt=dt, dmin=dmin, dprice=dprice,
                   dpv=dpv, dpen=dpen, sale_col=sale_col, sf_col=sf_col, dm_pos=dm_pos,
                   o_mixed=o_mixed, nM=nM, SH=SH, pix=pix, kix=kix, export=export,
                   sel_min=sel_min)
    return lp


def new_highs(lp: RawLP):
    """A ``highspy.Highs`` holding ``lp`` (maximise), passed with one ``passModel``."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    m = highspy.HighsLp()
    m.num_col_, m.num_row_ = lp.num_col, lp.num_row
    m.sense_ = highspy.ObjSense.kMaximize
    m.col_cost_, m.col_lower_, m.col_upper_ = lp.c, lp.col_lower, lp.col_upper
    m.row_lower_, m.row_upper_ = lp.row_lower, lp.row_upper
    A = lp.A
    m.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    m.a_matrix_.start_ = A.indptr.astype(np.int32)
    m.a_matrix_.index_ = A.indices.astype(np.int32)
    m.a_matrix_.value_ = A.data
    h.passModel(m)
    return h


def solve_lp(lp: RawLP):
    """(highs, status word, objective) after a cold solve."""
    h = new_highs(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus()).lower()
    return h, status, float(h.getInfo().objective_function_value)


def build_and_solve(P, strict: bool = False, probe=None) -> dict[str, Any]:
    """Build from Params, pass, solve cold and read the solution: the timed baseline.

    ``probe(stage)``, if given, is called between stages (e.g. memory readings); its time
    is not counted."""
    probe = probe or (lambda stage: None)
    t = time.perf_counter()
    lp = build_lp(P, strict=strict)
    d_build = time.perf_counter() - t
    probe("build")
    t = time.perf_counter()
    h = new_highs(lp)
    d_pass = time.perf_counter() - t
    probe("pass")
    t = time.perf_counter()
    h.run()
    d_run = time.perf_counter() - t
    t = time.perf_counter()
    sol = h.getSolution()
    x = np.asarray(sol.col_value)
    y = np.asarray(sol.row_dual)
    info = h.getInfo()
    d_read = time.perf_counter() - t
    probe("solve")
    t0, t1, t2 = 0.0, d_build, d_build + d_pass
    t3 = t2 + d_run
    t4 = t3 + d_read
    return {"lp": lp, "h": h, "x": x, "dual": y,
            "status": h.modelStatusToString(h.getModelStatus()).lower(),
            "objective": float(info.objective_function_value),
            "iterations": int(info.simplex_iteration_count),
            "build": t1 - t0, "pass": t2 - t1, "solve": t3 - t2, "read": t4 - t3,
            "total": t4 - t0}


class RawSweep:
    """Hot-started re-solves of one LP: the same edits and KPIs as the product's sweep rows.

    Scenarios are ``(treaty_min, price_factor)`` pairs: ``demand.min_t[customer=TREATY]``
    set to ``treaty_min`` (t/yr, every period) and ``demand.price[product=NDPR,
    customer!=EXCLUDE]`` multiplied by ``price_factor``. ``run(pairs, chunk)`` restarts
    from the base basis every ``chunk`` scenarios (``clearSolver`` + ``setBasis``) and
    hot-starts each other scenario from the one before: chunk=1 is "always from the base
    basis", chunk=len(pairs) is "fully chained". ``h`` must hold the solved base LP.
    """

    def __init__(self, P, lp: RawLP, h, *, treaty: str = "X_TREI", product: str = "NdPr",
                 exclude: str = "D_STRAT", ndpr: str = "NdPr"):
        d = lp.data
        self.h, self.lp = h, lp
        self.basis = h.getBasis()
        D, dk, dq, dt = d["D"], d["dk"], d["dq"], d["dt"]
        Y, df = d["Y"], d["df"]
        kix, pix = d["kix"], d["pix"]
        nM, o_mixed, dm_pos = d["nM"], d["o_mixed"], d["dm_pos"]
        n = lp.num_col
        # rows of the treaty minimum being swept
        min_row = {}
        fam = {f: (start, cnt) for f, start, cnt, _ in lp.row_blocks}
        if "demand_min" in fam:
            start, _ = fam["demand_min"]
            min_row = {int(s): start + i for i, s in enumerate(d["sel_min"])}
        sel = [i for i in range(len(D)) if dk[i] == kix[treaty] and i in min_row]
        self.t_rows = np.array([min_row[i] for i in sel], np.int32)
        self.t_years = Y[dt[sel]]
        # columns whose price is scaled
        ps = np.flatnonzero((dq == pix[product]) & (dk != kix.get(exclude, -1)))
        self.p_cols = d["sale_col"][ps].astype(np.int32)
        self.p_df, self.p_price, self.p_pv = df[dt[ps]], d["dprice"][ps], d["dpv"][ps]
        # KPI weights over columns
        is_sale = dq >= 0
        self.revenue = np.zeros(n)
        self.policy = np.zeros(n)
        self.penalty = np.zeros(n)
        self.ndpr_all = np.zeros(n)
        self.ndpr_dom = np.zeros(n)
        domestic = ~d["export"]
        w = df[dt] * d["dprice"]
        wp = df[dt] * d["dpv"]
        sc = d["sale_col"][is_sale]
        self.revenue[sc], self.policy[sc] = w[is_sale], wp[is_sale]
        nd = is_sale & (dq == pix.get(ndpr, -2))
        self.ndpr_all[d["sale_col"][nd]] = 1.0
        self.ndpr_dom[d["sale_col"][nd & domestic[dk]]] = 1.0
        mr = np.flatnonzero(~is_sale)
        mcols = (o_mixed + dm_pos[mr][:, None] * nM + np.arange(nM)[None, :])
        self.revenue[mcols] = w[mr][:, None]
        self.policy[mcols] = wp[mr][:, None]
        if ndpr in pix:
            content = np.broadcast_to(d["SH"][:, pix[ndpr]][None, :], mcols.shape)
            self.ndpr_all[mcols] = content
            self.ndpr_dom[mcols] = content * domestic[dk[mr]][:, None]
        sf = d["sf_col"] >= 0
        self.penalty[d["sf_col"][sf]] = (df[dt] * d["dpen"])[sf]
        # treaty delivery: rows = treaty demand rows with min > 0
        treaty_k = np.array([kix[k] for k, v in P.treaty.items() if v], np.int64)
        tr = np.flatnonzero(np.isin(dk, treaty_k) & (d["dmin"] > 0))
        self.tr_min = d["dmin"][tr] * Y[dt[tr]]
        self.tr_swept = np.flatnonzero(dk[tr] == kix[treaty])
        self.tr_swept_years = Y[dt[tr[self.tr_swept]]]
        ri, ci = [], []
        for i, dr in enumerate(tr):
            if dq[dr] >= 0:
                ri.append([i])
                ci.append([d["sale_col"][dr]])
            else:
                ri.append([i] * nM)
                ci.append(list(o_mixed + dm_pos[dr] * nM + np.arange(nM)))
        self.tr_matrix = sp.csr_array((np.ones(sum(map(len, ri))),
                                       (np.concatenate(ri) if ri else [],
                                        np.concatenate(ci) if ci else [])),
                                      shape=(len(tr), n))
        self.keep_rows = np.ones(lp.num_row, bool)
        for f, start, cnt, _ in lp.row_blocks:
            if f in BALANCES:
                self.keep_rows[start:start + cnt] = False
        self.inf = np.full(len(self.t_rows), INF)

    def reset(self) -> None:
        """Back to the base case's optimal basis, pricing weights and factors forgotten."""
        self.h.clearSolver()
        self.h.setBasis(self.basis)

    def run(self, pairs, chunk: int) -> list[dict[str, Any]]:
        out = []
        for k, (treaty_min, factor) in enumerate(pairs):
            if k % chunk == 0:
                self.reset()
            out.append(self.solve(treaty_min, factor))
        return out

    def solve(self, treaty_min: float, factor: float) -> dict[str, Any]:
        h = self.h
        h.changeRowsBounds(len(self.t_rows), self.t_rows, treaty_min * self.t_years, self.inf)
        price = self.p_price * factor
        h.changeColsCost(len(self.p_cols), self.p_cols, self.p_df * (price + self.p_pv))
        h.run()
        return self.kpis(treaty_min, price)

    def kpis(self, treaty_min: float, price: np.ndarray) -> dict[str, Any]:
        h = self.h
        info = h.getInfo()
        status = h.modelStatusToString(h.getModelStatus()).lower()
        row: dict[str, Any] = {"status": status,
                               "iterations": int(info.simplex_iteration_count)}
        if status != "optimal":
            return row
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        dual = np.asarray(sol.row_dual)
        xp = x[self.p_cols]
        row["objective"] = float(info.objective_function_value)
        row["revenue_pv"] = float(self.revenue @ x + (self.p_df * price
                                                      - self.revenue[self.p_cols]) @ xp)
        row["policy_value_pv"] = float(self.policy @ x)
        row["penalties_pv"] = -float(self.penalty @ x)
        total = float(self.ndpr_all @ x)
        row["domestic_ndpr_share"] = float(self.ndpr_dom @ x) / total if total > 1e-9 else None
        if len(self.tr_min):
            mins = self.tr_min.copy()
            mins[self.tr_swept] = treaty_min * self.tr_swept_years
            delivered = self.tr_matrix @ x
            committed = mins.sum()
            row["treaty_fulfilment_pct"] = (100.0 * np.minimum(delivered, mins).sum()
                                            / committed if committed > 1e-9 else None)
            short = float(np.maximum(mins - delivered, 0.0).sum())
            row["treaty_shortfall_t"] = short if short > 1e-6 else 0.0
        keep = np.flatnonzero(self.keep_rows & (np.abs(dual) > 1e-7))
        # rank by |dual| rounded to 9 significant digits, ties by row order (as the product)
        a = np.abs(dual[keep])
        e = np.floor(np.log10(a))
        mant = np.rint(a / 10.0 ** (e - 8))
        e = np.where(mant >= 1e9, e + 1, e)
        mant = np.where(mant >= 1e9, np.rint(mant / 10), mant)
        top = keep[np.lexsort((keep, -mant, -e))][:5]
        names = [self.lp.row_key(int(i)) for i in top]
        row["binding"] = "; ".join(f"{f}[{', '.join(idx)}]={dual[i]:.4g}"
                                   for (f, idx), i in zip(names, top))
        return row

