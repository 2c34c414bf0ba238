"""XMP sidecars so photo managers (darktable, digiKam, Lightroom) show the culling verdict.

Only with an explicit flag, and never touching an original: a sidecar is ``NAME.EXT.xmp``
(the darktable / digiKam convention) either beside the photo or under ``OUT/xmp/`` (same
relative path, one folder per audited root). An existing sidecar is replaced only when it
is provably ours (it carries :data:`MARKER`); a photo manager's own sidecar is left alone
and counted.

Verdicts: delete candidates get ``xmp:Rating="-1"`` (rejected) and ``xmp:Label="Red"``; the
best frame of a group ``Green``; an over-sharpened or badly exposed keeper ``Yellow``; files
with nothing to say get no sidecar.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from iqa.auditor.exposure import OVER, UNDER
from iqa.auditor.labels import SHARP
from iqa.auditor.results import AuditResult
from iqa.reports.atomic import atomic_output
from iqa.reports.culling import full_path, reject_reason

NAMESPACE = "urn:x-iqa:culling:1"
MARKER = f'xmlns:iqa="{NAMESPACE}"'.encode()
_TEMPLATE = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" {marker}
    {rating}xmp:Label={label} iqa:verdict={verdict} iqa:reason={reason}/>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""


@dataclass(frozen=True)
class SidecarsWritten:
    """Outcome of :func:`write_sidecars`."""

    written: int
    kept: int  # sidecars that exist and are not ours (or unsafe paths): left untouched


def verdict(r: AuditResult) -> tuple[int | None, str, str] | None:
    """``(rating, label, reason)`` for the sidecar of ``r``, or None when there is nothing to say."""
    if not r.ok:
        return None
    if reason := reject_reason(r):
        return -1, "Red", reason
    if r.best_in_group == 1:
        return None, "Green", f"best of {r.group_kind or 'group'} {r.group}"
    notes = [n for n, bad in (("over-sharpened", r.label == SHARP), (f"{r.exposure}-exposed",
                                                                      r.exposure in (UNDER, OVER))) if bad]
    return (None, "Yellow", ", ".join(notes)) if notes else None


def sidecar_text(r: AuditResult) -> str | None:
    """The XMP packet for ``r`` (None when :func:`verdict` has nothing to say)."""
    found = verdict(r)
    if found is None:
        return None
    rating, label, reason = found
    return _TEMPLATE.format(marker=MARKER.decode(), rating="" if rating is None else f'xmp:Rating="{rating}" ',
                            label=quoteattr(label), verdict=quoteattr(r.label), reason=quoteattr(reason))


def sidecar_path(r: AuditResult, out_dir: Path | None, root_index: dict[str, int]) -> Path:
    """Beside the photo (``out_dir`` None) or under ``out_dir/xmp/<root number>/``."""
    if out_dir is None:
        return Path(full_path(r) + ".xmp")
    number = root_index.setdefault(r.root, len(root_index))
    return out_dir / "xmp" / str(number) / (r.path + ".xmp")


def _is_ours(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return MARKER in fh.read(1 << 16)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def write_sidecars(results: Iterable[AuditResult], out_dir: Path | None = None) -> SidecarsWritten:
    """Write one sidecar per file with a verdict; never modifies a photo or a foreign sidecar.

    Parameters
    ----------
    results : the audit's rows.
    out_dir : the audit's output folder (sidecars go to ``out_dir/xmp/``); None: beside the photos.
    """
    written = kept = 0
    roots: dict[str, int] = {}
    for r in results:
        text = sidecar_text(r)
        if text is None:
            continue
        parts = Path(r.path).parts
        if out_dir is not None and (Path(r.path).is_absolute() or ".." in parts):
            kept += 1  # a CSV row pointing outside the mirror: never follow it
            continue
        target = sidecar_path(r, out_dir, roots)
        if os.path.lexists(target) and (target.is_symlink() or not _is_ours(target)):
            kept += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(target, encoding="utf-8", errors="surrogateescape") as fh:
            fh.write(text)
        written += 1
    return SidecarsWritten(written, kept)
