"""Write inputs/base_case.xlsx, the bundled IREL base case (docs/data_sources.md explains every figure).

Run from the repository root:  python inputs/make_base_case.py
Needs openpyxl and the optimizer package (for the header comments and dropdowns). The output is byte-for-byte deterministic (fixed document and zip dates).

Units: t per year for quantities, USD per t for money (the sources quote USD/kg; x1000).
Every figure is cited on the `sources` sheet; its `see` column names the section of
docs/data_sources.md that gives the source, its address and the reasoning.
"""
from __future__ import annotations

import io
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout: use the package beside it
    sys.path.insert(0, str(ROOT))
from optimizer.template import annotate_workbook  # noqa: E402  (after the path fix)

OUT = ROOT / "inputs" / "base_case.xlsx"
SEE = "docs/data_sources.md#{}"
"""Where a figure's source, address and reasoning are given (a heading of that file)."""
FIXED = datetime(2026, 1, 1)
PERIODS = [f"FY{y}" for y in range(2026, 2033)]

# --- citations: key -> (kind, short label for a row's `source` cell, detail for `sources`) ----
A = "assumption"
CITES = {
    "horizon": (A, "Model setting: planning horizon", "FY2026-FY2032 in annual periods"),
    "usd": ("sourced", "Price quotes in USD/kg", "here x1000 = USD/t (1 USD = 7.2 CNY ~ 86 INR)"),
    "disc": (A, "ASSUMPTION: 8 % hurdle rate", "typical Indian public-sector project hurdle rate; no IREL figure"),
    "defpen": (A, "ASSUMPTION: the tool's default penalty", "1e6 USD/t makes a minimum without its own penalty effectively hard"),
    "thorium": (A, "ASSUMPTION: TH_STORE", "1,000 t ThO2/yr store; max 8,800 t monazite x 0.085 = 748 t, so slack"),
    "strict": (A, "Model setting", "elastic mode: minimums may be missed at their penalty and are reported"),
    "mine_op": ("sourced", "IREL operating unit", "PIB/DAE 12 Mar 2015; IREL unit profile 2012; Rajya Sabha Mar 2025"),
    "mine_pend": ("sourced", "Reuters 13 Jun 2025", "'awaiting statutory clearances at four mines'; identity INFERRED"),
    "cap_op": (A, "ASSUMPTION: split of ~5,000 t/yr", "split of ~5,000 t/yr monazite (Business Standard 14 Jun 2025)"),
    "cap_new": (A, "ASSUMPTION: pending-mine yield", "monazite t/yr once online; no public figure"),
    "online": (A, "ASSUMPTION: approval year", "no clearance date announced; blank = not yet scheduled"),
    "reo": ("sourced", "PIB PRID 1914305", "REO is 55-60 % of Indian monazite (DAE, c. Apr 2023); 58 % used"),
    "th": ("sourced", "IREL; IAEA SRS-68", "ThO2 ~8 % (IREL), Indian monazite 6-11 %; 8.5 % used"),
    "minecost": (A, "ASSUMPTION: mining cost 300 USD/t", "mining + mineral separation attributable to monazite; unpublished"),
    "comp": ("sourced", "giti.sg spec, XB/T 104-2000", "typical monazite RE distribution, % of REO"),
    "comp_ndpr": ("derived", "Nd2O3 18.5 % + Pr6O11 5.6 %", "NdPr share DERIVED from the XB/T 104-2000 spec"),
    "comp_a": (A, "ASSUMPTION: split of 'others' 1.0 %", "split of the spec's 1.0 % others; HRE unsaleable"),
    "mopp_cap": ("sourced", "PIB/DAE 12 Mar 2015", "MoPP 10,000 t/yr monazite -> 11,000 t/yr MRECL ~ 5,000 t REO"),
    "mopp_rec": ("derived", "DERIVED from MoPP design", "5,000 t REO / (10,000 t x 0.58) = 0.86"),
    "mopp_cost": (A, "ASSUMPTION: $0.6/kg monazite", "cracking cost per t monazite"),
    "red_cap": ("derived", "PIB/DAE 12 Mar 2015", "RED processes 5,500 t/yr MRECL x ~45 % REO ~ 2,500 t REO (DERIVED)"),
    "red_rec": (A, "ASSUMPTION: SX recovery 0.95", "industry range 90-99 %"),
    "red_cost": (A, "ASSUMPTION: $5/kg REO", "separation cost per t REO fed"),
    "stage": ("sourced", "PIB/DAE 12 Mar 2015", "MoPP cracks monazite; RED Aluva separates MRECL"),
    "haul0": (A, "ASSUMPTION: on-site feed", "OSCOM monazite is cracked at the OSCOM MoPP"),
    "haul_near": (A, "ASSUMPTION: 20 USD/t haul", "~200 km road to OSCOM"),
    "haul_far": (A, "ASSUMPTION: 80 USD/t haul", "~1,800 km rail to OSCOM at ~35 USD/t, x2 for AERB-compliant handling"),
    "ndpr_cap": ("sourced", "Gazette S.O. 5800(E), 15 Dec 2025", "IREL NdPr oxide capacity 400 t/yr (energetica-india, 18 Dec 2025)"),
    "ndpr_ramp": (A, "ASSUMPTION: NdPr line expansion", "600 t FY2027 (~500 t Nd by end FY27 ~ 650 t NdPr, BS 9 Nov 2025); "
                  "800 t/yr FY2028+ (Nd output 'doubling by 2030', Reuters 13 Jun 2025)"),
    "stock_ndpr": ("sourced", "Gazette S.O. 5800(E)", "500 t NdPr oxide stock (energetica-india, 18 Dec 2025)"),
    "stock0": (A, "ASSUMPTION: no opening stock", "other opening stocks 0"),
    "store_ndpr": (A, "ASSUMPTION: 1,000 t NdPr storage", "strategic store size"),
    "store_hre": (A, "ASSUMPTION: HRE residue not stored", "residue goes to disposal in the period it is made"),
    "hold_ndpr": (A, "ASSUMPTION: $2/kg/yr holding", "secure storage and insurance of NdPr oxide"),
    "hold": (A, "ASSUMPTION: 20 USD/t/yr warehousing", "physical storage only; cost of capital is in the discount rate"),
    "disp": (A, "ASSUMPTION: disposal 100 USD/t", "tailings/landfill handling of surplus Ce/La oxide or carbonate"),
    "disp_hre": (A, "ASSUMPTION: disposal 200 USD/t", "HRE residue to a licensed residue store"),
    "tv_ndpr": (A, "ASSUMPTION: shadow value $60/kg", "strategic value of NdPr left in stock at the horizon"),
    "tv0": (A, "ASSUMPTION: no terminal value", "by-product stock is worth nothing at the horizon"),
    "scheme": ("sourced", "Gazette S.O. 5800(E); Mint 12 Jan 2026", "IREL supplies 500 t/yr NdPr oxide to bidders L1-L3"),
    "midwest": ("sourced", "Business Standard 8 Jun 2025", "Midwest Advanced Materials NdFeB plant, Hyderabad"),
    "sona": ("sourced", "Autocar Pro / Reuters 30 Jun 2025", "Sona Comstar announced plans to make magnets"),
    "repm": ("sourced", "yovizag May 2023", "IREL REPM plant, Visakhapatnam, 3 t/yr SmCo"),
    "lace": (A, "ASSUMPTION: domestic La/Ce users", "catalysts, glass polishing, mischmetal"),
    "strat": (A, "ASSUMPTION: DAE/NCMM strategic stock", "strategic stockpile buyer of NdPr and of the China-controlled Sm, Dy, Tb"),
    "trei": ("sourced", "Bloomberg 30 Oct 2013; Reuters 2014, 13 Jun 2025", "2012 G2G deal; TREI separates and ships to Japan"),
    "spot": ("sourced", "SMM / USGS / Argus spot quotes", "world spot market, FOB India ~ FOB China"),
    "trei_min": ("sourced", "Reuters 13 Jun 2025", ">1,000 t to Japan in 2024; 'at least 1,000 t/yr' (Reuters 28 Aug 2014); read as t REO"),
    "trei_max": ("sourced", "Reuters 28 Aug 2014; Bloomberg 30 Oct 2013", "treaty share 'equally share the 5,000 t' = 2,500 t REO/yr, "
                 "above TREI's reported output of 2,000-2,300 t/yr (Reuters 28 Aug 2014): the buyer's 2,300 t is the limit"),
    "trei_price": (A, "ASSUMPTION: 0.6 x basket", "terms undisclosed; 0.6 x contained value = $9-13.5/kg REO; midpoint ~$11"),
    "trei_pen": (A, "ASSUMPTION: treaty is binding", "1e6 USD/t so that the base case never breaches the G2G minimum"),
    "gestation": ("derived", "RFP ~20 Mar 2026 + 2-yr gestation", "scheme RFP issued ~20 Mar 2026 (PTI); award in FY2027 (ASSUMED) "
                  "+ 2-yr gestation (Cabinet 26 Nov 2025) -> offtake from FY2029"),
    "scheme_pen": (A, "ASSUMPTION: policy penalty 20,000 USD/t", "a policy commitment, softer than the treaty"),
    "p_ndpr26": ("derived", "NdPr FY2026 $88/kg: mean of the year's quotes", "Apr 2025-Mar 2026: $63 (9 Jul 2025), ~$88 (Aug, SMM), "
                 "$82.5-85 (Europe, Argus 25 Sep), ~$82 (SMM 25 Dec), ~$123 (Feb 2026) -> mean $88/kg"),
    "p_ndpr27": ("sourced", "NdPr $123/kg: Feb 2026", "China CNY 850k/t ~ $123/kg, highest since Jul 2022 (Reuters via energynews.oedigital, "
                 "19 Feb 2026): the latest quote before FY2027"),
    "p_ndpr": (A, "ASSUMPTION: NdPr $123/kg held", "no forecast in the sources: the Feb 2026 quote is held flat from FY2028"),
    "mw_vol": ("derived", "BS 8 Jun 2025 x 0.33", "500 -> 5,000 t/yr magnet x 0.33 t oxide/t (ratio DERIVED from Gazette 400 t : 1,200 t)"),
    "mw_ramp": (A, "ASSUMPTION: Midwest ramp", "intermediate years 500 t (FY2027) and 1,000 t (FY2028) between 165 and 1,650"),
    "sona_vol": (A, "ASSUMPTION: Sona offtake", "0 until FY2027, 200 t/yr from FY2028 (announced intent only)"),
    "strat_pv": (A, "ASSUMPTION: strategic shadow value", "no cap; price 0 and policy_value 60,000 USD/t: a strategic stock earns no cash"),
    "strat_sm": (A, "ASSUMPTION: strategic Sm stock", "up to 10 t/yr Sm2O3 (~30 t/yr of SmCo magnets, ten times the REPM plant); "
                 "policy value $10/kg (no ex-China quote; China licenses Sm exports since 4 Apr 2025)"),
    "strat_dy": (A, "ASSUMPTION: strategic Dy at the ex-China price", "policy value $700/kg, low end of Europe $700-1,000 (Argus 6 May 2025) "
                 "after China's 4 Apr 2025 licensing; no maximum (Dy/Tb-doped NdFeB for the 6,000 t/yr magnet scheme)"),
    "strat_tb": (A, "ASSUMPTION: strategic Tb at the ex-China price", "policy value $2,000/kg, low end of Europe $2,000-4,000 (Argus May 2025) "
                 "after China's 4 Apr 2025 licensing; no maximum"),
    "repm_vol": ("derived", "yovizag 2023 x 0.35", "3 t/yr SmCo x ~0.35 t Sm2O3/t (ratio ASSUMED) ~ 1 t/yr; max 1.5 t/yr allows for a ramp (ASSUMED)"),
    "repm_price": (A, "ASSUMPTION: transfer price $5/kg", "internal transfer price"),
    "lace_vol": (A, "ASSUMPTION: 300 t La, 500 t Ce", "domestic La/Ce volumes"),
    "spot_vol": (A, "ASSUMPTION: spot is open", "no minimum, no maximum"),
    "p_la": ("sourced", "La $0.6/kg: SMM 2025", "China CNY 4,200-4,700/t ~ $0.58-0.65/kg (Mar-Dec 2025) incl. 13 % VAT; low end used"),
    "p_ce": ("sourced", "Ce $1.7/kg: SMM 2025", "China CNY 11-13k/t ~ $1.5-1.8/kg; FOB $1,677-1,762/t"),
    "p_sm": (A, "ASSUMPTION: Sm $2/kg", "China list ~$1.7/kg (2020); no reliable ex-China quote"),
    "p_gd": ("sourced", "Gd $22/kg: SMM Jan-Feb 2025", "CNY 155-164k/t ~ $21.5-23/kg"),
    "p_y": ("sourced", "Y $8/kg: SMM Mar 2025", "CNY 55-57k/t ~ $7.6/kg; Adamas ~$6.5"),
    "p_eu": (A, "ASSUMPTION: Eu $28/kg", "no 2025 quote found"),
    "p_dy": ("sourced", "Dy $300/kg: SMM Dec 2025", "FOB $267-307/kg; USGS 2024 avg $260"),
    "p_tb": ("sourced", "Tb $1,000/kg: Argus Apr 2025", "Europe $930-1,000/kg; China $820-860; USGS 2024 $810"),
    "sc_none": (A, "What-if: no change", "re-asserts the default; changes nothing"),
    "sc_reneg": (A, "What-if: renegotiated treaty", "treaty min 500, max 1,500 t/yr; NdPr exports to non-treaty buyers capped at 100 t/yr "
                 "(a cap on all NdPr content would contradict the minimum: 500 t MRECL carry 120.5 t NdPr)"),
    "sc_susp": (A, "What-if: negotiated suspension", "no TREI minimum and no deliveries from FY2027"),
    "sc_breach": (A, "ASSUMPTION: breach cost 5,000 USD/t ($5/kg)", "the source notes' example of a breach cost; no public figure. "
                  "Diverting MRECL from TREI pays below ~15,000 USD/t (sweep of the penalty)"),
    "sc_conserve": ("sourced", "Reuters 13 Jun 2025", "Goyal asked IREL to stop exporting neodymium"),
    "sc_fast": (A, "ASSUMPTION: fast approvals", "clearances arrive 1-2 years earlier than the base case"),
    "sc_slow": (A, "ASSUMPTION: delayed approvals", "clearances slip to the last period of the horizon"),
    "sc_floor": ("sourced", "US DoD-MP Materials floor $110/kg", "Jul 2025 NdPr price floor"),
    "unc_prob": (A, "ASSUMPTION: approval odds", "planner's odds that clearances come as in the base case (0.5), "
                 "1-2 years earlier (0.2) or slip to FY2032 (0.3); no official estimate exists"),
}

