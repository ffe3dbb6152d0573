"""The evidence files the demo's visitors upload before citing them in their closing reports: small,
valid one-page PDFs (an attendance certificate, a boarding pass, a hotel invoice) whose text names
the exchange, so that each exchange's files differ and the audit file carries real documents."""
from __future__ import annotations

import hashlib


def _escaped(text: str) -> str:
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def tiny_pdf(lines: list[str]) -> bytes:
    """A one-page A4 PDF 1.4 showing `lines` in Helvetica, with a correct cross-reference table."""
    text = "BT /F1 12 Tf 72 770 Td 16 TL " + " ".join(f"({_escaped(line)}) '" for line in lines) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode("ascii")),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


EVIDENCE = (("attendance_certificate", "attendance.pdf", "Attendance certificate"),
            ("boarding_pass", "boarding-pass.pdf", "Boarding pass"),
            ("invoice", "hotel-invoice.pdf", "Hotel invoice"))


def evidence_files(ref: str, visitor: str, host: str) -> list[tuple[str, str, bytes]]:
    """(kind, file name, content) of the three documents of exchange `ref`'s closing report."""
    return [(kind, filename, tiny_pdf([f"{title} - {ref}", f"Visitor: {visitor}", f"Host: {host}",
                                       "ClusterXchange demonstration document"]))
            for kind, filename, title in EVIDENCE]


def cited(files: list[tuple[str, str, bytes]]) -> list[dict[str, object]]:
    """The closing report's `documents` naming those files by their hash."""
    return [{"kind": kind, "filename": filename, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for kind, filename, data in files]
