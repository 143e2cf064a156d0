"""`manage.py load_mvx [--file PATH]`: load MVX manufacturer codes (shipped list or CDC's file)."""

from carebench.terminology.services import MVX_CODE_SET, load_mvx, read_mvx_file

from .load_cvx import CdcListCommand


class Command(CdcListCommand):
    help = (
        "Load CDC MVX vaccine manufacturer codes (idempotent). Without --file, the list shipped "
        "in carebench/terminology/data/mvx.txt; with --file, CDC's pipe-delimited download."
    )
    name = "MVX"
    code_set = MVX_CODE_SET
    read = staticmethod(read_mvx_file)
    load = staticmethod(load_mvx)