SECTIONS = {  # heading of docs/data_sources.md -> the citation keys it explains
    "settings-and-horizon": "horizon disc defpen thorium strict",
    "conventions": "usd",
    "mines": "mine_op mine_pend cap_op cap_new online minecost",
    "monazite-grade-and-composition": "reo th comp comp_ndpr comp_a",
    "plants-and-routes": "mopp_cap mopp_rec mopp_cost red_cap red_rec red_cost stage haul0 haul_near haul_far "
                         "ndpr_cap ndpr_ramp",
    "products-and-stocks": "stock_ndpr stock0 store_ndpr store_hre hold_ndpr hold disp disp_hre tv_ndpr tv0",
    "domestic-buyers": "scheme midwest sona repm lace strat gestation scheme_pen mw_vol mw_ramp sona_vol strat_pv "
                       "strat_sm strat_dy strat_tb repm_vol repm_price lace_vol",
    "treaty": "trei trei_min trei_max trei_price trei_pen",
    "prices-and-the-spot-market": "spot p_ndpr26 p_ndpr27 p_ndpr spot_vol p_la p_ce p_sm p_gd p_y p_eu p_dy p_tb",
    "scenarios": "sc_none sc_reneg sc_susp sc_breach sc_conserve sc_fast sc_slow sc_floor unc_prob",
}
SECTION_OF = {key: section for section, keys in SECTIONS.items() for key in keys.split()}

