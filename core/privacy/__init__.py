"""A member's own data: the export (/mydata) and erasure (/deleteme) that keeps only
anonymous totals.
"""

from core.privacy.erasure import erase_member
from core.privacy.export import export_member_data

__all__ = [
    "erase_member",
    "export_member_data",
]
