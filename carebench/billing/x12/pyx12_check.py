"""pyx12's implementation-guide validation of any X12 file, run in-process (pure, no Django).

`validate_x12_with_pyx12(text) -> list[str]` works for every transaction pyx12 has a map for
(837P 005010X222A1, 835, 834, 999, 277CA...), and for our 270 eligibility requests
(005010X279A1), for which pyx12 4.0 ships no map of its own: see `X279A1_CHANGES`.

pyx12's 5010 maps cover the 837P, 835 and the others, but its 270 map is still the 4010 one
(004010X092A1; the 5010 270/271 sit commented out in its `maps.xml`). So that our 270s are
checked all the same, we build the 5010 270 map at run time from pyx12's own 4010 270 map,
with the 5010 changes that touch the envelope and the segments we write (`X279A1_CHANGES`),
in a private copy of pyx12's map folder (symbolic links to its files, plus the new map). The
loops, hierarchy, segment order and repeats, required elements, lengths and the other code
lists are pyx12's 4010 270 map as shipped. When pyx12 ships a map for 005010X279A1, its own
is used and nothing is built.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

X279A1 = "005010X279A1"
_BASE_270 = "270.4010.X092.A1.xml"
_MAP_270 = "270.5010.X279.A1.xml"

# The 005010X279A1 guide's changes from 004010X092A1 that we apply to pyx12's 4010 270 map,
# as (loop, segment, element, what): loop "" is the envelope.
X279A1_CHANGES = (
    ("", "ISA", "ISA11", "the repetition separator (4010: U, the standards id)"),
    ("", "ISA", "ISA12", "version 00501"),
    ("", "GS", "GS08", "005010X279A1"),
    ("", "ST", "ST03", "added, required: 005010X279A1"),
    ("2100C", "DTP", "DTP01", "291 (plan date; 4010 had 102, 307, 435, 472)"),
    ("2100D", "DTP", "DTP01", "291"),
    ("2100C", "DMG", "DMG03", "F or M (4010 also took U)"),
    ("2100D", "DMG", "DMG03", "F or M"),
    ("2100D", "NM1", "NM108", "not used: a dependent is named, not identified"),
    ("2100D", "NM1", "NM109", "not used"),
    ("2100B", "PRV", "PRV02", "PXC for the taxonomy code (4010: ZZ)"),
    ("2100C", "PRV", "PRV02", "PXC"),
    ("2100D", "PRV", "PRV02", "PXC"),
    ("2110C", "EQ", "EQ01", "the service types 5010 added (SERVICE_TYPES_ADDED)"),
    ("2110D", "EQ", "EQ01", "the service types 5010 added"),
)
# EQ01 (element 1365): the codes 005010X279A1 takes that 004010X092A1 did not.
SERVICE_TYPES_ADDED = (
    "B1", "B2", "B3", "BT", "BU", "BV", "BW", "BX", "BY", "BZ", "C1", "CA", "CB", "CC", "CD",
    "CE", "CF", "CG", "CH", "CI", "CJ", "CK", "CL", "CM", "CN", "CO", "CP", "CQ", "DG", "DM",
    "DS", "GF", "GN", "GY", "IC", "MH", "NI", "ON", "PT", "PU", "RN", "RT", "TC", "TN", "UC",
)  # fmt: skip
_PRV02 = ("9K", "D3", "EI", "HPI", "PXC", "SY", "TJ")

_map_dir: tempfile.TemporaryDirectory[str] | None = None


def _package_maps() -> Path:
    import pyx12

    return Path(pyx12.__file__).resolve().parent / "map"


def _has_map(maps: Path, vriic: str) -> bool:
    index = ET.parse(maps / "maps.xml").getroot()  # noqa: S314 - pyx12's own files
    return any(m.get("vriic") == vriic for m in index.iter("map"))


def _find(root: ET.Element, loop: str, segment: str, element: str) -> ET.Element:
    scope = root if not loop else root.find(f".//loop[@xid='{loop}']")
    if scope is None:
        raise LookupError(f"pyx12's 270 map has no loop {loop}")
    seg = scope.find(f"{'' if loop else './/'}segment[@xid='{segment}']")  # the loop's own
    if seg is None:
        raise LookupError(f"pyx12's 270 map has no {segment} in {loop or 'the envelope'}")
    found = seg.find(f"element[@xid='{element}']")
    if found is None:
        raise LookupError(f"pyx12's 270 map has no {element}")
    return found


def _codes(element: ET.Element, codes: tuple[str, ...]) -> None:
    for old in element.findall("valid_codes"):
        element.remove(old)
    if codes:
        valid = ET.SubElement(element, "valid_codes")
        for code in codes:
            ET.SubElement(valid, "code").text = code


def _element(xid: str, data_ele: str, name: str, seq: str) -> ET.Element:
    element = ET.Element("element", xid=xid)
    for tag, text in (("data_ele", data_ele), ("name", name), ("usage", "R"), ("seq", seq)):
        ET.SubElement(element, tag).text = text
    return element


def build_270_map(base: Path) -> ET.ElementTree[ET.Element]:
    """pyx12's 4010 270 map (004010X092A1) with the 005010X279A1 changes in `X279A1_CHANGES`."""
    tree = ET.parse(base)  # noqa: S314 - pyx12's own map file
    root = tree.getroot()
    _codes(_find(root, "", "ISA", "ISA11"), ())
    _codes(_find(root, "", "ISA", "ISA12"), ("00501",))
    _codes(_find(root, "", "GS", "GS08"), (X279A1,))
    st = root.find(".//segment[@xid='ST']")
    assert st is not None
    st03 = _element("ST03", "1705", "Implementation Convention Reference", "03")
    _codes(st03, (X279A1,))
    st.append(st03)
    for loop in ("2100C", "2100D"):
        _codes(_find(root, loop, "DTP", "DTP01"), ("291",))
        _codes(_find(root, loop, "DMG", "DMG03"), ("F", "M"))
    for loop in ("2100B", "2100C", "2100D"):
        _codes(_find(root, loop, "PRV", "PRV02"), _PRV02)
    for loop in ("2110C", "2110D"):
        eq01 = _find(root, loop, "EQ", "EQ01")
        known = [c.text or "" for c in eq01.iter("code")]
        _codes(eq01, tuple(known + [c for c in SERVICE_TYPES_ADDED if c not in known]))
    for xid in ("NM108", "NM109"):
        usage = _find(root, "2100D", "NM1", xid).find("usage")
        assert usage is not None
        usage.text = "N"
    name = root.find("name")
    if name is not None:
        name.text = f"HIPAA Eligibility Inquiry {X279A1} (built from pyx12's 004010X092A1 map)"
    return tree


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.symlink(source, target)
    except OSError:
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)