# --- sheet data: rows are tuples aligned with the header (minus `source`), then a cite spec:
#     a cite key for every figure in the row, or {column: key, "*": fallback key}. ----------------
SETTINGS = [("currency", "USD", "usd"), ("discount_rate", 0.08, "disc"),
            ("default_shortfall_penalty", 1000000, "defpen"), ("thorium_storage_t", 1000, "thorium"),
            ("strict", "false", "strict")]
PERIOD_ROWS = [(p, 1, "horizon") for p in PERIODS]

GRADES = {"reo_grade": "reo", "tho2_grade": "th", "mining_cost": "minecost"}
OP = {**GRADES, "capacity_t": "cap_op", "status": "mine_op"}
PEND = {**GRADES, "capacity_t": "cap_new", "status": "mine_pend", "approved_from": "online"}
MINES = [
    ("M_OSCOM", "OSCOM, Chhatrapur (Odisha)", 3000, 0.58, 0.085, 300, "approved", None, OP),
    ("M_MK", "Manavalakurichi (Tamil Nadu)", 1200, 0.58, 0.085, 300, "approved", None, OP),
    ("M_CHV", "Chavara (Kerala)", 800, 0.58, 0.085, 300, "approved", None, OP),
    ("M_KK", "Kanniyakumari-Killiyoor, 1,144 ha (TN), inferred", 1500, 0.58, 0.085, 300, "pending", "FY2029", PEND),
    ("M_ALP", "Alappad-Panmana (Kerala), inferred", 800, 0.58, 0.085, 300, "pending", "FY2030", PEND),
    ("M_BRG", "Brahmagiri, Puri (Odisha), inferred", 1500, 0.58, 0.085, 300, "pending", "FY2031", PEND),
    ("M_X4", "Fourth pending mine (unnamed)", 1000, 0.58, 0.085, 300, "pending", None, PEND),
]
# Default composition (mine blank). The shares sum to exactly 1.0; HRE needed no adjustment.
COMPOSITION = [(None, "NdPr", 0.241, "comp_ndpr"), (None, "Ce", 0.485, "comp"), (None, "La", 0.225, "comp"),
               (None, "Sm", 0.027, "comp"), (None, "Gd", 0.012, "comp"), (None, "Y", 0.004, "comp_a"),
               (None, "Eu", 0.001, "comp_a"), (None, "Dy", 0.0015, "comp_a"), (None, "Tb", 0.0003, "comp_a"),
               (None, "HRE", 0.0032, "comp_a")]
