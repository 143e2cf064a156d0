"""Patient handouts after a vaccine or an injection (pure: no database).

The PDF's text is read back with a small reader for what reportlab writes (Flate and ASCII85
streams, embedded TrueType subsets with their ToUnicode maps), so the accents are checked in the
PDF itself, not only in `handout_text`.
"""

import base64
import json
import re
import string
import zlib
from dataclasses import replace
from datetime import date

import pytest

from carebench.meds.handouts import (
    DATA_DIR,
    VACCINE_GROUPS,
    HandoutInput,
    aftercare_key,
    available_languages,
    handout_text,
    load_texts,
    render_handout,
    resolve_language,
    route_words,
    site_words,
)

INSTRUCTIONS = "Second dose in 6 to 12 months.\nBring your vaccine card — tráigala."


def handout(**changes) -> HandoutInput:
    data = HandoutInput(
        language="en",
        clinic_name="Riverside Family Clinic",
        clinic_address="100 Main Street\nSpringfield, IL 62701",
        clinic_phone="(217) 555-0100",
        patient_name="Ana García López",
        birth_date=date(2012, 5, 4),
        given_on=date(2025, 10, 1),
        product_name="Gardasil 9",
        product_kind="vaccine",
        vaccine_group="HPV",
        dose_text="0.5 mL",
        route_text="C28161",
        site_text="LD",
        lot_number="U123456",
        vis_edition_date=date(2021, 8, 6),
        provider_instructions=INSTRUCTIONS,
        next_due_text="Your next dose of HPV vaccine is due on or after 2026-04-01.",
        observation_minutes=15,
    )
    return replace(data, **changes)


# --- reading the PDF back ----------------------------------------------------------------------


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes]]:
    """Object number -> (dictionary, decoded stream)."""
    objects = {}
    for match in re.finditer(rb"(\d+) 0 obj\s*(.*?)endobj", pdf, re.S):
        head, _, rest = match.group(2).partition(b"stream")
        data = b""
        if rest:
            data = rest.lstrip(b"\r\n").rsplit(b"endstream", 1)[0]
            if b"/ASCII85Decode" in head:
                data = base64.a85decode(data.strip(), adobe=True)
            if b"/FlateDecode" in head:
                data = zlib.decompress(data)
        objects[int(match.group(1))] = (head, data)
    return objects


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] != 0x5C:  # backslash
            out.append(raw[i])
            i += 1
            continue
        octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(0), 8) & 0xFF)
            i += 1 + len(octal.group(0))
            continue
        nxt = raw[i + 1 : i + 2]
        out += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(nxt, nxt)
        i += 2
    return bytes(out)


