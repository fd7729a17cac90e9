"""Scaled synthetic instances of the IREL allocation model, as input frames.

``make_frames(size, seed=0)`` returns one DataFrame per sheet, named and shaped like the
bundled workbook (README, Input workbook reference), ready for ``ModelInputs.from_frames``. The instances keep the
base case's shape:

- mines, approved and pending (some pending with an approval period, some never), with
  mine-specific compositions for some and the default composition for the rest; ramped
  capacities for some (``capacity_profile``);
- one or a few cracking plants, reached along ``routes`` (each mine to its nearest few),
  and separation plants with an NdPr line cap (a tighter cap in the first period);
- products with composition summing to 1: the base case's ten (NdPr, Ce, La, Sm, Gd, Y,
  Eu, Dy, Tb, HRE) plus synthetic minor products at the larger sizes; NdPr with storage,
  holding cost and terminal value; HRE with zero storage and disposal;
- domestic magnet makers (NdPr; some with committed minimums and a policy penalty, some
  ramping up), La/Ce users, SmCo makers (Sm minimum), a strategic stock (policy value,
  no price), spot export buyers, and treaty buyers of MRECL (``X_TREI`` always exists);
- export caps on NdPr and Dy, a thorium storage limit, an 8 % discount rate.

Sizes (LP size printed by ``python benchmarks/generate.py``):

- small:  the base case's shape and size (7 mines, 7 yearly periods, ~400 columns);
- medium: 200 mines, 28 quarterly periods (years = 0.25), ~5·10^4 columns;
- large:  1,600 mines, 40 quarterly periods, ~10^6 columns (5 % of the mines with their
  own composition: every one of them makes the LP markedly harder, 30 % doubles the
  cold solve to ~400 s).

Every instance is feasible and solves optimal in elastic mode (checked by ``--check``).
The same seed always gives the same frames.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Shape:
    mines: int
    cracking: int
    separation: int
    extra_products: int
    magnet: int
    lace: int
    repm: int
    strat: int
    spot: int
    treaty: int
    periods: int
    years: float
    routes_per_mine: int
    own_composition: float
    """Fraction of mines with their own composition rows (the rest use the default)."""


SIZES: dict[str, Shape] = {
    "small": Shape(mines=7, cracking=1, separation=1, extra_products=0, magnet=3, lace=1,
                   repm=1, strat=1, spot=1, treaty=1, periods=7, years=1.0,
                   routes_per_mine=1, own_composition=0.0),
    "medium": Shape(mines=200, cracking=3, separation=3, extra_products=4, magnet=60,
                    lace=20, repm=10, strat=2, spot=8, treaty=2, periods=28, years=0.25,
                    routes_per_mine=2, own_composition=0.3),
    "large": Shape(mines=1600, cracking=10, separation=6, extra_products=10, magnet=500,
                   lace=150, repm=60, strat=5, spot=30, treaty=4, periods=40, years=0.25,
                   routes_per_mine=3, own_composition=0.05),
}

# The base case's default composition (t product per t REO) and spot prices (USD/t).
BASE_SHARES = {"NdPr": 0.241, "Ce": 0.485, "La": 0.225, "Sm": 0.027, "Gd": 0.012,
               "Y": 0.004, "Eu": 0.001, "Dy": 0.0015, "Tb": 0.0003, "HRE": 0.0032}
SPOT_PRICE = {"La": 900, "Ce": 1700, "Sm": 2000, "Gd": 22000, "Y": 8000, "Eu": 28000,
              "Dy": 300000, "Tb": 1000000}


def _periods(shape: Shape) -> list[str]:
    if shape.years == 1.0:
        return [f"FY{2026 + i}" for i in range(shape.periods)]
    per_year = round(1 / shape.years)
    return [f"{2026 + i // per_year}Q{i % per_year + 1}" for i in range(shape.periods)]


def make_frames(size: str, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Input frames (same schema as the workbook) of a ``small``/``medium``/``large`` instance."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    shape = SIZES[size]
    rng = np.random.default_rng([seed, list(SIZES).index(size)])
    T = _periods(shape)
    n_t = len(T)
    scale = shape.mines / 7.0  # everything commercial scales with the monazite supply

    # --- products and composition ------------------------------------------------------
    extra = [f"R{i + 11:02d}" for i in range(shape.extra_products)]
    base_sh = dict(BASE_SHARES)
    if extra:  # minor products carved out of Ce (keeps NdPr and La as in the base case)
        carve = 0.02
        base_sh["Ce"] -= carve
        w = rng.uniform(0.5, 1.5, len(extra))
        for p, s in zip(extra, carve * w / w.sum()):
            base_sh[p] = float(s)
    products = list(base_sh)
    spot_price = dict(SPOT_PRICE)
    for p in extra:
        spot_price[p] = float(np.round(rng.uniform(3000, 60000), -2))

    mine_ids = [f"M{i + 1:04d}" for i in range(shape.mines)]
    if size == "small":  # the base case's three approved and four pending mines
        cap = np.array([3000, 1200, 800, 1500, 800, 1500, 1000], float)
        approved = np.array([1, 1, 1, 0, 0, 0, 0], bool)
        start = [None, None, None, 3, 4, 5, None]
    else:
        cap = np.round(rng.uniform(500, 3000, shape.mines), -1)
        approved = rng.random(shape.mines) < 0.45
        start = []
        for ok in approved:
            if ok:
                start.append(int(rng.integers(1, n_t // 3)) if rng.random() < 0.1 else None)
            else:
                start.append(None if rng.random() < 0.15 else int(rng.integers(2, n_t)))
    grade = np.round(rng.uniform(0.55, 0.61, shape.mines), 3) if size != "small" \
        else np.full(shape.mines, 0.58)
    tho2 = np.round(rng.uniform(0.07, 0.095, shape.mines), 4) if size != "small" \
        else np.full(shape.mines, 0.085)
    mining_cost = np.round(rng.uniform(250, 350, shape.mines)) if size != "small" \
        else np.full(shape.mines, 300.0)
    mines = pd.DataFrame({
        "mine": mine_ids,
        "name": [f"Synthetic mine {i + 1}" for i in range(shape.mines)],
        "capacity_t": cap,
        "reo_grade": grade,
        "tho2_grade": tho2,
        "mining_cost": mining_cost,
        "status": np.where(approved, "approved", "pending"),
        "approved_from": [None if s is None else T[s] for s in start],
    })

    comp_rows = [{"mine": None, "product": p, "share": s} for p, s in base_sh.items()]
    n_own = int(round(shape.own_composition * shape.mines))
    for i in sorted(rng.choice(shape.mines, n_own, replace=False)) if n_own else []:
        s = np.array([base_sh[p] for p in products]) * rng.lognormal(0.0, 0.15, len(products))
        s /= s.sum()
        s[0] += 1.0 - s.sum()  # exact to the last bit: shares must sum to 1 ± 1e-6
        comp_rows += [{"mine": mine_ids[i], "product": p, "share": float(v)}
                      for p, v in zip(products, s)]
    composition = pd.DataFrame(comp_rows)

    # --- plants and routes ---------------------------------------------------------------
    total_cap = cap.sum()
    crack_ids = ["P_MOPP"] if shape.cracking == 1 else [f"C{i + 1:02d}"
                                                       for i in range(shape.cracking)]
    sep_ids = ["P_RED"] if shape.separation == 1 else [f"S{i + 1:02d}"
                                                      for i in range(shape.separation)]
    reo_total = float((cap * grade).sum()) * 0.86
    sep_total = 0.25 * reo_total if size == "small" else 0.45 * reo_total
    if size == "small":
        crack_cap = np.array([10000.0])
        sep_cap = np.array([2500.0])
        sep_total = 2500.0
    else:
        crack_cap = np.round(1.1 * total_cap * rng.dirichlet(np.full(shape.cracking, 8.0)), -1)
        sep_cap = np.round(sep_total * rng.dirichlet(np.full(shape.separation, 8.0)), -1)
    plants = pd.DataFrame(
        [{"plant": c, "name": f"Cracking plant {c}", "stage": "cracking", "capacity_t": k,
          "recovery": 0.86, "unit_cost": 600.0 if size == "small"
          else float(np.round(rng.uniform(550, 650)))} for c, k in zip(crack_ids, crack_cap)]
        + [{"plant": s, "name": f"Separation plant {s}", "stage": "separation",
            "capacity_t": k, "recovery": 0.95 if size == "small"
            else float(np.round(rng.uniform(0.93, 0.97), 3)),
            "unit_cost": 5000.0 if size == "small"
            else float(np.round(rng.uniform(4500, 5500)))} for s, k in zip(sep_ids, sep_cap)])

    route_rows = []
    pos_m = rng.random(shape.mines)
    pos_c = np.sort(rng.random(shape.cracking))
    for i, m in enumerate(mine_ids):
        near = np.argsort(np.abs(pos_c - pos_m[i]))[:shape.routes_per_mine]
        for j in sorted(near):
            cost = 0.0 if (size == "small" and i == 0) else \
                float(np.round(20 + 200 * abs(pos_c[j] - pos_m[i])))
            route_rows.append({"mine": m, "plant": crack_ids[j], "transport_cost": cost})
    routes = pd.DataFrame(route_rows)

    # --- capacity profile: ramps of a few new mines, one plant outage ------------------
    prof = []
    if size != "small":
        for i in rng.choice(shape.mines, max(1, shape.mines // 10), replace=False):
            first = start[i] if start[i] is not None else 0
            for k in range(first, min(first + 2, n_t)):
                prof.append({"entity": mine_ids[i], "period": T[k],
                             "capacity_t": float(np.round(cap[i] * 0.5 * (k - first + 1), -1))})
        prof.append({"entity": sep_ids[0], "period": T[n_t // 2],
                     "capacity_t": float(np.round(sep_cap[0] * 0.6, -1))})
    capacity_profile = pd.DataFrame(prof, columns=["entity", "period", "capacity_t"])

    # --- product caps: the NdPr line of each separation plant ------------------------
    pc = []
    for s, k in zip(sep_ids, sep_cap):
        full = 800.0 if size == "small" else float(np.round(0.28 * k, -1))
        pc.append({"plant": s, "product": "NdPr", "period": None, "max_t": full})
        pc.append({"plant": s, "product": "NdPr", "period": T[0],
                   "max_t": 600.0 if size == "small" else float(np.round(0.75 * full, -1))})
        if size == "large":
            pc.append({"plant": s, "product": "Tb", "period": None,
                       "max_t": float(np.round(0.0004 * k, 2))})
    product_caps = pd.DataFrame(pc)

    # --- products sheet --------------------------------------------------------------
    prod_rows = []
    for p in products:
        row = {"product": p, "name": f"{p} oxide", "storage_capacity_t": None,
               "holding_cost": 20.0, "initial_stock_t": 0.0, "disposal_cost": None,
               "terminal_value": 0.0}
        if p == "NdPr":
            row.update(storage_capacity_t=float(np.round(1000 * scale)), holding_cost=2000.0,
                       initial_stock_t=float(np.round(500 * scale)), terminal_value=60000.0)
        elif p in ("Ce", "La"):
            row.update(disposal_cost=100.0)
        elif p == "HRE":
            row.update(storage_capacity_t=0.0, disposal_cost=200.0)
        elif p in extra and rng.random() < 0.5:
            row.update(disposal_cost=float(np.round(rng.uniform(50, 300))))
        prod_rows.append(row)
    products_df = pd.DataFrame(prod_rows)

    # --- customers and demand ---------------------------------------------------------
    cust, dem = [], []
    ndpr_supply = sep_total * 0.95 * base_sh["NdPr"]  # t/yr if every plant separates fully
    treaty_min_total = 1000.0 if size == "small" else 0.2 * reo_total
    approved_reo = float((cap * grade)[approved].sum()) * 0.86

    def d(k, q, period=None, min_t=0.0, max_t=None, price=0.0, pv=0.0, pen=None):
        dem.append({"customer": k, "product": q, "period": period, "min_t": min_t,
                    "max_t": max_t, "price": price, "policy_value": pv,
                    "shortfall_penalty": pen})

    tw = rng.dirichlet(np.full(shape.treaty, 5.0)) if shape.treaty > 1 else np.ones(1)
    for i in range(shape.treaty):
        k = "X_TREI" if i == 0 else f"X_TREI{i + 1}"
        cust.append({"customer": k, "kind": "export", "treaty": True, "country": "Japan"})
        lo = float(np.round(treaty_min_total * tw[i], 1))
        d(k, "MRECL", None, lo, float(np.round(2.5 * lo, 1)),
          11000.0 if i == 0 else float(np.round(rng.uniform(10500, 11500))), pen=1e6)

    mw = rng.dirichlet(np.full(shape.magnet, 3.0)) if shape.magnet > 1 else np.ones(1)
    for i in range(shape.magnet):
        k = f"D_MAG{i + 1:03d}"
        cust.append({"customer": k, "kind": "domestic", "treaty": False, "country": "India"})
        hi = float(np.round(1.6 * ndpr_supply * mw[i], 1))
        price = 80000.0 if size == "small" else float(np.round(rng.uniform(72000, 88000), -2))
        if i == 0 or rng.random() < 0.3:  # a scheme beneficiary: committed minimum
            lo = float(np.round(0.3 * hi, 1)) if i else float(np.round(0.9 * hi, 1))
            d(k, "NdPr", None, lo, hi, price, pen=20000.0)
            ramp = 2 if size == "small" else int(rng.integers(1, 5))
            for t in T[:ramp]:
                d(k, "NdPr", t, 0.0, 0.0, price, pen=20000.0)
        else:
            d(k, "NdPr", None, 0.0, hi, price)
            if rng.random() < 0.4:  # ramping up
                for n, t in enumerate(T[:int(rng.integers(1, 4))]):
                    d(k, "NdPr", t, 0.0, float(np.round(hi * 0.3 * n, 1)), price)

    for i in range(shape.strat):
        k = "D_STRAT" if i == 0 else f"D_STRAT{i + 1}"
        cust.append({"customer": k, "kind": "domestic", "treaty": False, "country": "India"})
        d(k, "NdPr", None, 0.0, None, 0.0, pv=60000.0 if i == 0
          else float(np.round(rng.uniform(50000, 65000), -2)))
        if i and "Dy" in products:
            d(k, "Dy", None, 0.0, None, 0.0, pv=float(np.round(rng.uniform(2e5, 3e5), -3)))

    for i in range(shape.repm):
        k = f"D_REPM{i + 1:02d}"
        cust.append({"customer": k, "kind": "domestic", "treaty": False, "country": "India"})
        lo = float(np.round(scale / shape.repm, 3))
        d(k, "Sm", None, lo, 1.5 * lo, 5000.0 if size == "small"
          else float(np.round(rng.uniform(4500, 5500))))

    for i in range(shape.lace):
        k = f"D_LACE{i + 1:02d}"
        cust.append({"customer": k, "kind": "domestic", "treaty": False, "country": "India"})
        f = scale / shape.lace
        d(k, "La", None, 0.0, float(np.round(300 * f, 1)), 900.0)
        d(k, "Ce", None, 0.0, float(np.round(500 * f, 1)), 1700.0)
        for p in extra:
            if rng.random() < 0.2:
                d(k, p, None, 0.0, float(np.round(50 * f, 2)),
                  float(np.round(spot_price[p] * 1.05, -1)))

    spot_sells = [p for p in products if p not in ("NdPr", "HRE")]
    for i in range(shape.spot):
        k = "X_SPOT" if i == 0 else f"X_SPOT{i + 1:02d}"
        cust.append({"customer": k, "kind": "export", "treaty": False, "country": "World"})
        sells = spot_sells if i == 0 else [p for p in spot_sells if rng.random() < 0.5]
        for p in sells:
            price = spot_price[p] if i == 0 else float(np.round(spot_price[p]
                                                                 * rng.uniform(0.85, 1.1), -1))
            d(k, p, None, 0.0, None if i == 0 else float(np.round(
                scale * 7 * base_sh[p] * 100, 2)), price)
        if i and rng.random() < 0.5:  # foreign magnet makers bid for NdPr
            d(k, "NdPr", None, 0.0, float(np.round(0.05 * ndpr_supply, 1)),
              float(np.round(rng.uniform(70000, 95000), -2)))

    customers = pd.DataFrame(cust)
    customers.insert(1, "name", [f"Synthetic {c}" for c in customers["customer"]])
    demand = pd.DataFrame(dem)

    # --- export caps, settings, periods ---------------------------------------------------
    ex = []
    if size != "small":
        ndpr_cap = float(np.round(2.5 * treaty_min_total * 0.3 + 0.1 * ndpr_supply, -1))
        ex.append({"product": "NdPr", "period": None, "max_t": ndpr_cap})
        ex.append({"product": "NdPr", "period": T[-1], "max_t": float(np.round(0.8 * ndpr_cap, -1))})
        ex.append({"product": "Dy", "period": None,
                   "max_t": float(np.round(2.5 * treaty_min_total * 0.004, 2))})
    export_caps = pd.DataFrame(ex, columns=["product", "period", "max_t"])

    thorium = 1000.0 if size == "small" else float(np.round(
        0.7 * float((cap * tho2).sum()), -1))
    settings = pd.DataFrame([
        {"key": "currency", "value": "USD"},
        {"key": "discount_rate", "value": 0.08},
        {"key": "default_shortfall_penalty", "value": 1e6},
        {"key": "thorium_storage_t", "value": thorium},
        {"key": "strict", "value": "false"},
    ])
    periods = pd.DataFrame({"period": T, "years": shape.years})
    del approved_reo
    return {"settings": settings, "periods": periods, "mines": mines,
            "composition": composition, "plants": plants,
            "capacity_profile": capacity_profile, "routes": routes,
            "product_caps": product_caps, "products": products_df, "customers": customers,
            "demand": demand, "export_caps": export_caps}


def make_inputs(size: str, seed: int = 0):
    """``ModelInputs`` of a synthetic instance (validated like any workbook)."""
    from optimizer.inputs import ModelInputs

    return ModelInputs.from_frames(make_frames(size, seed), source=f"synthetic-{size}-{seed}")


def lp_size(params, strict: bool = False) -> tuple[int, int, int]:
    """(columns, rows, nonzeros) of the LP, from the raw builder (no Pyomo)."""
    from raw_highspy import build_lp  # noqa: E402  (benchmarks/ is on sys.path)

    lp = build_lp(params, strict=strict)
    return lp.num_col, lp.num_row, lp.nnz


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", default=["small", "medium", "large"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true",
                    help="also solve each instance (raw highspy) and assert it is optimal")
    args = ap.parse_args(argv)
    from raw_highspy import build_lp, solve_lp

    print(f"{'size':8} {'columns':>10} {'rows':>10} {'nonzeros':>11} {'frames s':>9} "
          f"{'validate s':>10}" + (f" {'status':>8} {'objective':>18} {'solve s':>8}"
                                   if args.check else ""))
    for size in args.sizes:
        t0 = time.perf_counter()
        frames = make_frames(size, args.seed)
        t1 = time.perf_counter()
        from optimizer.inputs import ModelInputs

        inputs = ModelInputs.from_frames(frames, source=f"synthetic-{size}")
        P = inputs.params
        t2 = time.perf_counter()
        lp = build_lp(P, strict=inputs.strict)
        line = (f"{size:8} {lp.num_col:>10,} {lp.num_row:>10,} {lp.nnz:>11,} {t1 - t0:>9.2f} "
                f"{t2 - t1:>10.2f}")
        if args.check:
            t3 = time.perf_counter()
            h, status, obj = solve_lp(lp)
            line += f" {status:>8} {obj:>18,.2f} {time.perf_counter() - t3:>8.2f}"
            assert status == "optimal", f"{size}: {status}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
    sys.exit(main())