PLANTS = [
    ("P_MOPP", "Monazite Processing Plant (MoPP), OSCOM", "cracking", 10000, 0.86, 600,
     {"stage": "stage", "capacity_t": "mopp_cap", "recovery": "mopp_rec", "unit_cost": "mopp_cost"}),
    ("P_RED", "Rare Earths Division SX separation, Aluva", "separation", 2500, 0.95, 5000,
     {"stage": "stage", "capacity_t": "red_cap", "recovery": "red_rec", "unit_cost": "red_cost"}),
]
ROUTES = [("M_OSCOM", "P_MOPP", 0, "haul0"), ("M_MK", "P_MOPP", 80, "haul_far"),
          ("M_CHV", "P_MOPP", 80, "haul_far"), ("M_KK", "P_MOPP", 80, "haul_far"),
          ("M_ALP", "P_MOPP", 80, "haul_far"), ("M_BRG", "P_MOPP", 20, "haul_near"),
          ("M_X4", "P_MOPP", 20, "haul_near")]  # M_X4 assumed in the OSCOM area (docs/data_sources.md#mines)
PRODUCT_CAPS = [("P_RED", "NdPr", None, 800, "ndpr_ramp"), ("P_RED", "NdPr", "FY2026", 400, "ndpr_cap"),
                ("P_RED", "NdPr", "FY2027", 600, "ndpr_ramp")]
