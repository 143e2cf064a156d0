"""The FHIR R4 API under /fhir/: one module per resource, bearer tokens, OperationOutcome errors."""
