"""Student-t critical values without scipy: the closed-form CDF for integer degrees of freedom, inverted.

For nu degrees of freedom and theta = atan(t / sqrt(nu)), P(|T| < t) is a finite sum of powers of
cos(theta) (Abramowitz & Stegun 26.7.3-4); bisection on t inverts it to double precision.
"""

from __future__ import annotations

import math


def two_sided_mass(t: float, nu: int) -> float:
    """P(-t < T < t) for Student's t with nu >= 1 degrees of freedom and t >= 0."""
    if nu < 1:
        raise ValueError("degrees of freedom must be >= 1")
    theta = math.atan(t / math.sqrt(nu))
    s, c = math.sin(theta), math.cos(theta)
    c2 = c * c
    if nu % 2 == 1:
        total, term = 0.0, c  # the cos^(2k-1) terms with coefficients 1, 2/3, 2*4/(3*5), ...
        for k in range(1, (nu - 1) // 2 + 1):
            total += term
            term *= c2 * (2 * k) / (2 * k + 1)
        return (2.0 / math.pi) * (theta + s * total)
    total, term = 0.0, 1.0  # 1, cos^2/2, 1*3 cos^4/(2*4), ...
    for k in range(1, nu // 2 + 1):
        total += term
        term *= c2 * (2 * k - 1) / (2 * k)
    return s * total


def t_critical(confidence: float, nu: int) -> float:
    """The t with P(|T| < t) = confidence, i.e. scipy.stats.t.ppf(1 - (1 - confidence) / 2, nu)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    lo, hi = 0.0, 1.0
    while two_sided_mass(hi, nu) < confidence:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if two_sided_mass(mid, nu) < confidence:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