BYPRODUCT = {"holding_cost": "hold", "initial_stock_t": "stock0", "terminal_value": "tv0"}
PRODUCTS = [  # product, name, storage_capacity_t, holding_cost, initial_stock_t, disposal_cost, terminal_value
    ("NdPr", "NdPr oxide (Nd2O3 + Pr6O11)", 1000, 2000, 500, None, 60000,
     {"storage_capacity_t": "store_ndpr", "holding_cost": "hold_ndpr", "initial_stock_t": "stock_ndpr",
      "terminal_value": "tv_ndpr"}),
    ("Ce", "Cerium oxide CeO2", None, 20, 0, 100, 0, {**BYPRODUCT, "disposal_cost": "disp"}),
    ("La", "Lanthanum oxide La2O3", None, 20, 0, 100, 0, {**BYPRODUCT, "disposal_cost": "disp"}),
    ("Sm", "Samarium oxide Sm2O3", None, 20, 0, None, 0, BYPRODUCT),
    ("Gd", "Gadolinium oxide Gd2O3", None, 20, 0, None, 0, BYPRODUCT),
    ("Y", "Yttrium oxide Y2O3", None, 20, 0, None, 0, BYPRODUCT),
    ("Eu", "Europium oxide Eu2O3", None, 20, 0, None, 0, BYPRODUCT),
    ("Dy", "Dysprosium oxide Dy2O3", None, 20, 0, None, 0, BYPRODUCT),
    ("Tb", "Terbium oxide Tb4O7", None, 20, 0, None, 0, BYPRODUCT),
    ("HRE", "Heavy-RE residue (Ho-Lu), unsaleable", 0, 20, 0, 200, 0,
     {**BYPRODUCT, "storage_capacity_t": "store_hre", "disposal_cost": "disp_hre"}),
]
CUSTOMERS = [
    ("D_SCHEME", "REPM scheme beneficiaries L1-L3", "domestic", "false", "India", "scheme"),
    ("D_MIDWEST", "Midwest Advanced Materials, Hyderabad", "domestic", "false", "India", "midwest"),
    ("D_SONA", "Sona Comstar (magnet aspirant)", "domestic", "false", "India", "sona"),
    ("D_REPM", "IREL REPM plant, Visakhapatnam (SmCo)", "domestic", "false", "India", "repm"),
    ("D_LACE", "Domestic La/Ce users (catalysts, polishing, mischmetal)", "domestic", "false", "India", "lace"),
    ("D_STRAT", "DAE/NCMM strategic stock (NdPr, Sm, Dy, Tb)", "domestic", "false", "India", "strat"),
    ("X_TREI", "Toyotsu Rare Earths India -> Japan (2012 G2G)", "export", "true", "Japan", "trei"),
    ("X_SPOT", "World spot market (FOB India)", "export", "false", "World", "spot"),
]
TREI = {"min_t": "trei_min", "max_t": "trei_max", "price": "trei_price", "shortfall_penalty": "trei_pen"}
# NdPr price path (USD/t): FY2026 the mean of the year's quotes, FY2027 the latest quote (Feb 2026), held from FY2028.
NDPR_PRICE = {"FY2026": (88000, "p_ndpr26"), "FY2027": (123000, "p_ndpr27"), None: (123000, "p_ndpr")}


