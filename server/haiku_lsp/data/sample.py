"""A tiny inventory module: `haiku-lsp demo` opens it and asks the server for suggestions."""

import math
from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int = 0

    def total(self) -> float:
        """Price times quantity."""
        return self.price * self.quantity


def inventory_value(items: list[Item]) -> float:
    """Sum of every item's total."""
    return sum(item.total() for item in items)


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Euclidean distance between two points."""
    dx = a[0] - b[0]
    dy = a[1] - b[1]
    return math.sq
