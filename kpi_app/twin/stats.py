"""Small statistics helpers the twin needs without pulling in SciPy.

Only one distribution quantile is needed (Student's t for OLS prediction intervals), so a
table of published critical values is enough and keeps the package dependency-free.
"""

from __future__ import annotations

from typing import Final

#: Two-sided 95 % critical values of Student's t (the 0.975 quantile) by degrees of freedom.
#: These are the standard textbook values, rounded to three decimals.
T_975: Final[dict[int, float]] = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    11: 2.201,
    12: 2.179,
    13: 2.160,
    14: 2.145,
    15: 2.131,
    16: 2.120,
    17: 2.110,
    18: 2.101,
    19: 2.093,
    20: 2.086,
    21: 2.080,
    22: 2.074,
    23: 2.069,
    24: 2.064,
    25: 2.060,
    26: 2.056,
    27: 2.052,
    28: 2.048,
    29: 2.045,
    30: 2.042,
    40: 2.021,
    60: 2.000,
    120: 1.980,
}
NORMAL_975: Final[float] = 1.960


def t_critical_95(degrees_of_freedom: int) -> float:
    """The 0.975 quantile of Student's t with the given degrees of freedom (≥ 1).

    Between tabulated values above 30 the quantile is interpolated linearly in 1/df, which is
    how printed tables are meant to be read; beyond 120 it tends to the normal 1.960.
    """
    if degrees_of_freedom < 1:
        raise ValueError("a t quantile needs at least one degree of freedom")
    if degrees_of_freedom in T_975:
        return T_975[degrees_of_freedom]
    tabulated = sorted(T_975)
    above = [df for df in tabulated if df > degrees_of_freedom]
    if not above:
        lower_df, lower_t, upper_inv, upper_t = 120, T_975[120], 0.0, NORMAL_975
        lower_inv = 1.0 / lower_df
    else:
        upper_df = above[0]
        lower_df = max(df for df in tabulated if df < degrees_of_freedom)
        lower_inv, lower_t = 1.0 / lower_df, T_975[lower_df]
        upper_inv, upper_t = 1.0 / upper_df, T_975[upper_df]
    share = (lower_inv - 1.0 / degrees_of_freedom) / (lower_inv - upper_inv)
    return lower_t + share * (upper_t - lower_t)
