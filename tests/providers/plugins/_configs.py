"""Shared by the test plugins: a plain feature-config object (what real plugins return)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Config:
    name: str
    values: list[str] = field(default_factory=list)
    multi_value: bool = False
