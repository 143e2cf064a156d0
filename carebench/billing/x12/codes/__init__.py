"""Plain meanings of the X12 code lists our readers show (pure; no Django).

The tables are CSV files beside this module (`code,meaning`, `#` lines are comments naming the
source and date); the meanings are our own plain words, not X12's text. Each lookup returns the
meaning, or ``"unknown code X"`` for a code the table does not have (never raises), so a screen
can always show something and a new code is visible as such.

    carc(code)                    claim adjustment reason (835 CAS)             carc.csv
    rarc(code)                    remittance advice remark (835 LQ*HE, MOA)      rarc.csv
    group_code(code)              adjustment group (835 CAS01)                   (below)
    plb_reason(code)              provider-level adjustment (835 PLB03-1)        plb.csv
    service_type(code)            benefit service type (270 EQ01, 271 EB03)      service_types.csv
    aaa_reason(code)              eligibility rejection (271 AAA03)              aaa.csv
    claim_status_category(code)   claim status category (277CA STC01-1)          claim_status_category.csv
    claim_status(code)            claim status detail (277CA STC01-2)            claim_status.csv
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent

GROUP_CODES = {
    "CO": "Contractual obligation: the provider writes this off; the patient does not owe it.",
    "PR": "Patient responsibility: the patient owes this.",
    "OA": "Other adjustment: neither the provider's contract nor the patient's share.",
    "PI": "Payer-initiated reduction: the payer's decision, not in the contract; the patient "
    "does not owe it.",
    "CR": "Correction or reversal of an earlier claim.",
}


def unknown(code: str) -> str:
    """What every lookup says for a code it does not know."""
    return f"unknown code {code}"


@cache
def table(name: str) -> dict[str, str]:
    """The `name`.csv table as code -> meaning (read once per process)."""
    with (HERE / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(line for line in handle if not line.startswith("#"))
        header = next(rows)
        if header != ["code", "meaning"]:
            raise ValueError(f"{name}.csv: the header must be code,meaning, not {header}")
        return {row[0].strip().upper(): row[1].strip() for row in rows if row}


def _lookup(name: str, code: str) -> str:
    key = (code or "").strip().upper()
    return table(name).get(key) or unknown(code)


def carc(code: str) -> str:
    """A claim adjustment reason code (CAS02, 05, ...) in plain words: carc("45")."""
    return _lookup("carc", code)


def rarc(code: str) -> str:
    """A remittance advice remark code (LQ02, MOA03-07) in plain words: rarc("N290")."""
    return _lookup("rarc", code)


def group_code(code: str) -> str:
    """An adjustment group code (CAS01): CO, PR, OA, PI or CR."""
    key = (code or "").strip().upper()
    return GROUP_CODES.get(key) or unknown(code)


def plb_reason(code: str) -> str:
    """A provider-level adjustment reason (PLB03-1, e.g. WO overpayment recovery, L6 interest)."""
    return _lookup("plb", code)


def service_type(code: str) -> str:
    """A service type (EQ01, EB03): service_type("98") is "Office visit"."""
    return _lookup("service_types", code)


def aaa_reason(code: str) -> str:
    """An eligibility rejection reason (AAA03): aaa_reason("72") is an invalid member ID."""
    return _lookup("aaa", code)


def claim_status_category(code: str) -> str:
    """A claim status category (277CA STC01-1): A1, A2, A3..."""
    return _lookup("claim_status_category", code)


def claim_status(code: str) -> str:
    """A claim status code (277CA STC01-2): 20 accepted, 21 missing or invalid information..."""
    return _lookup("claim_status", code)
