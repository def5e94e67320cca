"""Product codes the simulators make and check: EAN-13 barcodes and RFID EPC tags."""

from __future__ import annotations

import random
import re

EAN13_PATTERN = re.compile(r"[0-9]{13}")
COLOMBIA_GS1_PREFIX = "770"


def ean13_check_digit(first12: str) -> int:
    """The GS1 check digit for the first 12 digits of an EAN-13."""
    if not re.fullmatch(r"[0-9]{12}", first12):
        raise ValueError("an EAN-13 check digit needs exactly 12 digits")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return (10 - total % 10) % 10


def is_valid_ean13(value: object) -> bool:
    """True for a string of 13 digits whose last digit is the right check digit."""
    if not isinstance(value, str) or not EAN13_PATTERN.fullmatch(value):
        return False
    return ean13_check_digit(value[:12]) == int(value[12])


def random_ean13(rng: random.Random, prefix: str = COLOMBIA_GS1_PREFIX) -> str:
    """A valid EAN-13 under a GS1 country prefix (770 is Colombia)."""
    body = prefix + "".join(rng.choice("0123456789") for _ in range(12 - len(prefix)))
    return body + str(ean13_check_digit(body))


def break_ean13(valid: str) -> str:
    """The same EAN-13 with a wrong check digit (for invalid test records)."""
    wrong = (int(valid[12]) + 1 + int(valid[11]) % 8) % 10
    return valid[:12] + str(wrong)


def random_epc(rng: random.Random) -> str:
    """An RFID EPC as 24 uppercase hex characters (96 bits), Impinj-style E280 header."""
    return "E280" + "".join(rng.choice("0123456789ABCDEF") for _ in range(20))
