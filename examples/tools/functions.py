"""Python function tools for the example config: plain functions whose type hints become the schema."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

ORDERS = {"A100": "shipped on Monday, arriving Thursday", "A101": "being packed", "A102": "delivered"}


def order_status(order_id: Annotated[str, Field(description="Order number, e.g. A100")]) -> str:
    """Where an order is: shipping status and expected delivery."""
    status = ORDERS.get(order_id.strip().upper())
    return f"Order {order_id.upper()} is {status}." if status else f"There is no order {order_id}."


class Conversion(BaseModel):
    """Convert a temperature between Celsius and Fahrenheit."""

    value: float
    to: Literal["celsius", "fahrenheit"] = "fahrenheit"


def convert_temperature(args: Conversion) -> str:
    """Convert a temperature between Celsius and Fahrenheit."""
    if args.to == "fahrenheit":
        return f"{args.value:g} degrees Celsius is {args.value * 9 / 5 + 32:.1f} degrees Fahrenheit."
    return f"{args.value:g} degrees Fahrenheit is {(args.value - 32) * 5 / 9:.1f} degrees Celsius."