def ndpr(customer: str, period: str | None, min_t, max_t, penalty, cite: dict) -> tuple:
    """A demand row of a paying NdPr buyer at the period's NdPr price (its price cited as such)."""
    price, key = NDPR_PRICE.get(period, NDPR_PRICE[None])
    return (customer, "NdPr", period, min_t, max_t, price, None, penalty, {**cite, "price": key})


SCHEME = {"*": "scheme", "shortfall_penalty": "scheme_pen"}
GESTATE = {**SCHEME, "min_t": "gestation", "max_t": "gestation"}
MIDWEST = {"*": "mw_vol"}
SONA = {"*": "sona_vol"}
DEMAND = [  # customer, product, period, min_t, max_t, price, policy_value, shortfall_penalty
    ("X_TREI", "MRECL", None, 1000, 2300, 11000, None, 1000000, TREI),
    ndpr("D_SCHEME", None, 500, 500, 20000, SCHEME),
    ndpr("D_SCHEME", "FY2026", 0, 0, 20000, GESTATE),
    ndpr("D_SCHEME", "FY2027", 0, 0, 20000, GESTATE),
    ndpr("D_SCHEME", "FY2028", 0, 0, 20000, GESTATE),
    ndpr("D_MIDWEST", None, 0, 1650, None, MIDWEST),
    ndpr("D_MIDWEST", "FY2026", 0, 165, None, MIDWEST),
    ndpr("D_MIDWEST", "FY2027", 0, 500, None, {**MIDWEST, "max_t": "mw_ramp"}),
    ndpr("D_MIDWEST", "FY2028", 0, 1000, None, {**MIDWEST, "max_t": "mw_ramp"}),
    ndpr("D_SONA", None, 0, 200, None, SONA),
    ndpr("D_SONA", "FY2026", 0, 0, None, SONA),
    ndpr("D_SONA", "FY2027", 0, 0, None, SONA),
    ("D_STRAT", "NdPr", None, 0, None, 0, 60000, None, "strat_pv"),
    ("D_STRAT", "Sm", None, 0, 10, 0, 10000, None, "strat_sm"),
    ("D_STRAT", "Dy", None, 0, None, 0, 700000, None, "strat_dy"),
    ("D_STRAT", "Tb", None, 0, None, 0, 2000000, None, "strat_tb"),
    ("D_REPM", "Sm", None, 1, 1.5, 5000, None, None, {"*": "repm_vol", "price": "repm_price"}),
    ("D_LACE", "La", None, 0, 300, 600, None, None, {"*": "lace_vol", "price": "p_la"}),
    ("D_LACE", "Ce", None, 0, 500, 1700, None, None, {"*": "lace_vol", "price": "p_ce"}),
] + [("X_SPOT", p, None, 0, None, price, None, None, {"*": "spot_vol", "price": f"p_{p.lower()}"})
     for p, price in [("La", 600), ("Ce", 1700), ("Sm", 2000), ("Gd", 22000), ("Y", 8000),
                      ("Eu", 28000), ("Dy", 300000), ("Tb", 1000000)]]