def pdf_pages(pdf: bytes) -> list[list[str]]:
    """The strings drawn on each page, in order (one per drawString)."""
    objects = _objects(pdf)
    cmaps = {}
    for head, _ in objects.values():
        name = re.search(rb"/Name /(\S+)", head)
        to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", head)
        if name and to_unicode:
            cmap = objects[int(to_unicode.group(1))][1]
            pairs = re.findall(rb"<([0-9A-F]{2})> <([0-9A-F]{4})>", cmap)
            cmaps[name.group(1)] = {int(a, 16): chr(int(b, 16)) for a, b in pairs}
    kids = next(
        re.search(rb"/Kids \[([^\]]*)\]", head).group(1)
        for head, _ in objects.values()
        if re.search(rb"/Type /Pages\b", head)
    )
    pages = []
    for number in re.findall(rb"(\d+) 0 R", kids):
        head = objects[int(number)][0]
        content = objects[int(re.search(rb"/Contents (\d+) 0 R", head).group(1))][1]
        strings, font = [], b""
        for match in re.finditer(rb"/(\S+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            if match.group(1):
                font = match.group(1)
                continue
            raw = _unescape(match.group(2))
            cmap = cmaps.get(font)
            strings.append("".join(cmap[b] for b in raw) if cmap else raw.decode("cp1252"))
        pages.append(strings)
    return pages


def pdf_lines(pdf: bytes) -> list[str]:
    return [line for page in pdf_pages(pdf) for line in page]


# --- the PDF -------------------------------------------------------------------------------------


def test_render_returns_a_pdf():
    assert render_handout(handout()).startswith(b"%PDF-")


def test_pages_are_letter_size():
    assert b"/MediaBox [ 0 0 612 792 ]" in render_handout(handout())


def test_a_typical_handout_fits_on_one_page():
    assert len(pdf_pages(render_handout(handout()))) == 1


def test_very_long_instructions_flow_to_a_second_page():
    steps = "\n".join(f"Step {n}: take one tablet with food and water." for n in range(1, 61))
    pages = pdf_pages(render_handout(handout(provider_instructions=steps)))
    assert len(pages) == 2
    assert "Step 1: take one tablet with food and water." in pages[0]
    assert "Step 60: take one tablet with food and water." in pages[1]


def test_pages_after_the_first_repeat_name_and_date_of_birth():
    steps = "\n".join(f"Step {n}." for n in range(1, 60))
    pages = pdf_pages(render_handout(handout(provider_instructions=steps)))
    assert pages[1][0] == "Ana García López, born May 4, 2012 (continued)"


def test_every_page_says_whom_to_call_and_its_number():
    steps = "\n".join(f"Step {n}." for n in range(1, 60))
    pages = pdf_pages(render_handout(handout(provider_instructions=steps)))
    assert [page[-2:] for page in pages] == [
        ["Questions? Call (217) 555-0100.", "Page 1 of 2"],
        ["Questions? Call (217) 555-0100.", "Page 2 of 2"],
    ]


def test_a_long_line_wraps_without_losing_words():
    long_line = " ".join(["Keep the bandage on and the arm dry until tomorrow morning."] * 6)
    lines = pdf_lines(render_handout(handout(provider_instructions=long_line)))
    wrapped = lines[
        lines.index("Instructions from your provider") + 1 : lines.index("What you may notice")
    ]
    assert len(wrapped) > 1
    assert " ".join(wrapped) == long_line


def test_a_word_longer_than_the_line_is_broken():
    url = "https://example.org/" + "a" * 300
    lines = pdf_lines(render_handout(handout(provider_instructions=url)))
    start = lines.index("Instructions from your provider") + 1
    end = lines.index("What you may notice")
    assert end - start > 1
    assert "".join(lines[start:end]) == url


def test_spanish_pdf_has_spanish_text_with_accents():
    lines = pdf_lines(render_handout(handout(language="es")))
    assert "Cuidados después de su vacuna" in lines
    assert "Fecha de nacimiento: 4 de mayo de 2012" in lines
    assert "¿Preguntas? Llame al (217) 555-0100." in lines


def test_spanish_pdf_keeps_the_provider_instructions_verbatim():
    lines = pdf_lines(render_handout(handout(language="es")))
    assert "Second dose in 6 to 12 months." in lines
    assert "Bring your vaccine card — tráigala." in lines


def test_pdf_is_read_by_pypdf():
    pypdf = pytest.importorskip("pypdf")
    import io

    reader = pypdf.PdfReader(io.BytesIO(render_handout(handout(language="es"))))
    assert "después" in reader.pages[0].extract_text()


# --- the text --------------------------------------------------------------------------------------


def test_header_has_clinic_patient_and_date_given():
    lines = handout_text(handout())
    assert lines[:6] == [
        "Riverside Family Clinic",
        "100 Main Street, Springfield, IL 62701 · (217) 555-0100",
        "Care after your vaccine",
        "Patient: Ana García López",
        "Date of birth: May 4, 2012",
        "Date given: October 1, 2025",
    ]


def test_what_was_given_is_listed_with_route_and_site_in_words():
    lines = handout_text(handout())
    start = lines.index("What you got today") + 1
    assert lines[start : start + 6] == [
        "Vaccine: Gardasil 9",
        "Dose: 0.5 mL",
        "How it was given: into the muscle (intramuscular)",
        "Where on your body: left upper arm (shoulder muscle)",
        "Lot number: U123456",
        "Vaccine Information Statement (VIS) edition date: August 6, 2021",
    ]


def test_an_injection_has_no_vis_line_and_says_medicine():
    lines = handout_text(handout(product_kind="injection", product_name="Ceftriaxone 500 mg"))
    assert "Medicine: Ceftriaxone 500 mg" in lines
    assert not [line for line in lines if "VIS" in line]


def test_instructions_keep_line_breaks_blank_lines_and_indentation():
    text = "Tonight:\n  - rest\n\nTomorrow:\n  - walk"
    lines = handout_text(handout(provider_instructions=text))
    start = lines.index("Instructions from your provider") + 1
    assert "\n".join(lines[start : start + 5]) == text


def test_no_instructions_no_instructions_heading():
    assert "Instructions from your provider" not in handout_text(handout(provider_instructions=""))


def test_observation_time_is_printed():
    lines = handout_text(handout(observation_minutes=30))
    assert "Please wait in the clinic for 30 minutes after your shot." in lines


def test_no_observation_time_no_waiting_line():
    assert "Before you leave" not in handout_text(handout(observation_minutes=0))


def test_next_dose_is_printed_when_given():
    lines = handout_text(handout())
    start = lines.index("Your next dose") + 1
    assert lines[start] == "Your next dose of HPV vaccine is due on or after 2026-04-01."


def test_no_next_dose_no_next_dose_heading():
    assert "Your next dose" not in handout_text(handout(next_due_text=""))


def test_every_handout_says_when_to_call_911():
    lines = handout_text(handout(product_kind="injection"))
    for sign in ("Hives (itchy bumps on the skin)", "Trouble breathing or wheezing"):
        assert sign in lines


def test_handout_ends_with_general_note_and_questions_line():
    assert handout_text(handout())[-2:] == [
        load_texts("en")["labels"]["general_note"],
        "Questions? Call (217) 555-0100.",
    ]


def test_product_kind_must_be_vaccine_or_injection():
    with pytest.raises(ValueError, match="product_kind"):
        handout(product_kind="pill")


# --- aftercare ---------------------------------------------------------------------------------------

ABOUT = {key: value["about"] for key, value in load_texts("en")["aftercare"].items()}


@pytest.mark.parametrize("group", VACCINE_GROUPS)
def test_each_vaccine_group_has_its_own_aftercare_text(group):
    lines = handout_text(handout(vaccine_group=group))
    assert [key for key, about in ABOUT.items() if about in lines] == [group]


def test_aftercare_texts_all_differ():
    assert len(set(ABOUT.values())) == len(ABOUT)


@pytest.mark.parametrize(
    ("group", "key"),
    [
        ("COVID-19", "COVID"),
        ("HepB", "HEPB"),
        ("HepA", "HEPA"),
        ("VZV", "VARICELLA"),
        ("DTAP", "TDAP"),
        ("TD", "TDAP"),
        ("influenza", "FLU"),
        ("RSV", "VACCINE"),
        (None, "VACCINE"),
    ],
)
def test_carebench_group_names_find_their_aftercare(group, key):
    assert aftercare_key("vaccine", group) == key


def test_an_injection_gets_the_injection_aftercare_whatever_the_group():
    assert aftercare_key("injection", "FLU") == "INJECTION"


def test_an_injection_handout_does_not_suggest_ibuprofen():
    lines = handout_text(handout(product_kind="injection", product_name="Ketorolac 30 mg"))
    assert ABOUT["INJECTION"] in lines
    assert not [line for line in lines if "ibuprofen" in line]


def test_english_has_aftercare_for_every_group_and_both_generics():
    assert set(ABOUT) == {*VACCINE_GROUPS, "VACCINE", "INJECTION"}


# --- languages -----------------------------------------------------------------------------------


def test_available_languages():
    assert available_languages() == ["en", "es"]


@pytest.mark.parametrize("preferred", ["es", "ES", "spa", "Spanish", "español", "es-MX", "es_MX"])
def test_spanish_in_any_spelling_resolves_to_spanish(preferred):
    assert resolve_language(preferred) == ("es", False)


def test_english_resolves_without_falling_back():
    assert resolve_language("en-US") == ("en", False)


def test_no_preference_is_english_without_falling_back():
    assert resolve_language("") == ("en", False)


def test_unknown_language_falls_back_to_english_and_says_so():
    assert resolve_language("fr") == ("en", True)


def test_unknown_language_handout_is_printed_in_english():
    assert "Care after your vaccine" in handout_text(handout(language="fr"))


def _paths(node, prefix=""):
    if isinstance(node, dict):
        return {p for key, value in node.items() for p in _paths(value, f"{prefix}/{key}")}
    if isinstance(node, list):
        return {p for i, value in enumerate(node) for p in _paths(value, f"{prefix}/{i}")}
    return {prefix}


def _language_file(code):
    return json.loads((DATA_DIR / f"{code}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("code", available_languages())
def test_every_language_file_has_the_same_keys_as_english(code):
    english, other = _language_file("en"), _language_file(code)
    del english["meta"], other["meta"]
    assert _paths(other) == _paths(english)


def _placeholders(node, prefix=""):
    if isinstance(node, dict):
        return {p for k, v in node.items() for p in _placeholders(v, f"{prefix}/{k}")}
    if isinstance(node, list):
        return {p for i, v in enumerate(node) for p in _placeholders(v, f"{prefix}/{i}")}
    fields = {name for _, name, _, _ in string.Formatter().parse(str(node)) if name}
    return {f"{prefix}:{name}" for name in fields}


@pytest.mark.parametrize("code", available_languages())
def test_every_language_file_has_the_same_placeholders_as_english(code):
    assert _placeholders(_language_file(code)) == _placeholders(_language_file("en"))


@pytest.mark.parametrize("code", available_languages())
def test_every_language_file_names_itself(code):
    meta = _language_file(code)["meta"]
    assert meta["code"] == code
    assert code in meta["aliases"]


# --- route and site words ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "english", "spanish"),
    [
        ("C28161", "into the muscle (intramuscular)", "en el músculo (intramuscular)"),
        ("C38299", "under the skin (subcutaneous)", "debajo de la piel (subcutánea)"),
        ("C38238", "into the skin (intradermal)", "en la piel (intradérmica)"),
        ("C38284", "in the nose (intranasal)", "en la nariz (intranasal)"),
        ("C38288", "by mouth (oral)", "por la boca (oral)"),
        ("IM", "into the muscle (intramuscular)", "en el músculo (intramuscular)"),
    ],
)
def test_route_words(code, english, spanish):
    assert (route_words(code, "en"), route_words(code, "es")) == (english, spanish)


@pytest.mark.parametrize(
    ("code", "english", "spanish"),
    [
        ("LA", "left arm", "brazo izquierdo"),
        (
            "RD",
            "right upper arm (shoulder muscle)",
            "parte de arriba del brazo derecho (músculo del hombro)",
        ),
        ("LVL", "outer side of the left thigh", "parte de afuera del muslo izquierdo"),
        ("RG", "right buttock (upper outer part)", "nalga derecha (parte de arriba y de afuera)"),
        ("llfa", "left forearm, near the wrist", "antebrazo izquierdo, cerca de la muñeca"),
    ],
)
def test_site_words(code, english, spanish):
    assert (site_words(code, "en"), site_words(code, "es")) == (english, spanish)


def test_words_that_are_not_codes_are_kept():
    assert (site_words("left upper arm", "es"), route_words("IM push", "es")) == (
        "left upper arm",
        "IM push",
    )
