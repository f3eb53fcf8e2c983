"""What the status bar, the folder list and the results area say: derived from the current
state every time.

Pure functions of (worker status, catalog counts, model state, the request shown), so no label
can keep saying what was true a minute ago; the widgets only show their result.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from photoclip.core.indexing.worker import WorkerStatus
from photoclip.core.search import query as grammar
from photoclip.gui.file_urls import shown
from photoclip.gui.format import duration, plural

if TYPE_CHECKING:
    from photoclip.gui.search_controller import SearchRequest


def status_line(s: WorkerStatus | None, counts: dict, model: str,
                build: tuple[int, int] | None = None) -> str:
    """The status bar's sentence. ``model``: "loading", "ready" or "none"."""
    if s is not None and s.state == "working" and s.total:
        left = (f"about {duration(s.eta)} left" if s.eta is not None
                else "estimating the time left")
        text = (f"Indexing {s.done:,} of {plural(s.total, 'photo')} · {s.rate:.1f} per second "
                f"· {left}")
    elif s is not None and s.state == "paused":
        remaining = max(s.total - s.done, 0) if s.total else counts.get("pending", 0)
        text = f"Paused — {plural(remaining, 'photo')} left to index" if remaining else "Paused"
    else:
        text = _idle_line(counts, model)
    if s is not None and s.message:
        text += f" · {s.message}"
    if build is not None:  # a lost or damaged index being rebuilt (minutes, once)
        done, total = build
        text += (f" · building the search index: {done / max(total, 1):.0%} (searches are "
                 "exact and slower meanwhile)")
    return text


def _idle_line(counts: dict, model: str) -> str:
    photos, indexed, pending = counts["photos"], counts["indexed"], counts["pending"]
    prefix = "Loading the model… · " if model == "loading" else ""
    if photos == 0:
        return prefix + "No photos yet"
    if pending and model == "none":
        return (f"{prefix}{plural(photos, 'photo')} catalogued · {pending:,} to index once "
                "a model is there")
    if pending:
        return f"{prefix}{indexed:,} of {plural(photos, 'photo')} indexed · {pending:,} waiting"
    return f"{prefix}{plural(indexed, 'photo')} indexed · up to date"


def folder_line(f, s: WorkerStatus | None) -> str:
    """A folder's two lines in the sidebar: its name, and what PhotoCLIP knows of it now."""
    name = shown(Path(f.path).name or f.path)
    if not f.online:
        return f"{name}\n{plural(f.photos, 'photo')} · offline (not reachable now)"
    if s is not None and s.root == f.path and s.state in ("working", "paused"):
        # files still to read are not catalogued yet: count them in
        expected = max(f.photos, f.indexed + s.job_total - s.job_done)
        if s.state == "paused":  # (it said "indexing" while nothing was)
            return f"{name}\npaused — {f.indexed:,} of {expected:,} indexed"
        return f"{name}\nindexing — {f.indexed:,} of {expected:,}"
    if f.last_scan is None and f.photos == 0:
        return f"{name}\nlooking for photos…"
    if f.photos == 0:
        return f"{name}\nno photos found"
    waiting = f.photos - f.indexed - f.failed
    line = f"{name}\n{f.indexed:,} of {plural(f.photos, 'photo')} indexed"
    if waiting > 0:
        line += f" · {waiting:,} to index"
    return line


def caption(request: SearchRequest, count: int, period: str = "", *,
            level: str = "Good matches", first: int | None = None) -> str:
    """Above the grid: what is shown, and how many ("" when nothing is). ``level``: the
    relevance slider's label for ranked results ("" for lists that are not ranked: tags,
    categories); ``first``: the results stopped at that many, more are there."""
    query, filters, similar = request.query, request.filters, request.similar
    if similar or query:
        what = _ranked(f"“{query}”" if query and not similar else "", level)
    elif filters.folder:
        what = shown(Path(filters.folder).name or filters.folder)
    else:
        what = "All photos"
    if not count:
        return ""
    return f"{what}{period} — " + (f"the first {first:,}" if first else plural(count, "photo"))


def _ranked(what: str, level: str) -> str:
    """"Best matches for “dog”" as the relevance slider is: it said "Best matches" after
    "show weaker matches" and at every result. ``what`` "": a photo searched by."""
    if level == "Weaker too":
        return f"Matches for {what}, weaker ones too" if what else "Photos like it, weaker too"
    if level == "All results":
        return f"All photos by likeness to {what}" if what else "All photos by likeness to it"
    if level == "Closest only":
        return f"Closest matches for {what}" if what else "The photos most like it"
    return f"Best matches for {what}" if what else "Photos like it"


def empty_reason(request: SearchRequest, *, hidden: int, error: str | None, folders,
                 counts: dict, worker: WorkerStatus | None, model: str, good: int = 0,
                 level: str = "") -> str:
    """Why the grid is empty, in the words a user needs: no folders, not indexed yet, still
    indexing, offline, no good matches (``good``: good matches hidden by the relevance
    slider, set by hand to ``level``), or no matches."""
    query, filters, similar = request.query, request.filters, request.similar
    if error:
        return error
    if not folders:
        return ("No photo folders yet.\nAdd one with “+ Add folder…”, or drag a folder onto "
                "this window.")
    what = f"“{query}”" if query else "this photo"
    if hidden and good:  # the slider asks for closer matches than good ones
        return (f"No matches for {what} as close as the Relevance slider asks (“{level}”); "
                f"{plural(good, 'good match is', 'good matches are')} below it.")
    if hidden:  # results, all below the relevance cut
        return f"No good matches for {what}."
    busy = worker if worker is not None and worker.state == "working" and worker.total else None
    progress = f"indexing — {busy.done:,} of {busy.total:,}" if busy is not None else ""
    if query and model != "ready" and not grammar.parse(query).by_name:
        return ("Search turns on when a model is ready (see above). You can browse your "
                "photos meanwhile: clear the search box.")
    if (query or similar) and counts["indexed"] == 0 and counts["photos"]:
        if progress:
            return f"Not indexed yet: {progress}. Results appear as photos are indexed."
        return "Not indexed yet: search works once your photos have been read."
    if not any(f.online for f in folders):
        return ("Your photo folders are not reachable now (an unplugged drive or a network "
                "share?). Their photos come back when they are connected.")
    if not query and not similar and counts["photos"] == 0:
        return f"Reading your photos — {busy.done:,} of {busy.total:,}." if busy is not None else \
            "No photos found in your folders yet."
    where = " with these filters" if filters.folder or filters.after or filters.before else ""
    if query:
        return f"No photos match “{query}”{where}."
    return f"No photos{where}."
