"""hl7apy's strict validation of VXU^V04 messages, with the gaps in its copy of table 0396
allowed (and nothing else)."""

from __future__ import annotations

from carebench.labs.tests.hl7_helpers import strict_errors

# hl7apy's copy of HL7 table 0396 (coding systems) predates the codes the CDC guide requires
# in CE-3/CWE-3: the PHIN VADS names CDCREC (race, ethnicity), NIP001 (information source),
# NIP002 (refusal reason), NCIT (route), UCUM (units) and CDCPHINVS (eligibility method), and
# it lacks the table's "HL7nnnn" pattern, so HL70063, HL70163 and HL70215 are reported too.
# Each is a warning naming one value in one element; exactly these are allowed, every other
# report (structure, datatype, length, other tables) fails the test.
HL7APY_TABLE_0396_GAPS = {
    f"Warning: Value {system} not in table HL70396 in element {element}"
    for system, element in [
        ("CDCREC", "PID_10.CE_3"),
        ("CDCREC", "PID_22.CE_3"),
        ("HL70215", "PD1_11.CE_3"),
        ("HL70063", "NK1_3.CE_3"),
        ("UCUM", "RXA_7.CE_3"),
        ("NIP001", "RXA_9.CE_3"),
        ("NIP002", "RXA_18.CE_3"),
        ("NCIT", "RXR_1.CE_3"),
        ("HL70163", "RXR_2.CWE_3"),
        ("CDCPHINVS", "OBX_17.CE_3"),
    ]
}


def vxu_errors(text: str) -> list[str]:
    """hl7apy's strict report on a VXU, less the table-0396 gaps above."""
    return [line for line in strict_errors(text) if line not in HL7APY_TABLE_0396_GAPS]
