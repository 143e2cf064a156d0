"""EKG: import tracings, measure them, screen the rhythm, report, and sign (pure engines first)."""
