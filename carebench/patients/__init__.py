"""Patients: demographics, identifiers, coverage, allergies, medication list, problems, history."""
