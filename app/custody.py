"""Custody (托管) units: the manual says 托管期间物业管理费按全额的70%收取."""
from decimal import Decimal

CUSTODY_FEE_FACTOR = Decimal("0.70")
FULL_FEE_FACTOR = Decimal("1.00")


def fee_factor(unit_status: str) -> Decimal:
    """Share of the full management fee a unit in this status pays."""
    from schema.property import UnitStatus

    return CUSTODY_FEE_FACTOR if unit_status == UnitStatus.custody else FULL_FEE_FACTOR
