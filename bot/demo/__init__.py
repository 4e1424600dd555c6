"""`loyalty demo`: a demo programme and synthetic members with realistic histories."""

from bot.demo.seed import DemoConflict, seed_demo

__all__ = [
    "DemoConflict",
    "seed_demo",
]