def map_path() -> str | None:
    """The map folder to give pyx12: None (its own) when it has a 005010X279A1 map, else our
    private copy with the 270 map built from its 4010 one (made once per process)."""
    global _map_dir
    maps = _package_maps()
    if _has_map(maps, X279A1):
        return None
    if _map_dir is None:
        folder = tempfile.TemporaryDirectory(prefix="carebench-pyx12-maps-")
        target = Path(folder.name)
        for item in maps.iterdir():
            if item.name not in ("maps.xml", "__pycache__"):
                _link_or_copy(item, target / item.name)
        built = build_270_map(maps / _BASE_270)
        built.write(target / _MAP_270, encoding="utf-8", xml_declaration=True)
        index = ET.parse(maps / "maps.xml")  # noqa: S314 - pyx12's own files
        version = index.getroot().find("version[@icvn='00501']")
        if version is None:
            raise LookupError("pyx12's maps.xml has no 00501 version")
        entry = ET.Element("map", vriic=X279A1, fic="HS", abbr="270")
        entry.text = _MAP_270
        version.insert(0, entry)
        index.write(target / "maps.xml", encoding="utf-8", xml_declaration=True)
        _map_dir = folder
    return _map_dir.name


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _errors(node: dict[str, Any], where: str) -> list[str]:
    return [f"{where}: {e['err_str']}" for e in node.get("errors", [])]


def validate_x12_with_pyx12(text: str | bytes) -> list[str]:
    """pyx12's validation of an X12 file against its 5010 map for each functional group's
    GS08 (our built one for a 005010X279A1 270, see the module), run in-process: its errors
    as strings ("segment 12 (DMG03): ...", "ST 0001: ..."; segment numbers are file
    positions), [] when it finds none.

    pyx12 reads the text from memory and writes its error tree as JSON, which we flatten; no
    999 is made. Its log records are kept out of the application's log while it runs, and an
    error it only logs (a file it cannot read, a version it has no map for) is returned too.
    """
    import pyx12.errors
    import pyx12.params
    import pyx12.x12n_document

    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    logger = logging.getLogger("pyx12")
    capture = _Capture()
    propagate = logger.propagate
    logger.addHandler(capture)
    logger.propagate = False
    output = io.StringIO()
    source = io.StringIO(text)
    try:
        ok = pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(),
            src_file=source,
            fd_997=None,
            fd_html=None,
            fd_json=output,
            map_path=map_path(),
        )
    except (pyx12.errors.X12Error, pyx12.errors.EngineError, ValueError) as exc:
        return [f"pyx12 could not read the file: {exc}"]
    finally:
        logger.removeHandler(capture)
        logger.propagate = propagate
    messages: list[str] = []
    document = json.loads(output.getvalue()) if output.getvalue() else {"interchanges": []}
    for isa in document.get("interchanges", []):
        messages += _errors(isa, f"ISA {isa.get('isa_trn_set_id', '')}".strip())
        for gs in isa.get("groups", []):
            messages += _errors(gs, f"GS {gs.get('gs_control_num', '')}".strip())
            for st in gs.get("transactions", []):
                messages += _errors(st, f"ST {st.get('trn_set_control_num', '')}".strip())
                for seg in st.get("segments", []):
                    line, sid = seg.get("cur_line"), seg.get("seg_id", "")
                    messages += _errors(seg, f"segment {line} ({sid})")
                    for ele in seg.get("elements", []):
                        name = f"{sid}{int(ele.get('ele_pos') or 0):02d}"
                        if ele.get("subele_pos"):
                            name += f"-{ele['subele_pos']}"
                        messages += _errors(ele, f"segment {line} ({name})")
    if not ok and not messages:
        messages = [m.replace(f'"{source}"', "the file") for m in capture.messages] or [
            "pyx12 found the file invalid"
        ]
    return messages
