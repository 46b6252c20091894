from __future__ import annotations

from pathlib import Path

import pytest

from convoai_llm.rag.reader import Reader, UnsupportedFileError


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF with Helvetica text lines, written by hand (pypdf only reads)."""
    text_ops = "".join(f"BT /F1 12 Tf 72 {720 - 20 * i} Td ({line}) Tj ET\n" for i, line in enumerate(lines))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text_ops)} >>\nstream\n{text_ops}endstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf_text(tmp_path: Path) -> None:
    path = tmp_path / "manual.pdf"
    path.write_bytes(minimal_pdf(["Lamp manual", "Hold the button for five seconds to reset."]))
    document = Reader().read(path)
    assert "Hold the button for five seconds to reset." in document.text
    assert document.title == "Lamp manual"


def test_damaged_pdf_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not a pdf")
    with pytest.raises(UnsupportedFileError, match="PDF"):
        Reader().read(path)


def test_html_headings_title_and_no_scripts(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Help</title><script>var x = 1;</script></head>"
        "<body><h1>Help</h1><h2>Reset</h2><p>Hold&nbsp;the button.</p><ul><li>One</li><li>Two</li></ul></body></html>",
        encoding="utf-8",
    )
    document = Reader().read(path)
    assert document.title == "Help"
    assert "## Reset" in document.text and "Hold the button." in document.text  # &nbsp; is whitespace
    assert "var x" not in document.text
    assert "One\n\nTwo" in document.text


def test_txt_title_line_becomes_heading(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Notes\n\nFirst paragraph.\n\nSection two\n\nMore text.\n", encoding="utf-8")
    document = Reader().read(path)
    assert document.title == "Notes"
    assert document.text.startswith("# Notes") and "## Section two" in document.text


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(UnsupportedFileError, match="unsupported"):
        Reader().read(path)
