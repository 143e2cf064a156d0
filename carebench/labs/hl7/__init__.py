"""The HL7 v2.5.1 lab interface's pure engines (no Django): build ORM^O01 orders and ACKs, parse
ORU^R01 results into plain data, and frame messages for MLLP.

`carebench.labs.hl7_services` does the database work (queue, ingest, match, resolve).
"""

VERSION = "2.5.1"
