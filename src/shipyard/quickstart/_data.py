"""A deterministic customer-churn table: numeric and categorical columns, no downloads.

`production_batch` generates traffic; with ``drift=True`` it shifts ``monthly_charges``
(+30), moves the ``contract`` mix towards month-to-month, and changes how churn depends on
the features (concept drift), so both data drift and a performance drop are real.
"""

from __future__ import annotations

from typing import Any

NUMERIC = ("tenure_months", "monthly_charges", "support_calls", "age")
CATEGORICAL = ("contract", "payment_method", "internet_service")
FEATURES = NUMERIC + CATEGORICAL
DRIFTED = ("monthly_charges", "contract")
TARGET = "churn"

_CONTRACTS = ["month-to-month", "one-year", "two-year"]
_PAYMENTS = ["card", "bank-transfer", "electronic-check", "mailed-check"]
_INTERNET = ["fiber", "dsl", "none"]


def _frame(n: int, seed: int, *, drift: bool) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 73, n)
    monthly = rng.normal(95 if drift else 65, 18, n).clip(15, 160).round(2)
    calls = rng.poisson(1.6, n)
    age = rng.integers(18, 81, n)
    contract_p = [0.85, 0.1, 0.05] if drift else [0.5, 0.28, 0.22]
    contract = rng.choice(_CONTRACTS, n, p=contract_p)
    payment = rng.choice(_PAYMENTS, n, p=[0.3, 0.25, 0.3, 0.15])
    internet = rng.choice(_INTERNET, n, p=[0.45, 0.35, 0.2])
    c_eff = np.select([contract == "month-to-month", contract == "one-year"], [1.2, 0.0], -1.1)
    p_eff = np.where(payment == "electronic-check", 0.6, 0.0)
    i_eff = np.select([internet == "fiber", internet == "dsl"], [0.5, 0.0], -0.6)
    if drift:  # the relationship itself changes: old signals stop working
        logit = -0.8 + 0.02 * tenure - 0.02 * (monthly - 95) - 0.4 * calls - c_eff + p_eff
    else:
        logit = -1.0 - 0.045 * tenure + 0.03 * (monthly - 65) + 0.45 * calls + c_eff + p_eff \
            + i_eff
    churn = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({
        "tenure_months": tenure.astype("int64"), "monthly_charges": monthly,
        "support_calls": calls.astype("int64"), "age": age.astype("int64"),
        "contract": contract, "payment_method": payment, "internet_service": internet,
        TARGET: churn,
    })


def make_churn(n: int = 6000, seed: int = 7) -> Any:
    """The training population."""
    return _frame(n, seed, drift=False)


def split(frame: Any, seed: int = 7) -> tuple[Any, Any, Any]:
    """60 / 20 / 20 train / validation / test, stratified by the target."""
    from sklearn.model_selection import train_test_split

    train, rest = train_test_split(frame, test_size=0.4, random_state=seed,
                                   stratify=frame[TARGET])
    val, test = train_test_split(rest, test_size=0.5, random_state=seed, stratify=rest[TARGET])
    return (train.reset_index(drop=True), val.reset_index(drop=True),
            test.reset_index(drop=True))


def production_batch(n: int, seed: int, *, drift: bool) -> Any:
    """Rows as production would send them (features) plus the label that arrives later."""
    return _frame(n, seed, drift=drift)
