"""The content sniffer: what a file is, from its bytes (pure)."""

from carebench.patients import filetypes

PDF = b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
TIFF = b"II*\x00\x08\x00\x00\x00" + b"\x00" * 8
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56


def test_each_accepted_type_is_recognized_by_its_bytes():
    assert [filetypes.sniff(d) for d in (PDF, PNG, JPEG, TIFF, b"MM\x00*" + b"\x00" * 8)] == [
        filetypes.PDF,
        filetypes.PNG,
        filetypes.JPEG,
        filetypes.TIFF,
        filetypes.TIFF,
    ]


def test_a_program_or_other_file_is_not_accepted_and_is_described():
    assert filetypes.sniff(EXE) is None
    assert filetypes.describe(EXE) == "a Windows program"
    assert filetypes.sniff(b"GIF89a....") is None
    assert filetypes.sniff(b"%PDF") is None  # a bare header is not a document
    assert filetypes.sniff(b"") is None


def test_safe_filename_takes_the_real_extension_and_drops_unsafe_characters():
    assert filetypes.safe_filename('scan"; x=.pdf', filetypes.PNG) == "scan_ x.png"
    assert filetypes.safe_filename("../../etc/Résumé.pdf", filetypes.PDF) == "Resume.pdf"
    assert filetypes.safe_filename("", filetypes.JPEG) == "document.jpg"