# Export-cap changes pin product AND period, so they create rows in the empty export_caps sheet
# (a path matching no row is valid only when its filter pins every key column).
SCENARIOS = [  # scenario, target, value, mode, description, cite
    ("status_quo", "settings.value[key=strict]", "false", "set", "The base case as is: treaty min 1,000 t and max 2,300 t MRECL per year.", "sc_none"),
    ("renegotiated", "demand.min_t[customer=X_TREI]", 500, "set", "Renegotiated treaty: TREI minimum cut to 500 t REO per year.", "sc_reneg"),
    ("renegotiated", "demand.max_t[customer=X_TREI]", 1500, "set", "Renegotiated treaty: TREI maximum cut to 1,500 t REO per year.", "sc_reneg"),
    ("renegotiated", "export_caps.max_t[product=NdPr, scope=non_treaty]", 100, "set",
     "Renegotiated treaty: at most 100 t NdPr a year to non-treaty export buyers; the treaty's MRECL is not capped.", "sc_reneg"),

    ("suspension", "demand.min_t[customer=X_TREI, period>=FY2027]", 0, "set", "Negotiated suspension: no TREI minimum from FY2027.", "sc_susp"),
    ("suspension", "demand.max_t[customer=X_TREI, period>=FY2027]", 0, "set", "Negotiated suspension: no MRECL goes to TREI from FY2027.", "sc_susp"),
    ("breach", "demand.shortfall_penalty[customer=X_TREI]", 5000, "set", "Treaty stays, but each tonne short costs a finite 5,000 USD breach cost.", "sc_breach"),
] + [("conserve_ndpr", f"export_caps.max_t[product=NdPr, period={p}]", 0, "set",
      f"No NdPr may leave India in {p}, including NdPr contained in MRECL, while the treaty stays.", "sc_conserve")
     for p in PERIODS] + [
    ("approvals_fast", "mines.approved_from[mine=M_KK]", "FY2027", "set", "Kanniyakumari mine approved from FY2027 instead of FY2029.", "sc_fast"),
    ("approvals_fast", "mines.approved_from[mine=M_ALP]", "FY2028", "set", "Alappad mine approved from FY2028 instead of FY2030.", "sc_fast"),
    ("approvals_fast", "mines.approved_from[mine=M_BRG]", "FY2028", "set", "Brahmagiri mine approved from FY2028 instead of FY2031.", "sc_fast"),
    ("approvals_fast", "mines.approved_from[mine=M_X4]", "FY2029", "set", "The fourth pending mine is approved from FY2029 (never in the base case).", "sc_fast"),
    ("approvals_delayed", "mines.approved_from[mine=M_KK]", "FY2032", "set", "Kanniyakumari approval slips to FY2032.", "sc_slow"),
    ("approvals_delayed", "mines.approved_from[mine=M_ALP]", "FY2032", "set", "Alappad approval slips to FY2032.", "sc_slow"),
    ("approvals_delayed", "mines.approved_from[mine=M_BRG]", "FY2032", "set", "Brahmagiri approval slips to FY2032.", "sc_slow"),
    ("price_floor", "demand.price[product=NdPr, customer!=D_STRAT]", 110000, "set", "NdPr sells at the 110,000 USD/t US price floor to every paying buyer.", "sc_floor"),
]
# Probabilities of the approval scenarios, for `irel-alloc hedge` (scenario, probability, cite).
UNCERTAINTY = [("base", 0.5, "unc_prob"), ("approvals_fast", 0.2, "unc_prob"),
               ("approvals_delayed", 0.3, "unc_prob")]

README = [
    "IREL rare-earth allocation: base-case input workbook (FY2026-FY2032), written by inputs/make_base_case.py.",
    "It feeds the irel-alloc LP: mines -> cracking (MoPP) -> MRECL to TREI or separation (RED) -> products -> customers.",
    "Units: quantities, capacities, demands and caps in tonnes per year; money in USD per tonne (USD/kg x 1000).",
    "Monazite is in t monazite; MRECL and plant throughput after cracking are in t REO; products are in t oxide.",
    "A blank period in demand, product_caps, export_caps or capacity_profile means every period;",
    "a row with a period overrides the blank row for that period only.",
    "Every figure is cited on the 'sources' sheet, with kind sourced / derived / assumption;",
    "its 'see' column names the section of docs/data_sources.md with the source's address and reasoning.",
    "Hover over a column header for its meaning, unit and default; dropdowns offer the allowed values and ids.",
    "The model is described in docs/model.md, the result workbook in docs/outputs.md.",
    "Each data sheet's 'source' column gives a short citation for its row; it is ignored by the model.",
    "Named scenarios (status_quo, renegotiated, suspension, breach, ...) are on the 'scenarios' sheet.",
    "The 'uncertainty' sheet gives the approval scenarios' probabilities (assumptions) for irel-alloc hedge.",
    "routes lists every mine -> cracking-plant pair with an assumed haul cost; delete the sheet to allow all pairs at zero cost.",
    "Do not add blank rows inside a table; keep one header row in row 1.",
]

# sheet name, header (without `source`), key columns for row_ref
LAYOUT = [
    ("settings", ["key", "value"], ["key"], SETTINGS),
    ("periods", ["period", "years"], ["period"], PERIOD_ROWS),
    ("mines", ["mine", "name", "capacity_t", "reo_grade", "tho2_grade", "mining_cost", "status", "approved_from"], ["mine"], MINES),
    ("composition", ["mine", "product", "share"], ["mine", "product"], COMPOSITION),
    ("plants", ["plant", "name", "stage", "capacity_t", "recovery", "unit_cost"], ["plant"], PLANTS),
    ("capacity_profile", ["entity", "period", "capacity_t"], ["entity", "period"], []),
    ("routes", ["mine", "plant", "transport_cost"], ["mine", "plant"], ROUTES),
    ("product_caps", ["plant", "product", "period", "max_t"], ["plant", "product", "period"], PRODUCT_CAPS),
    ("products", ["product", "name", "storage_capacity_t", "holding_cost", "initial_stock_t", "disposal_cost", "terminal_value"], ["product"], PRODUCTS),
    ("customers", ["customer", "name", "kind", "treaty", "country"], ["customer"], CUSTOMERS),
    ("demand", ["customer", "product", "period", "min_t", "max_t", "price", "policy_value", "shortfall_penalty"], ["customer", "product", "period"], DEMAND),
]
NOT_FIGURES = {"name", "description"}
BOLD = Font(bold=True)


