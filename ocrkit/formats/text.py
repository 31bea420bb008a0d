"""Plain text: one line per written line, single spaces between words; several pages each
under a `==> path <==` header (as `head` and `tail` mark files)."""
from __future__ import annotations


def write(pages, images=None) -> str:
    parts = []
    for page in pages:
        if len(pages) > 1:
            parts.append(f"==> {page.path} <==\n")
        if page.text:
            parts.append(page.text + "\n")
    return "".join(parts)
