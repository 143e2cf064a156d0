"""Encounters: the visit, rooming, vital signs."""
