"""carebench: the clinic workstation for medical assistant technicians."""

__version__ = "0.1.0"
