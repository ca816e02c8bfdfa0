"""Finance primitives: annuity, NPV, IRR, payback, depreciation and loan schedules.

Pure functions on plain floats. Money in $ (``_usd``), rates as fractions per period
(``_frac``), periods in years unless a name says otherwise. Cash-flow lists start at t = 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tokenworks.errors import ConfigError, check_range

DepreciationMethod = Literal["straight_line", "double_declining", "sum_of_years"]
DEPRECIATION_METHODS: tuple[str, ...] = ("straight_line", "double_declining", "sum_of_years")


def annuity_payment_usd(principal_usd: float, rate_frac: float, num_periods: float) -> float:
    """Level payment that repays ``principal_usd`` over ``num_periods`` at ``rate_frac``/period.

    Standard annuity formula: A = P r / (1 - (1 + r)^-n); A = P / n when r = 0.
    """
    check_range("principal_usd", principal_usd, low=0, unit="$")
    check_range("rate_frac", rate_frac, low=0, high=1, fix="Give a rate as a fraction, e.g. 0.12.")
    check_range("num_periods", num_periods, low=0, low_inclusive=False)
    if rate_frac == 0:
        return principal_usd / num_periods
    return principal_usd * rate_frac / (1.0 - (1.0 + rate_frac) ** (-num_periods))


def capital_recovery_factor(rate_frac: float, num_periods: float) -> float:
    """Annuity payment per $ of principal (the CRF)."""
    return annuity_payment_usd(1.0, rate_frac, num_periods)


def npv_usd(rate_frac: float, cash_flows_usd: Sequence[float]) -> float:
    """Net present value: sum of CF_t / (1 + r)^t, t = 0, 1, ..."""
    if rate_frac <= -1:
        raise ConfigError(f"rate_frac = {rate_frac:g} is out of range: it must be > -1.")
    return sum(cf / (1.0 + rate_frac) ** t for t, cf in enumerate(cash_flows_usd))


def irr_frac(cash_flows_usd: Sequence[float], *, tol: float = 1e-10) -> float | None:
    """Internal rate of return (NPV = 0) by bisection; None when NPV never changes sign.

    Searches r in (-0.99, 10). With a conventional profile (one outflow then inflows) the
    root is unique. Golden case: [-100, 60, 60] -> 13.07% (solve 100 = 60/(1+r) + 60/(1+r)^2).
    """
    flows = list(cash_flows_usd)
    if len(flows) < 2:
        return None
    lo, hi = -0.99, 10.0
    f_lo, f_hi = npv_usd(lo, flows), npv_usd(hi, flows)
    if f_lo == 0:
        return lo
    if f_lo * f_hi > 0:
        return None
    # NOTE: bisection rather than Newton for robustness; 100 halvings reach 1e-28 for performance.
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        f_mid = npv_usd(mid, flows)
        if abs(f_mid) < tol or (hi - lo) < tol:
            return mid
        if f_lo * f_mid < 0:
            hi = mid
        else:
            lo, f_lo = mid, f_mid
    return 0.5 * (lo + hi)


def payback_years(cash_flows_usd: Sequence[float]) -> float | None:
    """Years until cumulative cash flow turns non-negative, interpolated within the year.

    Cash flows are yearly with index 0 at t = 0 (the outlay). None if never paid back.
    """
    cum = 0.0
    for t, cf in enumerate(cash_flows_usd):
        prev = cum
        cum += cf
        if cum >= 0 and t > 0:
            # ASSUMPTION: cash arrives evenly within a year, so interpolate linearly.
            return (t - 1) + (-prev / cf if cf > 0 else 0.0)
        if cum >= 0 and t == 0:
            return 0.0
    return None


def depreciation_schedule_usd(
    cost_usd: float,
    *,
    life_years: int,
    residual_usd: float = 0.0,
    method: str = "straight_line",
) -> tuple[float, ...]:
    """Yearly depreciation expense over ``life_years``; the total is ``cost - residual``.

    - straight_line: (cost - residual) / life each year.
    - double_declining: 2/life of the opening book value, switching to straight-line when
      that is larger, never depreciating below the residual.
    - sum_of_years: (cost - residual) x (life - t) / (life (life + 1) / 2), t = 0..life-1.
    """
    check_range("cost_usd", cost_usd, low=0, unit="$")
    if life_years < 1:
        raise ConfigError(f"life_years = {life_years} is out of range: it must be >= 1 "
                          f"(a whole number of years).")
    check_range("residual_usd", residual_usd, low=0, high=cost_usd, unit="$",
                fix="The residual value cannot exceed the cost.")
    base = cost_usd - residual_usd
    if method == "straight_line":
        return tuple(base / life_years for _ in range(life_years))
    if method == "sum_of_years":
        syd = life_years * (life_years + 1) / 2
        return tuple(base * (life_years - t) / syd for t in range(life_years))
    if method == "double_declining":
        out: list[float] = []
        book = cost_usd
        for t in range(life_years):
            remaining = life_years - t
            ddb = book * 2.0 / life_years
            sl = (book - residual_usd) / remaining
            d = min(max(ddb, sl), book - residual_usd)
            out.append(d)
            book -= d
        return tuple(out)
    raise ConfigError(f"depreciation method '{method}' is not known. "
                      f"Valid: {', '.join(DEPRECIATION_METHODS)}.")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoanYear:
    """One year of an amortising loan."""

    year: int  # 1-based
    payment_usd: float
    interest_usd: float
    principal_usd: float
    balance_usd: float  # after the payment


def loan_schedule(principal_usd: float, rate_frac: float, term_years: int) -> tuple[LoanYear, ...]:
    """Yearly fully-amortising loan: level payments, interest on the opening balance."""
    if term_years < 1:
        raise ConfigError(f"term_years = {term_years} is out of range: it must be >= 1.")
    pay = annuity_payment_usd(principal_usd, rate_frac, term_years)
    bal = principal_usd
    rows = []
    for y in range(1, term_years + 1):
        interest = bal * rate_frac
        princ = pay - interest
        bal = bal - princ
        rows.append(LoanYear(year=y, payment_usd=pay, interest_usd=interest,
                             principal_usd=princ, balance_usd=max(bal, 0.0)))
    return tuple(rows)


def wacc_frac(*, debt_share_frac: float, debt_rate_frac: float, equity_hurdle_frac: float,
              tax_rate_frac: float = 0.0) -> float:
    """Weighted average cost of capital: D r_d (1 - tax) + E r_e (Modigliani-Miller with tax)."""
    check_range("debt_share_frac", debt_share_frac, low=0, high=1)
    return (debt_share_frac * debt_rate_frac * (1.0 - tax_rate_frac)
            + (1.0 - debt_share_frac) * equity_hurdle_frac)
