"""Self-contained HTML pieces: images as data URIs, and Markdown (the tables and reports the lab
writes) as an HTML fragment with every image inline — Python-Markdown does the Markdown."""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

MIMES = {".gif": "image/gif", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def image_html(path, alt: str = "") -> str:
    path = Path(path)
    mime = MIMES[path.suffix.lower()]
    return (f'<img alt="{html.escape(alt)}" style="max-width:100%" '
            f'src="{data_uri(path.read_bytes(), mime)}">')


def png_bytes(image) -> bytes:
    """An RGB uint8 array as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="png")
    return buf.getvalue()


def markdown_html(md: str, folder) -> str:
    """Markdown (headings, tables, lists, emphasis, code, images relative to ``folder``) as an
    HTML fragment; each image that is a file in ``folder`` is inlined as a data URI, so the
    fragment stands alone."""
    import markdown

    body = markdown.markdown(md, extensions=["tables"], output_format="html")

    def inline(m):
        alt, src = html.unescape(m["alt"]), html.unescape(m["src"])
        path = Path(folder) / src
        if "://" in src or src.startswith("data:") or path.suffix.lower() not in MIMES \
                or not path.is_file():
            return m[0]
        return image_html(path, alt)

    return re.sub(r'<img alt="(?P<alt>[^"]*)" src="(?P<src>[^"]*)"\s*/?>', inline, body)


def table_html(rows: list[dict], keys=None) -> str:
    """Rows of dicts as an HTML table (floats to 4 significant digits)."""
    keys = list(keys or dict.fromkeys(k for r in rows for k in r))

    def cell(v):
        return "" if v is None else f"{v:.4g}" if isinstance(v, float) else html.escape(str(v))

    return ("<table><tr>" + "".join(f"<th>{html.escape(k)}</th>" for k in keys) + "</tr>" +
            "".join("<tr>" + "".join(f"<td>{cell(r.get(k))}</td>" for k in keys) + "</tr>"
                    for r in rows) + "</table>")


def iframe(height: int, src: str | None = None, srcdoc: str | None = None) -> str:
    what = f'src="{html.escape(src)}"' if src else f'srcdoc="{html.escape(srcdoc)}"'
    return f'<iframe {what} style="width:100%;height:{height}px;border:0"></iframe>'
