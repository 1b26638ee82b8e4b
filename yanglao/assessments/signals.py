"""What the assessment app announces; benefits and service plans subscribe (they re-price on a new level).

Sent after the transaction commits (DESIGN.md rule 4):
- level_effective(assessment, previous): a reviewed assessment took effect; `previous` is the effective
  assessment it replaced, or None.
"""

from django.dispatch import Signal

level_effective = Signal()
