"""Terminology: code sets (ICD-10-CM today) loaded into tables with search."""