def write_sheet(wb: Workbook, name: str, header: list[str], rows: list[tuple]) -> None:
    """Write one table: bold header in row 1, data from row 2, sized columns, frozen header."""
    ws = wb.create_sheet(name)
    ws.append(header)
    for cell in ws[1]:
        cell.font = BOLD
    for row in rows:
        ws.append(list(row))
    for i, col in enumerate(header):
        longest = max([len(str(col))] + [len(str(r[i])) for r in rows if r[i] is not None])
        ws.column_dimensions[get_column_letter(i + 1)].width = min(max(longest + 2, 8), 70)
    ws.freeze_panes = "A2"


def cite_of(spec, col: str) -> str:
    return spec if isinstance(spec, str) else spec.get(col, spec.get("*"))


def split_rows(sheet: str, header: list[str], keys: list[str], rows: list[tuple]):
    """Return the sheet's rows (with a `source` cell) and its entries for the `sources` sheet."""
    out, sources = [], []
    for *values, spec in rows:
        rec = dict(zip(header, values))
        ref = "/".join(str(rec[k]) if rec[k] is not None else "default"
                       for k in keys if not (k == "period" and rec[k] is None))
        shorts = []
        for col in header:
            if col in keys or col in NOT_FIGURES or rec[col] is None:
                continue
            key = cite_of(spec, col)
            kind, short, detail = CITES[key]
            sources.append((sheet, f"{sheet}:{ref}", col, rec[col], f"{short}: {detail}", kind,
                            SEE.format(SECTION_OF[key])))
            if short not in shorts:
                shorts.append(short)
        out.append((*values, "; ".join(shorts)))
    return out, sources


def save_deterministic(wb: Workbook, path: Path) -> None:
    """Save with fixed document and zip-entry dates so reruns give identical bytes."""
    buf = io.BytesIO()
    wb.save(buf)  # openpyxl stamps `modified` with the current time; undone below
    stamp = FIXED.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=FIXED.timetuple()[:6]), data,
                         compress_type=zipfile.ZIP_DEFLATED)


def main() -> None:
    shares = [r[2] for r in COMPOSITION]
    assert abs(sum(shares) - 1.0) <= 1e-9, f"composition sums to {sum(shares)}"
    unexplained = sorted(set(CITES) - set(SECTION_OF))
    assert not unexplained, f"give these citations a heading of docs/data_sources.md in SECTIONS: {unexplained}"
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.created = wb.properties.modified = FIXED
    wb.properties.creator = wb.properties.lastModifiedBy = "inputs/make_base_case.py"
    readme = wb.create_sheet("README")
    readme.append([README[0]])
    readme["A1"].font = BOLD
    for line in README[1:]:
        readme.append([line])
    readme.column_dimensions["A"].width = 120
    all_sources = []
    for sheet, header, keys, rows in LAYOUT:
        table, sources = split_rows(sheet, header, keys, rows)
        write_sheet(wb, sheet, header + ["source"], table)
        all_sources += sources
        if sheet == "demand":  # export_caps sits between demand and scenarios; empty in the base case
            write_sheet(wb, "export_caps", ["product", "period", "max_t", "scope", "customer"], [])
    scen_rows = []
    for scenario, target, value, mode, description, key in SCENARIOS:
        kind, short, detail = CITES[key]
        scen_rows.append((scenario, target, value, mode, description, short))
        all_sources.append(("scenarios", f"scenarios:{scenario}", target, value, f"{short}: {detail}", kind,
                            SEE.format(SECTION_OF[key])))
    write_sheet(wb, "scenarios", ["scenario", "target", "value", "mode", "description", "source"], scen_rows)
    unc_rows, sources = split_rows("uncertainty", ["scenario", "probability"], ["scenario"], UNCERTAINTY)
    write_sheet(wb, "uncertainty", ["scenario", "probability", "source"], unc_rows)
    all_sources += sources
    write_sheet(wb, "sources", ["sheet", "row_ref", "figure", "value", "source", "kind", "see"], all_sources)
    annotate_workbook(wb)  # the template's header comments and dropdowns
    save_deterministic(wb, OUT)
    print(f"wrote {OUT} ({len(all_sources)} cited figures)")


if __name__ == "__main__":
    main()
